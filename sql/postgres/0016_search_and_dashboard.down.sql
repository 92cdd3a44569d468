-- Reverts 0016.
DROP TRIGGER IF EXISTS tr_tickets_counts ON tickets;
DROP FUNCTION IF EXISTS rtrw_ticket_counts();
DROP TABLE IF EXISTS ticket_counts;
CREATE INDEX ft_customers_search ON customers
	USING gin (to_tsvector('simple', 'tnt' || tenant_id::text || ' ' || name));
DROP INDEX IF EXISTS ix_customers_tenant_live_phone;
CREATE INDEX ix_customers_tenant_phone ON customers (tenant_id, phone);
DROP TRIGGER IF EXISTS tr_customers_words ON customers;
DROP FUNCTION IF EXISTS rtrw_customer_words();
DROP TABLE IF EXISTS customer_words;
DROP FUNCTION IF EXISTS rtrw_search_words(text);
DROP FUNCTION IF EXISTS rtrw_search_fold(text);
