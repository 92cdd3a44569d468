-- Reverts 0016: back to the FULLTEXT index of 0007, no ticket counts.
DROP TRIGGER IF EXISTS tr_tickets_count_delete;
DROP TRIGGER IF EXISTS tr_tickets_count_update;
DROP TRIGGER IF EXISTS tr_tickets_count_insert;
DROP TABLE IF EXISTS ticket_counts;

ALTER TABLE customers
	ADD COLUMN search_doc VARCHAR(260)
		AS (CONCAT('tnt', tenant_id, ' ', name)) STORED,
	ADD FULLTEXT KEY ft_customers_search (search_doc);

ALTER TABLE customers
	ADD KEY ix_customers_tenant_phone (tenant_id, phone),
	DROP INDEX ix_customers_tenant_live_phone;

DROP TRIGGER IF EXISTS tr_customers_words_update;
DROP TRIGGER IF EXISTS tr_customers_words_insert;
DROP TABLE IF EXISTS customer_words;
