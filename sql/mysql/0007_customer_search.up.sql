-- 0007 customer search: the name's FULLTEXT index learns the tenant.
--
-- A FULLTEXT index cannot lead with tenant_id, so MATCH(name) found the
-- matching names of every tenant and only then filtered on tenant_id:
-- with 1,000,000 customers "agus*" read 36,000 rows (1.1 s).  The indexed
-- document now starts with a tenant token ("tnt42 Budi Santoso") and the
-- search requires it ("+tnt42 +budi*"), so the full-text engine
-- intersects the two posting lists itself (2 to 6 ms).  The query still
-- filters on tenant_id: the token only narrows, it does not decide.
ALTER TABLE customers
	ADD COLUMN search_doc VARCHAR(260)
		AS (CONCAT('tnt', tenant_id, ' ', name)) STORED,
	ADD FULLTEXT KEY ft_customers_search (search_doc),
	DROP INDEX ft_customers_name;
