-- 0002 identity: the PostgreSQL twin of sql/mysql/0002_identity.up.sql.

CREATE TABLE platform_admins (
	id bigserial PRIMARY KEY,
	email varchar(254) NOT NULL,
	name varchar(100) NOT NULL,
	password_hash varchar(255) NOT NULL,
	active boolean NOT NULL DEFAULT true,
	last_login_at timestamptz NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT uq_platform_admins_email UNIQUE (email)
);

CREATE TABLE audit_chain (
	tenant_id bigint PRIMARY KEY
		REFERENCES tenants (id) ON DELETE CASCADE,
	last_id bigint NULL,
	last_hash char(64) NULL
);

CREATE TABLE alerts (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	type varchar(32) NOT NULL,
	status varchar(16) NOT NULL DEFAULT 'open'
		CHECK (status IN ('open', 'acknowledged', 'resolved')),
	subject_type varchar(32) NOT NULL,
	subject_id varchar(100) NOT NULL,
	message varchar(500) NOT NULL,
	details jsonb NULL,
	occurrences integer NOT NULL DEFAULT 1,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	acknowledged_at timestamptz NULL,
	acknowledged_by bigint NULL,
	resolved_at timestamptz NULL
);
-- PostgreSQL has partial indexes: one open alert per (type, subject).
CREATE UNIQUE INDEX uq_alerts_tenant_open
	ON alerts (tenant_id, type, subject_type, subject_id)
	WHERE status <> 'resolved';
CREATE INDEX ix_alerts_tenant_status ON alerts (tenant_id, status, created_at);
CREATE INDEX ix_alerts_tenant_type ON alerts (tenant_id, type, created_at);
CREATE TRIGGER tr_alerts_updated_at BEFORE UPDATE ON alerts
	FOR EACH ROW EXECUTE FUNCTION rtrw_set_updated_at();

-- Audit rows cannot change.  Deletion is allowed for rows older than 365
-- days by rtrw_maint, and when the row's tenant is being deleted (here the
-- cascade fires triggers, unlike in MariaDB).
CREATE FUNCTION rtrw_audit_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' THEN
		RAISE EXCEPTION 'audit_logs rows cannot be changed';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM tenants WHERE id = OLD.tenant_id) THEN
		RETURN OLD;
	END IF;
	IF OLD.created_at > now() - interval '365 days'
	   OR current_user <> 'rtrw_maint' THEN
		RAISE EXCEPTION 'audit_logs rows younger than 365 days cannot be deleted, and only by rtrw_maint';
	END IF;
	RETURN OLD;
END;
$$;
CREATE TRIGGER tr_audit_logs_immutable BEFORE UPDATE OR DELETE ON audit_logs
	FOR EACH ROW EXECUTE FUNCTION rtrw_audit_immutable();
