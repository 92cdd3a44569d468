-- 0008 routers: see sql/mysql/0008_routers.up.sql.
CREATE TABLE routers (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name varchar(100) NOT NULL,
	host varchar(255) NOT NULL,
	api_port integer NOT NULL CHECK (api_port BETWEEN 1 AND 65535),
	use_tls boolean NOT NULL DEFAULT false,
	tls_anonymous boolean NOT NULL DEFAULT false,
	tls_fingerprint char(64) NULL,
	username varchar(100) NOT NULL,
	password_enc bytea NULL,
	status varchar(16) NOT NULL DEFAULT 'unknown'
		CHECK (status IN ('unknown', 'online', 'offline')),
	routeros_version varchar(64) NULL,
	identity varchar(255) NULL,
	last_seen timestamptz NULL,
	last_error varchar(500) NULL,
	uplink_capacity_kbps bigint NULL,
	deleted_at timestamptz NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT uq_routers_tenant_id UNIQUE (tenant_id, id)
);
CREATE INDEX ix_routers_tenant_live_name
	ON routers (tenant_id, deleted_at, name);
CREATE TRIGGER tr_routers_updated_at BEFORE UPDATE ON routers
	FOR EACH ROW EXECUTE FUNCTION rtrw_set_updated_at();

ALTER TABLE customers
	ADD COLUMN router_state varchar(16) NULL,
	ADD COLUMN router_error varchar(500) NULL,
	ADD CONSTRAINT ck_customers_router_state
		CHECK (router_state IS NULL OR router_state IN ('synced',
			'pending', 'failed')),
	ADD CONSTRAINT fk_customers_router FOREIGN KEY (router_id)
		REFERENCES routers (id) ON DELETE SET NULL;

ALTER TABLE provisioning_jobs
	ADD COLUMN max_attempts integer NOT NULL DEFAULT 8,
	ADD COLUMN done_at timestamptz NULL,
	ADD CONSTRAINT fk_provisioning_jobs_router FOREIGN KEY (router_id)
		REFERENCES routers (id) ON DELETE SET NULL;
