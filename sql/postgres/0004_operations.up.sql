-- 0004 operations: the PostgreSQL twin of sql/mysql/0004_operations.up.sql
-- (inventory, inventory movements, network devices).

CREATE TABLE inventory (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name varchar(200) NOT NULL,
	type varchar(16) NOT NULL CHECK (type IN ('cable', 'router', 'switch',
		'antenna', 'connector', 'tools')),
	quantity integer NOT NULL CHECK (quantity >= 0),
	unit varchar(20) NOT NULL DEFAULT 'pcs',
	min_quantity integer NOT NULL DEFAULT 0 CHECK (min_quantity >= 0),
	location varchar(200) NULL,
	notes text NULL,
	deleted_at timestamptz NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT uq_inventory_tenant_id UNIQUE (tenant_id, id)
);
CREATE INDEX ix_inventory_tenant_type ON inventory (tenant_id, type, deleted_at);
CREATE INDEX ix_inventory_tenant_location
	ON inventory (tenant_id, location, deleted_at);
CREATE TRIGGER tr_inventory_updated_at BEFORE UPDATE ON inventory
	FOR EACH ROW EXECUTE FUNCTION rtrw_set_updated_at();

CREATE TABLE inventory_movements (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	inventory_id bigint NOT NULL,
	delta integer NOT NULL,
	quantity_before integer NOT NULL,
	quantity_after integer NOT NULL,
	reason varchar(500) NOT NULL,
	user_id bigint NULL REFERENCES users (id) ON DELETE SET NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT fk_inventory_movements_item FOREIGN KEY (tenant_id, inventory_id)
		REFERENCES inventory (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ix_inventory_movements_item
	ON inventory_movements (tenant_id, inventory_id, id);

CREATE TABLE devices (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name varchar(100) NOT NULL,
	type varchar(16) NOT NULL CHECK (type IN ('router', 'olt', 'switch',
		'ap', 'server', 'other')),
	ip_address varchar(45) NOT NULL,
	port integer NULL CHECK (port IS NULL OR port BETWEEN 1 AND 65535),
	location varchar(200) NULL,
	username varchar(100) NULL,
	password_enc bytea NULL,
	snmp_community_enc bytea NULL,
	uplink_id bigint NULL REFERENCES devices (id) ON DELETE SET NULL,
	status varchar(16) NOT NULL DEFAULT 'unknown'
		CHECK (status IN ('online', 'offline', 'unknown')),
	last_seen timestamptz NULL,
	last_checked_at timestamptz NULL,
	deleted_at timestamptz NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT uq_devices_tenant_id UNIQUE (tenant_id, id)
);
CREATE INDEX ix_devices_tenant_status ON devices (tenant_id, status, deleted_at);
CREATE INDEX ix_devices_tenant_type ON devices (tenant_id, type, deleted_at);
CREATE INDEX ix_devices_tenant_uplink ON devices (tenant_id, uplink_id);
CREATE TRIGGER tr_devices_updated_at BEFORE UPDATE ON devices
	FOR EACH ROW EXECUTE FUNCTION rtrw_set_updated_at();
