-- Reverts the 0010 placeholder (nothing to revert).
SELECT 1;
