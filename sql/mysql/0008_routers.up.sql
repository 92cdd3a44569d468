-- 0008 routers: the MikroTik routers that provision customers (API.md
-- "Devices and routers", "Routers and provisioning: details").
--
-- A router's API password is sealed with the data key (AES-256-GCM, aad
-- "router:<tenant>:<id>:password") and never selected by a statement whose
-- rows reach a response.  tls_fingerprint pins the SHA-256 of the
-- router's api-ssl certificate (64 hex digits) once learnt.  Routers are
-- soft-deleted, and only while no live, non-terminated customer uses them.
CREATE TABLE routers (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	name VARCHAR(100) NOT NULL,
	host VARCHAR(255) NOT NULL,
	api_port INT UNSIGNED NOT NULL,
	use_tls TINYINT(1) NOT NULL DEFAULT 0,
	tls_anonymous TINYINT(1) NOT NULL DEFAULT 0,
	tls_fingerprint CHAR(64) NULL,
	username VARCHAR(100) NOT NULL,
	password_enc VARBINARY(512) NULL,
	status VARCHAR(16) NOT NULL DEFAULT 'unknown',
	routeros_version VARCHAR(64) NULL,
	identity VARCHAR(255) NULL,
	last_seen DATETIME NULL,
	last_error VARCHAR(500) NULL,
	-- The uplink this router's customers share, for the network
	-- overview; NULL: the sum of its active customers' plan speeds.
	uplink_capacity_kbps BIGINT UNSIGNED NULL,
	deleted_at DATETIME NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	UNIQUE KEY uq_routers_tenant_id (tenant_id, id),
	KEY ix_routers_tenant_live_name (tenant_id, deleted_at, name),
	CONSTRAINT fk_routers_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT ck_routers_status
		CHECK (status IN ('unknown', 'online', 'offline')),
	CONSTRAINT ck_routers_port CHECK (api_port BETWEEN 1 AND 65535)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- What the router has confirmed of a customer: synced, pending (a job is
-- queued or running), failed (the last job gave up; router_error says
-- why).  NULL for a customer without a router.
ALTER TABLE customers
	ADD COLUMN router_state VARCHAR(16) NULL AFTER router_id,
	ADD COLUMN router_error VARCHAR(500) NULL AFTER router_state,
	ADD CONSTRAINT ck_customers_router_state
		CHECK (router_state IS NULL OR router_state IN ('synced',
			'pending', 'failed')),
	ADD CONSTRAINT fk_customers_router FOREIGN KEY (router_id)
		REFERENCES routers (id) ON DELETE SET NULL;

ALTER TABLE provisioning_jobs
	ADD COLUMN max_attempts INT UNSIGNED NOT NULL DEFAULT 8 AFTER attempts,
	ADD COLUMN done_at DATETIME NULL,
	ADD CONSTRAINT fk_provisioning_jobs_router FOREIGN KEY (router_id)
		REFERENCES routers (id) ON DELETE SET NULL;
