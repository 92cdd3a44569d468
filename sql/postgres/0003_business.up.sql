-- 0003 business: the PostgreSQL twin of sql/mysql/0003_business.up.sql.
-- Full-text search on customer names uses a GIN index over a tsvector
-- (the 'simple' configuration: names are not English words).

CREATE TABLE service_plans (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name varchar(100) NOT NULL,
	speed_download integer NOT NULL CHECK (speed_download > 0),
	speed_upload integer NOT NULL CHECK (speed_upload > 0),
	price numeric(14,2) NOT NULL,
	active boolean NOT NULL DEFAULT true,
	burst_download integer NULL,
	burst_upload integer NULL,
	burst_threshold_download integer NULL,
	burst_threshold_upload integer NULL,
	burst_time integer NULL,
	priority smallint NOT NULL DEFAULT 8 CHECK (priority BETWEEN 1 AND 8),
	queue_type varchar(32) NOT NULL DEFAULT 'default',
	mikrotik_profile varchar(64) NOT NULL,
	deleted_at timestamptz NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT uq_service_plans_tenant_id UNIQUE (tenant_id, id)
);
CREATE INDEX ix_service_plans_tenant_active
	ON service_plans (tenant_id, active, name);
CREATE TRIGGER tr_service_plans_updated_at BEFORE UPDATE ON service_plans
	FOR EACH ROW EXECUTE FUNCTION rtrw_set_updated_at();

CREATE TABLE plan_price_history (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	service_plan_id bigint NOT NULL,
	old_price numeric(14,2) NULL,
	new_price numeric(14,2) NOT NULL,
	changed_by bigint NULL,
	changed_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT fk_plan_price_history_plan FOREIGN KEY (tenant_id, service_plan_id)
		REFERENCES service_plans (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ix_plan_price_history_plan
	ON plan_price_history (tenant_id, service_plan_id, changed_at);

CREATE TABLE tenant_counters (
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name varchar(32) NOT NULL,
	value bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, name)
);

CREATE TABLE customers (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	customer_code varchar(20) NOT NULL,
	name varchar(200) NOT NULL,
	phone varchar(20) NOT NULL,
	email varchar(254) NULL,
	address varchar(500) NOT NULL,
	service_plan_id bigint NOT NULL,
	status varchar(16) NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'active', 'suspended', 'terminated')),
	router_id bigint NULL,
	pppoe_username varchar(64) NULL,
	pppoe_password_enc bytea NULL,
	monthly_price numeric(14,2) NOT NULL,
	billing_day smallint NOT NULL DEFAULT 1 CHECK (billing_day BETWEEN 1 AND 28),
	installed_at date NULL,
	notes text NULL,
	deleted_at timestamptz NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT uq_customers_tenant_id UNIQUE (tenant_id, id),
	CONSTRAINT uq_customers_tenant_code UNIQUE (tenant_id, customer_code),
	CONSTRAINT uq_customers_tenant_router_pppoe
		UNIQUE (tenant_id, router_id, pppoe_username),
	CONSTRAINT fk_customers_plan FOREIGN KEY (tenant_id, service_plan_id)
		REFERENCES service_plans (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ix_customers_tenant_status ON customers (tenant_id, status, deleted_at);
CREATE INDEX ix_customers_tenant_plan ON customers (tenant_id, service_plan_id);
CREATE INDEX ix_customers_tenant_phone ON customers (tenant_id, phone);
CREATE INDEX ix_customers_tenant_email ON customers (tenant_id, email);
CREATE INDEX ix_customers_tenant_created ON customers (tenant_id, created_at);
CREATE INDEX ix_customers_tenant_name ON customers (tenant_id, name);
CREATE INDEX ft_customers_name ON customers
	USING gin (to_tsvector('simple', name));
CREATE TRIGGER tr_customers_updated_at BEFORE UPDATE ON customers
	FOR EACH ROW EXECUTE FUNCTION rtrw_set_updated_at();

CREATE TABLE payments (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	customer_id bigint NOT NULL,
	amount numeric(14,2) NOT NULL,
	status varchar(16) NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'paid', 'overdue', 'cancelled')),
	period char(7) NOT NULL,
	due_date date NOT NULL,
	payment_date date NULL,
	method varchar(32) NULL,
	reference varchar(100) NULL,
	notes text NULL,
	source varchar(16) NOT NULL DEFAULT 'manual',
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT fk_payments_customer FOREIGN KEY (tenant_id, customer_id)
		REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX uq_payments_tenant_invoice
	ON payments (tenant_id, customer_id, period) WHERE source = 'invoice';
CREATE INDEX ix_payments_tenant_customer ON payments (tenant_id, customer_id, period);
CREATE INDEX ix_payments_tenant_status_due ON payments (tenant_id, status, due_date);
CREATE INDEX ix_payments_tenant_paid ON payments (tenant_id, status, payment_date);
CREATE TRIGGER tr_payments_updated_at BEFORE UPDATE ON payments
	FOR EACH ROW EXECUTE FUNCTION rtrw_set_updated_at();

CREATE TABLE provisioning_jobs (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	customer_id bigint NULL REFERENCES customers (id) ON DELETE SET NULL,
	router_id bigint NULL,
	action varchar(32) NOT NULL,
	payload jsonb NULL,
	status varchar(16) NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'running', 'done', 'failed')),
	attempts integer NOT NULL DEFAULT 0,
	last_error varchar(500) NULL,
	run_after timestamptz NOT NULL DEFAULT now(),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_provisioning_jobs_tenant_status
	ON provisioning_jobs (tenant_id, status, run_after);
CREATE INDEX ix_provisioning_jobs_tenant_customer
	ON provisioning_jobs (tenant_id, customer_id);
CREATE INDEX ix_provisioning_jobs_status ON provisioning_jobs (status, run_after);
CREATE TRIGGER tr_provisioning_jobs_updated_at BEFORE UPDATE ON provisioning_jobs
	FOR EACH ROW EXECUTE FUNCTION rtrw_set_updated_at();

CREATE TABLE tickets (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	ticket_number varchar(20) NOT NULL,
	customer_id bigint NOT NULL,
	title varchar(200) NOT NULL,
	description text NOT NULL,
	priority varchar(8) NOT NULL DEFAULT 'medium'
		CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
	status varchar(16) NOT NULL DEFAULT 'open'
		CHECK (status IN ('open', 'in_progress', 'resolved', 'closed')),
	assigned_to bigint NULL REFERENCES users (id) ON DELETE SET NULL,
	created_by bigint NULL,
	resolved_at timestamptz NULL,
	closed_at timestamptz NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT uq_tickets_tenant_id UNIQUE (tenant_id, id),
	CONSTRAINT uq_tickets_tenant_number UNIQUE (tenant_id, ticket_number),
	CONSTRAINT fk_tickets_customer FOREIGN KEY (tenant_id, customer_id)
		REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ix_tickets_tenant_status ON tickets (tenant_id, status, priority);
CREATE INDEX ix_tickets_tenant_customer ON tickets (tenant_id, customer_id);
CREATE INDEX ix_tickets_tenant_assigned ON tickets (tenant_id, assigned_to);
CREATE TRIGGER tr_tickets_updated_at BEFORE UPDATE ON tickets
	FOR EACH ROW EXECUTE FUNCTION rtrw_set_updated_at();

CREATE TABLE ticket_comments (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	ticket_id bigint NOT NULL,
	user_id bigint NULL REFERENCES users (id) ON DELETE SET NULL,
	body text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT fk_ticket_comments_ticket FOREIGN KEY (tenant_id, ticket_id)
		REFERENCES tickets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ix_ticket_comments_ticket
	ON ticket_comments (tenant_id, ticket_id, created_at);

CREATE TABLE notifications (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	template_key varchar(40) NOT NULL,
	recipient_user_id bigint NULL REFERENCES users (id) ON DELETE SET NULL,
	recipient_email varchar(254) NULL,
	payload jsonb NULL,
	dedupe_key varchar(100) NULL,
	status varchar(16) NOT NULL DEFAULT 'queued'
		CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
	attempts integer NOT NULL DEFAULT 0,
	last_error varchar(500) NULL,
	send_after timestamptz NOT NULL DEFAULT now(),
	sent_at timestamptz NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT uq_notifications_tenant_dedupe UNIQUE (tenant_id, dedupe_key)
);
CREATE INDEX ix_notifications_tenant_status
	ON notifications (tenant_id, status, send_after);
CREATE INDEX ix_notifications_status ON notifications (status, send_after);

CREATE TABLE events (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name varchar(40) NOT NULL,
	entity_type varchar(40) NULL,
	entity_id bigint NULL,
	data jsonb NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_events_tenant_id ON events (tenant_id, id);
