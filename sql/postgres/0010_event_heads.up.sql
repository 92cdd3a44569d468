-- 0010 event heads: see sql/mysql/0010_event_heads.up.sql.
CREATE TABLE event_heads (
	tenant_id bigint PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
	last_id bigint NOT NULL DEFAULT 0,
	pruned_id bigint NOT NULL DEFAULT 0
);

INSERT INTO event_heads (tenant_id, last_id)
	SELECT tenant_id, MAX(id) FROM events GROUP BY tenant_id;

CREATE INDEX ix_events_tenant_created ON events (tenant_id, created_at);
