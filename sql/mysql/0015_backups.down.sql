-- Reverts 0015.
DROP TABLE IF EXISTS platform_audit_logs;
DROP TABLE IF EXISTS platform_alerts;
DROP TABLE IF EXISTS backups;
