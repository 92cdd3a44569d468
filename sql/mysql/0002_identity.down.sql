-- Reverts 0002 identity.
DROP TRIGGER IF EXISTS tr_audit_logs_no_delete;
DROP TRIGGER IF EXISTS tr_audit_logs_no_update;
DROP TABLE IF EXISTS alerts;
DROP TABLE IF EXISTS audit_chain;
DROP TABLE IF EXISTS platform_admins;
