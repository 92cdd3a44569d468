-- 0015 backups (issue 11); see the MariaDB file for the why.
CREATE TABLE backups (
	id bigserial PRIMARY KEY,
	status varchar(16) NOT NULL DEFAULT 'queued'
		CONSTRAINT ck_backups_status CHECK (status IN ('queued', 'running',
			'completed', 'failed', 'pruned')),
	source varchar(16) NOT NULL DEFAULT 'manual'
		CONSTRAINT ck_backups_source
		CHECK (source IN ('schedule', 'manual', 'api')),
	requested_by bigint NULL
		CONSTRAINT fk_backups_requested_by REFERENCES platform_admins (id)
		ON DELETE SET NULL,
	host varchar(255) NULL,
	file_name varchar(255) NULL,
	key_id smallint NULL,
	plain_bytes bigint NULL,
	plain_sha256 char(64) NULL,
	file_bytes bigint NULL,
	file_sha256 char(64) NULL,
	server_id bigint NULL,
	binlog_file varchar(255) NULL,
	binlog_pos bigint NULL,
	gtid_pos varchar(255) NULL,
	schema_version integer NULL,
	manifest jsonb NULL,
	error varchar(1000) NULL,
	started_at timestamptz NULL,
	finished_at timestamptz NULL,
	verify_status varchar(16) NULL
		CONSTRAINT ck_backups_verify_status
		CHECK (verify_status IS NULL OR verify_status IN ('queued',
			'running', 'passed', 'failed')),
	verify_error varchar(1000) NULL,
	verify_host varchar(255) NULL,
	verified_at timestamptz NULL,
	pruned_at timestamptz NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
-- At most one queued backup.
CREATE UNIQUE INDEX uq_backups_queued ON backups ((1))
	WHERE status = 'queued';
CREATE INDEX ix_backups_status ON backups (status, id);
CREATE INDEX ix_backups_verify ON backups (verify_status, id);
CREATE TRIGGER tr_backups_updated_at BEFORE UPDATE ON backups
	FOR EACH ROW EXECUTE FUNCTION rtrw_set_updated_at();

CREATE TABLE platform_alerts (
	id bigserial PRIMARY KEY,
	type varchar(32) NOT NULL,
	status varchar(16) NOT NULL DEFAULT 'open'
		CONSTRAINT ck_platform_alerts_status
		CHECK (status IN ('open', 'acknowledged', 'resolved')),
	subject_type varchar(32) NOT NULL,
	subject_id varchar(100) NOT NULL,
	message varchar(500) NOT NULL,
	details jsonb NULL,
	occurrences integer NOT NULL DEFAULT 1,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	acknowledged_at timestamptz NULL,
	acknowledged_by bigint NULL
		CONSTRAINT fk_platform_alerts_acknowledged_by
		REFERENCES platform_admins (id) ON DELETE SET NULL,
	resolved_at timestamptz NULL
);
-- One open alert per type.
CREATE UNIQUE INDEX uq_platform_alerts_open ON platform_alerts (type)
	WHERE status = 'open';
CREATE INDEX ix_platform_alerts_status
	ON platform_alerts (status, created_at);
CREATE INDEX ix_platform_alerts_type ON platform_alerts (type, created_at);
CREATE TRIGGER tr_platform_alerts_updated_at BEFORE UPDATE ON platform_alerts
	FOR EACH ROW EXECUTE FUNCTION rtrw_set_updated_at();

CREATE TABLE platform_audit_logs (
	id bigserial PRIMARY KEY,
	admin_id bigint NULL
		CONSTRAINT fk_platform_audit_logs_admin
		REFERENCES platform_admins (id) ON DELETE SET NULL,
	action varchar(32) NOT NULL,
	entity_type varchar(64) NOT NULL,
	entity_id bigint NULL,
	old_values jsonb NULL,
	new_values jsonb NULL,
	ip_address varchar(45) NULL,
	user_agent varchar(255) NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_platform_audit_logs_created
	ON platform_audit_logs (created_at);
CREATE INDEX ix_platform_audit_logs_entity
	ON platform_audit_logs (entity_type, entity_id);
CREATE FUNCTION rtrw_platform_audit_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'platform_audit_logs rows cannot be changed or deleted';
END;
$$;
CREATE TRIGGER tr_platform_audit_logs_immutable
	BEFORE UPDATE OR DELETE ON platform_audit_logs
	FOR EACH ROW EXECUTE FUNCTION rtrw_platform_audit_immutable();
