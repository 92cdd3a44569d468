-- 0011 backups (issue 11): one row per database backup, written by
-- rtrw-backup (lib/backupjob.c).  Not a tenant table: backups are the
-- platform's.  The container files themselves live in backup_dir with a
-- JSON manifest next to each, so that a restore needs neither this table
-- nor the server it describes; the row is what the platform API lists
-- and where a failure is recorded.
--
-- status: queued (asked for through the API, not yet started), running,
-- completed, failed (error says why), pruned (retention removed the
-- file; the row stays as history).  source: schedule (the daily timer),
-- manual (the command line), api (POST /platform/backups).
-- verify_status is the last `rtrw-backup verify` result.
CREATE TABLE backups (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	status VARCHAR(16) NOT NULL DEFAULT 'queued',
	source VARCHAR(16) NOT NULL DEFAULT 'manual',
	requested_by BIGINT UNSIGNED NULL,
	host VARCHAR(255) NULL,
	file_name VARCHAR(255) NULL,
	key_id SMALLINT UNSIGNED NULL,
	plain_bytes BIGINT UNSIGNED NULL,
	plain_sha256 CHAR(64) NULL,
	file_bytes BIGINT UNSIGNED NULL,
	file_sha256 CHAR(64) NULL,
	server_id BIGINT UNSIGNED NULL,
	binlog_file VARCHAR(255) NULL,
	binlog_pos BIGINT UNSIGNED NULL,
	gtid_pos VARCHAR(255) NULL,
	schema_version INT NULL,
	manifest JSON NULL,
	error VARCHAR(1000) NULL,
	started_at DATETIME NULL,
	finished_at DATETIME NULL,
	verify_status VARCHAR(16) NULL,
	verify_error VARCHAR(1000) NULL,
	verified_at DATETIME NULL,
	pruned_at DATETIME NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	-- The next queued backup, and the list by status.
	KEY ix_backups_status (status, id),
	CONSTRAINT fk_backups_requested_by FOREIGN KEY (requested_by)
		REFERENCES platform_admins (id) ON DELETE SET NULL,
	CONSTRAINT ck_backups_status CHECK (status IN ('queued', 'running',
		'completed', 'failed', 'pruned')),
	CONSTRAINT ck_backups_source
		CHECK (source IN ('schedule', 'manual', 'api')),
	CONSTRAINT ck_backups_verify_status
		CHECK (verify_status IS NULL OR verify_status IN ('passed', 'failed'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
