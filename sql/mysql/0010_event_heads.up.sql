-- 0010 event heads: what the WebSocket daemon (rtrw-events) needs to
-- deliver events in commit order and to know what retention removed.
--
-- event_heads holds one row per tenant that ever emitted an event:
-- last_id is the id of its newest committed event (the daemon compares
-- it with its cursor to find tenants with news in one query), pruned_id
-- the highest id the retention job deleted (a client resuming from an
-- older id gets resync_required).  Writers advance last_id in the
-- transaction of the change while they hold the tenant's audit chain head
-- (lib/events.c), so within a tenant ids are allocated and committed in
-- the same order.
CREATE TABLE event_heads (
	tenant_id BIGINT UNSIGNED NOT NULL,
	last_id BIGINT UNSIGNED NOT NULL DEFAULT 0,
	pruned_id BIGINT UNSIGNED NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id),
	CONSTRAINT fk_event_heads_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Tenants that already have events start at their newest one.
INSERT INTO event_heads (tenant_id, last_id)
	SELECT tenant_id, MAX(id) FROM events GROUP BY tenant_id;

-- The retention job finds a tenant's newest expired event by time.
CREATE INDEX ix_events_tenant_created ON events (tenant_id, created_at);
