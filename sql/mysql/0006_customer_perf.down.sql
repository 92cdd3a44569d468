-- Reverts 0006.
DROP TRIGGER IF EXISTS tr_payments_month_delete;
DROP TRIGGER IF EXISTS tr_payments_month_update;
DROP TRIGGER IF EXISTS tr_payments_month_insert;
DROP TABLE IF EXISTS payment_months;

ALTER TABLE customers
	DROP INDEX ix_customers_tenant_live_id,
	DROP INDEX ix_customers_tenant_live_name,
	DROP INDEX ix_customers_tenant_live_code,
	DROP INDEX ix_customers_tenant_live_created,
	DROP INDEX ix_customers_tenant_live_price;

DROP TRIGGER IF EXISTS tr_customers_count_delete;
DROP TRIGGER IF EXISTS tr_customers_count_update;
DROP TRIGGER IF EXISTS tr_customers_count_insert;
DROP TABLE IF EXISTS customer_counts;
