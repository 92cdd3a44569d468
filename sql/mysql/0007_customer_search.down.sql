-- Reverts 0007: back to the FULLTEXT index on the bare name.
ALTER TABLE customers
	ADD FULLTEXT KEY ft_customers_name (name),
	DROP INDEX ft_customers_search,
	DROP COLUMN search_doc;
