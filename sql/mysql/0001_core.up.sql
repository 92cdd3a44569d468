-- 0001 core: roles, tenants, users, refresh tokens, audit log.
--
-- Every table is InnoDB, utf8mb4 with utf8mb4_unicode_ci.  DATETIME
-- columns hold UTC: the application and rtrw-migrate set the session
-- time_zone to '+00:00', so CURRENT_TIMESTAMP defaults are UTC too.
-- Every secondary index of a tenant table leads with tenant_id; the two
-- exceptions are marked where they are declared.

CREATE TABLE roles (
	name VARCHAR(20) NOT NULL,
	`rank` SMALLINT UNSIGNED NOT NULL,
	description VARCHAR(255) NOT NULL DEFAULT '',
	PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE tenants (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	slug VARCHAR(40) NOT NULL,
	name VARCHAR(200) NOT NULL,
	timezone VARCHAR(64) NOT NULL DEFAULT 'Asia/Jakarta',
	status VARCHAR(16) NOT NULL DEFAULT 'active',
	settings JSON NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	UNIQUE KEY uq_tenants_slug (slug),
	CONSTRAINT ck_tenants_status CHECK (status IN ('active', 'suspended'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Users are deactivated, never hard-deleted, except when their tenant goes.
-- uq_users_tenant_id lets child tables reference (tenant_id, id), so a row
-- can never point at a user of another tenant.
CREATE TABLE users (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	name VARCHAR(100) NOT NULL,
	email VARCHAR(254) NOT NULL,
	password_hash VARCHAR(255) NOT NULL,
	role VARCHAR(20) NOT NULL,
	active BOOLEAN NOT NULL DEFAULT TRUE,
	last_login_at DATETIME NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	UNIQUE KEY uq_users_tenant_email (tenant_id, email),
	UNIQUE KEY uq_users_tenant_id (tenant_id, id),
	KEY ix_users_tenant_role (tenant_id, role),
	-- Exception: InnoDB needs an index leading with the column of a
	-- foreign key; this one backs fk_users_role only.
	KEY ix_users_role_fk (role),
	CONSTRAINT fk_users_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_users_role FOREIGN KEY (role)
		REFERENCES roles (name) ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Refresh tokens are stored as SHA-256 hashes.  A token family is one
-- login's chain of rotations; reuse of a rotated token revokes the family.
-- parent_id and replaced_by_id link the chain; they carry no foreign key
-- because the chain is pruned as a whole.
CREATE TABLE refresh_tokens (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	user_id BIGINT UNSIGNED NOT NULL,
	family_id BINARY(16) NOT NULL,
	token_hash BINARY(32) NOT NULL,
	parent_id BIGINT UNSIGNED NULL,
	expires_at DATETIME NOT NULL,
	revoked_at DATETIME NULL,
	replaced_by_id BIGINT UNSIGNED NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	created_ip VARCHAR(45) NULL,
	user_agent VARCHAR(255) NULL,
	PRIMARY KEY (id),
	-- Exception: a refresh request carries only the token, so the lookup
	-- by hash happens before the tenant is known.
	UNIQUE KEY uq_refresh_tokens_hash (token_hash),
	KEY ix_refresh_tokens_tenant_user (tenant_id, user_id),
	KEY ix_refresh_tokens_tenant_family (tenant_id, family_id),
	CONSTRAINT fk_refresh_tokens_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_refresh_tokens_user FOREIGN KEY (tenant_id, user_id)
		REFERENCES users (tenant_id, id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The audit log is a per-tenant hash chain: hash = SHA-256 over prev_hash
-- and the row's content.  user_id has no foreign key: users are never
-- hard-deleted, and a cascade or SET NULL would rewrite audit rows.
CREATE TABLE audit_logs (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	user_id BIGINT UNSIGNED NULL,
	action VARCHAR(32) NOT NULL,
	entity_type VARCHAR(64) NOT NULL,
	entity_id BIGINT UNSIGNED NULL,
	old_values JSON NULL,
	new_values JSON NULL,
	ip_address VARCHAR(45) NULL,
	user_agent VARCHAR(255) NULL,
	created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	prev_hash CHAR(64) NULL,
	hash CHAR(64) NOT NULL,
	PRIMARY KEY (id),
	KEY ix_audit_logs_tenant_created (tenant_id, created_at),
	KEY ix_audit_logs_tenant_entity (tenant_id, entity_type, entity_id),
	KEY ix_audit_logs_tenant_user (tenant_id, user_id),
	KEY ix_audit_logs_tenant_action (tenant_id, action),
	CONSTRAINT fk_audit_logs_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
