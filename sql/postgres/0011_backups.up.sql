-- 0011 backups (issue 11); see the MariaDB file for the why.
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
		CHECK (verify_status IS NULL OR verify_status IN ('passed', 'failed')),
	verify_error varchar(1000) NULL,
	verified_at timestamptz NULL,
	pruned_at timestamptz NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_backups_status ON backups (status, id);
CREATE TRIGGER tr_backups_updated_at BEFORE UPDATE ON backups
	FOR EACH ROW EXECUTE FUNCTION rtrw_set_updated_at();
