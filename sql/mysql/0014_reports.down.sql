-- Reverts 0014.
DROP TRIGGER IF EXISTS tr_customers_left;
ALTER TABLE customers DROP KEY ix_customers_tenant_left, DROP COLUMN left_at;
DROP TABLE reports;
DROP TABLE report_schedules;
