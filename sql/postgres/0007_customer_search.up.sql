-- 0007 customer search: the PostgreSQL twin indexes the same document
-- ('tnt' || tenant_id || ' ' || name) as an expression, so a search can
-- require the tenant token the way MariaDB's does.
DROP INDEX ft_customers_name;
CREATE INDEX ft_customers_search ON customers
	USING gin (to_tsvector('simple', 'tnt' || tenant_id::text || ' ' || name));
