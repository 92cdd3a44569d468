-- Reverts 0014.
DROP TRIGGER IF EXISTS tr_customers_left ON customers;
DROP FUNCTION IF EXISTS rtrw_customer_left();
DROP INDEX IF EXISTS ix_customers_tenant_left;
ALTER TABLE customers DROP COLUMN left_at;
DROP TABLE reports;
DROP TABLE report_schedules;
