-- 0001 core: roles, tenants, users, refresh tokens, audit log.
--
-- The PostgreSQL twin of sql/mysql/0001_core.up.sql: timestamptz for
-- times, jsonb for JSON, bytea for binary hashes, and a trigger where
-- MariaDB has ON UPDATE CURRENT_TIMESTAMP.  rtrw-migrate runs this file
-- in one transaction.  Every secondary index of a tenant table leads with
-- tenant_id, except the token hash (see refresh_tokens).

CREATE FUNCTION rtrw_set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at := now();
	RETURN NEW;
END;
$$;

CREATE TABLE roles (
	name varchar(20) PRIMARY KEY,
	rank smallint NOT NULL CHECK (rank >= 0),
	description varchar(255) NOT NULL DEFAULT ''
);

CREATE TABLE tenants (
	id bigserial PRIMARY KEY,
	slug varchar(40) NOT NULL,
	name varchar(200) NOT NULL,
	timezone varchar(64) NOT NULL DEFAULT 'Asia/Jakarta',
	status varchar(16) NOT NULL DEFAULT 'active',
	settings jsonb NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT uq_tenants_slug UNIQUE (slug),
	CONSTRAINT ck_tenants_status CHECK (status IN ('active', 'suspended'))
);
CREATE TRIGGER tr_tenants_updated_at BEFORE UPDATE ON tenants
	FOR EACH ROW EXECUTE FUNCTION rtrw_set_updated_at();

-- Users are deactivated, never hard-deleted, except when their tenant goes.
-- uq_users_tenant_id lets child tables reference (tenant_id, id), so a row
-- can never point at a user of another tenant.
CREATE TABLE users (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL,
	name varchar(100) NOT NULL,
	email varchar(254) NOT NULL,
	password_hash varchar(255) NOT NULL,
	role varchar(20) NOT NULL,
	active boolean NOT NULL DEFAULT true,
	last_login_at timestamptz NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT uq_users_tenant_email UNIQUE (tenant_id, email),
	CONSTRAINT uq_users_tenant_id UNIQUE (tenant_id, id),
	CONSTRAINT fk_users_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_users_role FOREIGN KEY (role)
		REFERENCES roles (name) ON UPDATE CASCADE
);
CREATE INDEX ix_users_tenant_role ON users (tenant_id, role);
CREATE TRIGGER tr_users_updated_at BEFORE UPDATE ON users
	FOR EACH ROW EXECUTE FUNCTION rtrw_set_updated_at();

-- Refresh tokens are stored as SHA-256 hashes.  A token family is one
-- login's chain of rotations; reuse of a rotated token revokes the family.
-- parent_id and replaced_by_id link the chain without a foreign key.
CREATE TABLE refresh_tokens (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL,
	user_id bigint NOT NULL,
	family_id bytea NOT NULL CHECK (octet_length(family_id) = 16),
	token_hash bytea NOT NULL CHECK (octet_length(token_hash) = 32),
	parent_id bigint NULL,
	expires_at timestamptz NOT NULL,
	revoked_at timestamptz NULL,
	replaced_by_id bigint NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	created_ip varchar(45) NULL,
	user_agent varchar(255) NULL,
	-- Exception: a refresh request carries only the token, so the lookup
	-- by hash happens before the tenant is known.
	CONSTRAINT uq_refresh_tokens_hash UNIQUE (token_hash),
	CONSTRAINT fk_refresh_tokens_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_refresh_tokens_user FOREIGN KEY (tenant_id, user_id)
		REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ix_refresh_tokens_tenant_user ON refresh_tokens (tenant_id, user_id);
CREATE INDEX ix_refresh_tokens_tenant_family ON refresh_tokens (tenant_id, family_id);

-- The audit log is a per-tenant hash chain: hash = SHA-256 over prev_hash
-- and the row's content.  user_id has no foreign key: users are never
-- hard-deleted, and a cascade or SET NULL would rewrite audit rows.
CREATE TABLE audit_logs (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL,
	user_id bigint NULL,
	action varchar(32) NOT NULL,
	entity_type varchar(64) NOT NULL,
	entity_id bigint NULL,
	old_values jsonb NULL,
	new_values jsonb NULL,
	ip_address varchar(45) NULL,
	user_agent varchar(255) NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	prev_hash char(64) NULL,
	hash char(64) NOT NULL,
	CONSTRAINT fk_audit_logs_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX ix_audit_logs_tenant_created ON audit_logs (tenant_id, created_at);
CREATE INDEX ix_audit_logs_tenant_entity ON audit_logs (tenant_id, entity_type, entity_id);
CREATE INDEX ix_audit_logs_tenant_user ON audit_logs (tenant_id, user_id);
CREATE INDEX ix_audit_logs_tenant_action ON audit_logs (tenant_id, action);
