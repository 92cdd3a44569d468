-- 0014 reports: see sql/mysql/0014_reports.up.sql.
CREATE TABLE report_schedules (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name varchar(100) NOT NULL,
	type varchar(20) NOT NULL
		CHECK (type IN ('revenue', 'customer_growth', 'payments')),
	format varchar(8) NOT NULL CHECK (format IN ('csv', 'xlsx', 'json')),
	frequency varchar(8) NOT NULL
		CHECK (frequency IN ('daily', 'weekly', 'monthly')),
	hour smallint NOT NULL DEFAULT 6 CHECK (hour BETWEEN 0 AND 23),
	day_of_week smallint NULL CHECK (day_of_week BETWEEN 1 AND 7),
	day_of_month smallint NULL CHECK (day_of_month BETWEEN 1 AND 28),
	date_range varchar(16) NOT NULL CHECK (date_range IN ('previous_day',
		'previous_week', 'previous_month', 'last_7_days',
		'last_30_days')),
	recipients jsonb NOT NULL,
	active boolean NOT NULL DEFAULT true,
	next_run_at timestamptz NULL,
	last_run_at timestamptz NULL,
	last_report_id bigint NULL,
	created_by bigint NULL REFERENCES users (id) ON DELETE SET NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT uq_report_schedules_tenant_id UNIQUE (tenant_id, id)
);
CREATE INDEX ix_report_schedules_tenant_name
	ON report_schedules (tenant_id, name);
CREATE INDEX ix_report_schedules_due
	ON report_schedules (active, next_run_at);
CREATE TRIGGER tr_report_schedules_updated_at BEFORE UPDATE
	ON report_schedules
	FOR EACH ROW EXECUTE FUNCTION rtrw_set_updated_at();

CREATE TABLE reports (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	type varchar(20) NOT NULL
		CHECK (type IN ('revenue', 'customer_growth', 'payments')),
	format varchar(8) NOT NULL CHECK (format IN ('csv', 'xlsx', 'json')),
	date_from date NOT NULL,
	date_to date NOT NULL,
	status varchar(16) NOT NULL DEFAULT 'queued'
		CHECK (status IN ('queued', 'running', 'done', 'failed',
			'expired')),
	progress smallint NOT NULL DEFAULT 0
		CHECK (progress BETWEEN 0 AND 100),
	error varchar(500) NULL,
	row_count integer NOT NULL DEFAULT 0,
	size_bytes bigint NULL,
	sha256 char(64) NULL,
	file_name varchar(100) NULL,
	link_hash bytea NULL,
	requested_by bigint NULL REFERENCES users (id) ON DELETE SET NULL,
	schedule_id bigint NULL
		REFERENCES report_schedules (id) ON DELETE SET NULL,
	recipients jsonb NULL,
	attempts smallint NOT NULL DEFAULT 0,
	heartbeat_at timestamptz NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	started_at timestamptz NULL,
	finished_at timestamptz NULL,
	expires_at timestamptz NULL,
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT uq_reports_tenant_id UNIQUE (tenant_id, id),
	CONSTRAINT ck_reports_range CHECK (date_from <= date_to)
);
CREATE INDEX ix_reports_tenant_created ON reports (tenant_id, created_at);
CREATE INDEX ix_reports_tenant_status
	ON reports (tenant_id, status, created_at);
CREATE INDEX ix_reports_tenant_schedule ON reports (tenant_id, schedule_id);
CREATE INDEX ix_reports_queue ON reports (status, id);
CREATE INDEX ix_reports_expiry ON reports (status, expires_at);
CREATE TRIGGER tr_reports_updated_at BEFORE UPDATE ON reports
	FOR EACH ROW EXECUTE FUNCTION rtrw_set_updated_at();

ALTER TABLE customers ADD COLUMN left_at timestamptz NULL;
CREATE INDEX ix_customers_tenant_left ON customers (tenant_id, left_at);

-- The backfill keeps updated_at as it is, as in MariaDB.
ALTER TABLE customers DISABLE TRIGGER tr_customers_updated_at;
UPDATE customers SET left_at = COALESCE(deleted_at, updated_at)
	WHERE status = 'terminated' OR deleted_at IS NOT NULL;
ALTER TABLE customers ENABLE TRIGGER tr_customers_updated_at;

CREATE FUNCTION rtrw_customer_left() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.left_at IS NULL AND ((NEW.status = 'terminated'
	   AND OLD.status <> 'terminated')
	   OR (NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL)) THEN
		NEW.left_at := now();
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER tr_customers_left BEFORE UPDATE OF status, deleted_at
	ON customers FOR EACH ROW EXECUTE FUNCTION rtrw_customer_left();
