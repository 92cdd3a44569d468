-- Reverts 0006.
DROP TRIGGER IF EXISTS tr_payments_months ON payments;
DROP FUNCTION IF EXISTS rtrw_payment_months();
DROP TABLE IF EXISTS payment_months;
DROP INDEX IF EXISTS ix_customers_tenant_live_price;
DROP INDEX IF EXISTS ix_customers_tenant_live_created;
DROP INDEX IF EXISTS ix_customers_tenant_live_code;
DROP INDEX IF EXISTS ix_customers_tenant_live_name;
DROP INDEX IF EXISTS ix_customers_tenant_live_id;
DROP TRIGGER IF EXISTS tr_customers_counts ON customers;
DROP FUNCTION IF EXISTS rtrw_customer_counts();
DROP TABLE IF EXISTS customer_counts;
