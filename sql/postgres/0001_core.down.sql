-- Reverts 0001 core, children before parents.
DROP TABLE IF EXISTS audit_logs;
DROP TABLE IF EXISTS refresh_tokens;
DROP TABLE IF EXISTS users;
DROP TABLE IF EXISTS tenants;
DROP TABLE IF EXISTS roles;
DROP FUNCTION IF EXISTS rtrw_set_updated_at();
