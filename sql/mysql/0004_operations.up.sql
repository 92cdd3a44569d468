-- 0004 operations: infrastructure inventory with its stock movements, and
-- network devices (the tickets live in 0003).  The rules of 0003's header
-- hold here too: tenant_id FK ON DELETE CASCADE, every index leads with
-- tenant_id, required references are composite (tenant_id, x_id) keys ON
-- DELETE CASCADE, optional ones single-column ON DELETE SET NULL.

-- Items in stock.  quantity never goes below zero (the CHECK is the last
-- line of defence; POST /inventory/{id}/adjust refuses it first).  Rows
-- are soft-deleted (deleted_at) so that movements keep their item.
CREATE TABLE inventory (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	name VARCHAR(200) NOT NULL,
	type VARCHAR(16) NOT NULL,
	quantity INT NOT NULL,
	unit VARCHAR(20) NOT NULL DEFAULT 'pcs',
	min_quantity INT NOT NULL DEFAULT 0,
	location VARCHAR(200) NULL,
	notes TEXT NULL,
	deleted_at DATETIME NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	UNIQUE KEY uq_inventory_tenant_id (tenant_id, id),
	KEY ix_inventory_tenant_type (tenant_id, type, deleted_at),
	KEY ix_inventory_tenant_location (tenant_id, location, deleted_at),
	CONSTRAINT fk_inventory_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT ck_inventory_type CHECK (type IN ('cable', 'router',
		'switch', 'antenna', 'connector', 'tools')),
	CONSTRAINT ck_inventory_quantity CHECK (quantity >= 0),
	CONSTRAINT ck_inventory_min_quantity CHECK (min_quantity >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every change of an item's quantity (create, adjust, PATCH of quantity),
-- with the values before and after: the stock history of the item.
CREATE TABLE inventory_movements (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	inventory_id BIGINT UNSIGNED NOT NULL,
	delta INT NOT NULL,
	quantity_before INT NOT NULL,
	quantity_after INT NOT NULL,
	reason VARCHAR(500) NOT NULL,
	user_id BIGINT UNSIGNED NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	KEY ix_inventory_movements_item (tenant_id, inventory_id, id),
	CONSTRAINT fk_inventory_movements_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_inventory_movements_item
		FOREIGN KEY (tenant_id, inventory_id)
		REFERENCES inventory (tenant_id, id) ON DELETE CASCADE,
	CONSTRAINT fk_inventory_movements_user FOREIGN KEY (user_id)
		REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Network devices (OLTs, switches, access points, servers; the MikroTik
-- routers that provision customers are the routers table).  password and
-- snmp_community are sealed with AES-256-GCM (lib/crypto.h, associated
-- data "device:<tenant>:<id>:<field>") and never leave the server.
-- uplink_id names the device this one hangs off; a device that is some
-- other live device's uplink is "in use" and cannot be deleted.
CREATE TABLE devices (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	name VARCHAR(100) NOT NULL,
	type VARCHAR(16) NOT NULL,
	ip_address VARCHAR(45) NOT NULL,
	port INT NULL,
	location VARCHAR(200) NULL,
	username VARCHAR(100) NULL,
	password_enc VARBINARY(512) NULL,
	snmp_community_enc VARBINARY(512) NULL,
	uplink_id BIGINT UNSIGNED NULL,
	status VARCHAR(16) NOT NULL DEFAULT 'unknown',
	last_seen DATETIME NULL,
	last_checked_at DATETIME NULL,
	deleted_at DATETIME NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	UNIQUE KEY uq_devices_tenant_id (tenant_id, id),
	KEY ix_devices_tenant_status (tenant_id, status, deleted_at),
	KEY ix_devices_tenant_type (tenant_id, type, deleted_at),
	KEY ix_devices_tenant_uplink (tenant_id, uplink_id),
	CONSTRAINT fk_devices_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_devices_uplink FOREIGN KEY (uplink_id)
		REFERENCES devices (id) ON DELETE SET NULL,
	CONSTRAINT ck_devices_type CHECK (type IN ('router', 'olt', 'switch',
		'ap', 'server', 'other')),
	CONSTRAINT ck_devices_status
		CHECK (status IN ('online', 'offline', 'unknown')),
	CONSTRAINT ck_devices_port CHECK (port IS NULL OR port BETWEEN 1 AND 65535)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
