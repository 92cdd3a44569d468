-- 0014 reports (API.md "Exports and reports", issue 11 section 2): reports
-- built in the background by rtrw-reports, the schedules that order them,
-- and the date a customer stopped being one (for customer growth).
--
-- A report row is the job and its result: rtrw-reports claims queued rows
-- (FOR UPDATE SKIP LOCKED, so several services share the queue), writes
-- the file under reports_dir/<tenant_id>/file_name, and fills the sizes.
-- heartbeat_at is refreshed with the progress; a running row whose
-- heartbeat is older than reports_lease_seconds belongs to a service that
-- died and is claimed again (attempts counts the claims).  link_hash is the
-- SHA-256 of the secret of the emailed download link; the secret itself
-- exists only in the queued email.  recipients are the schedule's
-- addresses when the run was made, so that a later edit of the schedule
-- does not change who gets a report already under way.
CREATE TABLE report_schedules (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	name VARCHAR(100) NOT NULL,
	type VARCHAR(20) NOT NULL,
	format VARCHAR(8) NOT NULL,
	frequency VARCHAR(8) NOT NULL,
	hour TINYINT UNSIGNED NOT NULL DEFAULT 6,
	day_of_week TINYINT UNSIGNED NULL,
	day_of_month TINYINT UNSIGNED NULL,
	date_range VARCHAR(16) NOT NULL,
	recipients JSON NOT NULL,
	active TINYINT(1) NOT NULL DEFAULT 1,
	-- The next run in UTC, computed from the tenant's time zone; NULL
	-- while inactive.
	next_run_at DATETIME NULL,
	last_run_at DATETIME NULL,
	-- No foreign key: reports reference schedules, and a cycle would
	-- make neither table droppable on its own.
	last_report_id BIGINT UNSIGNED NULL,
	created_by BIGINT UNSIGNED NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	UNIQUE KEY uq_report_schedules_tenant_id (tenant_id, id),
	KEY ix_report_schedules_tenant_name (tenant_id, name),
	-- rtrw-reports takes the due schedules of every tenant in one query.
	KEY ix_report_schedules_due (active, next_run_at),
	CONSTRAINT fk_report_schedules_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_report_schedules_created_by FOREIGN KEY (created_by)
		REFERENCES users (id) ON DELETE SET NULL,
	CONSTRAINT ck_report_schedules_type
		CHECK (type IN ('revenue', 'customer_growth', 'payments')),
	CONSTRAINT ck_report_schedules_format
		CHECK (format IN ('csv', 'xlsx', 'json')),
	CONSTRAINT ck_report_schedules_frequency
		CHECK (frequency IN ('daily', 'weekly', 'monthly')),
	CONSTRAINT ck_report_schedules_hour CHECK (hour BETWEEN 0 AND 23),
	CONSTRAINT ck_report_schedules_dow CHECK (day_of_week BETWEEN 1 AND 7),
	CONSTRAINT ck_report_schedules_dom CHECK (day_of_month BETWEEN 1 AND 28),
	CONSTRAINT ck_report_schedules_range CHECK (date_range IN
		('previous_day', 'previous_week', 'previous_month',
		'last_7_days', 'last_30_days'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE reports (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	type VARCHAR(20) NOT NULL,
	format VARCHAR(8) NOT NULL,
	date_from DATE NOT NULL,
	date_to DATE NOT NULL,
	status VARCHAR(16) NOT NULL DEFAULT 'queued',
	progress TINYINT UNSIGNED NOT NULL DEFAULT 0,
	error VARCHAR(500) NULL,
	row_count INT UNSIGNED NOT NULL DEFAULT 0,
	size_bytes BIGINT UNSIGNED NULL,
	sha256 CHAR(64) NULL,
	file_name VARCHAR(100) NULL,
	link_hash BINARY(32) NULL,
	requested_by BIGINT UNSIGNED NULL,
	schedule_id BIGINT UNSIGNED NULL,
	recipients JSON NULL,
	attempts TINYINT UNSIGNED NOT NULL DEFAULT 0,
	heartbeat_at DATETIME NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	started_at DATETIME NULL,
	finished_at DATETIME NULL,
	expires_at DATETIME NULL,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	UNIQUE KEY uq_reports_tenant_id (tenant_id, id),
	KEY ix_reports_tenant_created (tenant_id, created_at),
	KEY ix_reports_tenant_status (tenant_id, status, created_at),
	KEY ix_reports_tenant_schedule (tenant_id, schedule_id),
	-- The queue across tenants: the oldest queued report first, and the
	-- running ones whose service went silent.
	KEY ix_reports_queue (status, id),
	-- Retention: done reports of every tenant by expiry.
	KEY ix_reports_expiry (status, expires_at),
	CONSTRAINT fk_reports_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_reports_requested_by FOREIGN KEY (requested_by)
		REFERENCES users (id) ON DELETE SET NULL,
	CONSTRAINT fk_reports_schedule FOREIGN KEY (schedule_id)
		REFERENCES report_schedules (id) ON DELETE SET NULL,
	CONSTRAINT ck_reports_type
		CHECK (type IN ('revenue', 'customer_growth', 'payments')),
	CONSTRAINT ck_reports_format CHECK (format IN ('csv', 'xlsx', 'json')),
	CONSTRAINT ck_reports_status CHECK (status IN ('queued', 'running',
		'done', 'failed', 'expired')),
	CONSTRAINT ck_reports_progress CHECK (progress <= 100),
	CONSTRAINT ck_reports_range CHECK (date_from <= date_to)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- When a customer stopped being one: terminated or (soft) deleted,
-- whichever came first.  The customer growth report counts it as churn in
-- that month.  Customers that left before this migration get their
-- deletion time, or else their last change as the best estimate we have.
ALTER TABLE customers ADD COLUMN left_at DATETIME NULL AFTER deleted_at,
	ADD KEY ix_customers_tenant_left (tenant_id, left_at);

UPDATE customers SET left_at = COALESCE(deleted_at, updated_at),
	updated_at = updated_at
	WHERE status = 'terminated' OR deleted_at IS NOT NULL;

-- A trigger rather than the handlers: every way a customer leaves
-- (terminate, delete, a router import, a tool) stamps it.
CREATE TRIGGER tr_customers_left BEFORE UPDATE ON customers
FOR EACH ROW
BEGIN
	IF NEW.left_at IS NULL AND ((NEW.status = 'terminated'
	   AND OLD.status <> 'terminated')
	   OR (NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL)) THEN
		SET NEW.left_at = UTC_TIMESTAMP();
	END IF;
END;
