-- Reverts 0010.
DROP INDEX IF EXISTS ix_events_tenant_created;
DROP TABLE IF EXISTS event_heads;
