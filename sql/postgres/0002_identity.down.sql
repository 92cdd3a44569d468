-- Reverts 0002 identity.
DROP TRIGGER IF EXISTS tr_audit_logs_immutable ON audit_logs;
DROP FUNCTION IF EXISTS rtrw_audit_immutable();
DROP TABLE IF EXISTS alerts;
DROP TABLE IF EXISTS audit_chain;
DROP TABLE IF EXISTS platform_admins;
