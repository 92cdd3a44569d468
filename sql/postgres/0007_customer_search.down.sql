-- Reverts 0007.
DROP INDEX ft_customers_search;
CREATE INDEX ft_customers_name ON customers
	USING gin (to_tsvector('simple', name));
