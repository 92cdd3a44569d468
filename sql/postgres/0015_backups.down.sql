-- Reverts 0015.
DROP TABLE IF EXISTS platform_audit_logs;
DROP FUNCTION IF EXISTS rtrw_platform_audit_immutable();
DROP TABLE IF EXISTS platform_alerts;
DROP TABLE IF EXISTS backups;
