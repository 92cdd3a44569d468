-- 0015 backups (issue 11): one row per database backup, written by
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
-- verify_status: the last verification of the backup (rtrw-backup
-- verify, or POST /platform/backups/{id}/verify, which queues one for
-- the queued-backup service: queued, running, then passed or failed;
-- verify_host is the host that runs it, verified_at when it ended).
--
-- At most one backup is queued at a time: queued_key is 1 for the
-- queued row and NULL for every other (NULLs never collide in a unique
-- index); PostgreSQL says the same with a partial unique index.
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
	verify_host VARCHAR(255) NULL,
	verified_at DATETIME NULL,
	pruned_at DATETIME NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	queued_key TINYINT AS (IF(status = 'queued', 1, NULL)) STORED,
	PRIMARY KEY (id),
	UNIQUE KEY uq_backups_queued (queued_key),
	-- The next queued backup, and the list by status.
	KEY ix_backups_status (status, id),
	-- The next queued verification.
	KEY ix_backups_verify (verify_status, id),
	CONSTRAINT fk_backups_requested_by FOREIGN KEY (requested_by)
		REFERENCES platform_admins (id) ON DELETE SET NULL,
	CONSTRAINT ck_backups_status CHECK (status IN ('queued', 'running',
		'completed', 'failed', 'pruned')),
	CONSTRAINT ck_backups_source
		CHECK (source IN ('schedule', 'manual', 'api')),
	CONSTRAINT ck_backups_verify_status
		CHECK (verify_status IS NULL OR verify_status IN ('queued',
			'running', 'passed', 'failed'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Platform alerts: what goes wrong with the platform itself rather than
-- inside one tenant (a failed backup is nobody's), for the platform
-- administrators (GET /api/v1/platform/alerts).  The same shape as a
-- tenant's alerts without tenant_id; acknowledged_by is a platform
-- administrator.  One open alert per type: raising it again while it is
-- open counts another occurrence and takes the newest subject and
-- message; once acknowledged or resolved, the next raise opens a new
-- alert.  open_key is the type of the open alert and NULL otherwise.
CREATE TABLE platform_alerts (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	type VARCHAR(32) NOT NULL,
	status VARCHAR(16) NOT NULL DEFAULT 'open',
	subject_type VARCHAR(32) NOT NULL,
	subject_id VARCHAR(100) NOT NULL,
	message VARCHAR(500) NOT NULL,
	details JSON NULL,
	occurrences INT UNSIGNED NOT NULL DEFAULT 1,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	acknowledged_at DATETIME NULL,
	acknowledged_by BIGINT UNSIGNED NULL,
	resolved_at DATETIME NULL,
	open_key VARCHAR(32) AS (IF(status = 'open', type, NULL)) STORED,
	PRIMARY KEY (id),
	UNIQUE KEY uq_platform_alerts_open (open_key),
	KEY ix_platform_alerts_status (status, created_at),
	KEY ix_platform_alerts_type (type, created_at),
	CONSTRAINT fk_platform_alerts_acknowledged_by
		FOREIGN KEY (acknowledged_by)
		REFERENCES platform_admins (id) ON DELETE SET NULL,
	CONSTRAINT ck_platform_alerts_status
		CHECK (status IN ('open', 'acknowledged', 'resolved'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- What platform administrators did (queued a backup or a verification,
-- acknowledged a platform alert): a tenant's audit_logs row needs its
-- tenant, and these actions have none.  Rows cannot be changed or
-- deleted.
CREATE TABLE platform_audit_logs (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	admin_id BIGINT UNSIGNED NULL,
	action VARCHAR(32) NOT NULL,
	entity_type VARCHAR(64) NOT NULL,
	entity_id BIGINT UNSIGNED NULL,
	old_values JSON NULL,
	new_values JSON NULL,
	ip_address VARCHAR(45) NULL,
	user_agent VARCHAR(255) NULL,
	created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	PRIMARY KEY (id),
	KEY ix_platform_audit_logs_created (created_at),
	KEY ix_platform_audit_logs_entity (entity_type, entity_id),
	CONSTRAINT fk_platform_audit_logs_admin FOREIGN KEY (admin_id)
		REFERENCES platform_admins (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TRIGGER tr_platform_audit_logs_no_update
BEFORE UPDATE ON platform_audit_logs
FOR EACH ROW
	SIGNAL SQLSTATE '45000'
		SET MESSAGE_TEXT = 'platform_audit_logs rows cannot be changed';

CREATE TRIGGER tr_platform_audit_logs_no_delete
BEFORE DELETE ON platform_audit_logs
FOR EACH ROW
	SIGNAL SQLSTATE '45000'
		SET MESSAGE_TEXT = 'platform_audit_logs rows cannot be deleted';
