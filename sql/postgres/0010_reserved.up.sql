-- 0010 is reserved for the MikroTik branch's migration (issue 15), which
-- is not merged yet: this placeholder only keeps the numbers contiguous
-- so that 0011 applies on this branch.  Drop it when 0010 lands.
SELECT 1;
