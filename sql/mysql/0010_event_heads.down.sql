-- Reverts 0010.
DROP INDEX ix_events_tenant_created ON events;
DROP TABLE IF EXISTS event_heads;
