-- 0003 business: service plans, customers, payments, provisioning jobs,
-- tickets, and the notification and event queues other features feed.
--
-- Rules every tenant table follows (tests/e2e/test_tenant_delete.py checks
-- them):
--   * tenant_id BIGINT UNSIGNED NOT NULL, FK to tenants ON DELETE CASCADE,
--     and every index leads with tenant_id;
--   * a required reference to another tenant table is a composite key
--     (tenant_id, x_id) -> x (tenant_id, id) ON DELETE CASCADE, so that a
--     row can never point into another tenant and a tenant's deletion
--     never trips over the order in which InnoDB visits its tables (the
--     application itself never hard-deletes rows that have dependants);
--   * an optional reference is a single-column FK ON DELETE SET NULL.

CREATE TABLE service_plans (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	name VARCHAR(100) NOT NULL,
	speed_download INT UNSIGNED NOT NULL,
	speed_upload INT UNSIGNED NOT NULL,
	price DECIMAL(14,2) NOT NULL,
	active BOOLEAN NOT NULL DEFAULT TRUE,
	burst_download INT UNSIGNED NULL,
	burst_upload INT UNSIGNED NULL,
	burst_threshold_download INT UNSIGNED NULL,
	burst_threshold_upload INT UNSIGNED NULL,
	burst_time INT UNSIGNED NULL,
	priority TINYINT UNSIGNED NOT NULL DEFAULT 8,
	queue_type VARCHAR(32) NOT NULL DEFAULT 'default',
	mikrotik_profile VARCHAR(64) NOT NULL,
	deleted_at DATETIME NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	UNIQUE KEY uq_service_plans_tenant_id (tenant_id, id),
	KEY ix_service_plans_tenant_active (tenant_id, active, name),
	CONSTRAINT fk_service_plans_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT ck_service_plans_priority CHECK (priority BETWEEN 1 AND 8)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE plan_price_history (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	service_plan_id BIGINT UNSIGNED NOT NULL,
	old_price DECIMAL(14,2) NULL,
	new_price DECIMAL(14,2) NOT NULL,
	changed_by BIGINT UNSIGNED NULL,
	changed_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	KEY ix_plan_price_history_plan (tenant_id, service_plan_id, changed_at),
	CONSTRAINT fk_plan_price_history_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_plan_price_history_plan
		FOREIGN KEY (tenant_id, service_plan_id)
		REFERENCES service_plans (tenant_id, id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Per-tenant counters for human-readable numbers (customer codes, ticket
-- numbers): updated in the creating transaction, never MAX()+1.
CREATE TABLE tenant_counters (
	tenant_id BIGINT UNSIGNED NOT NULL,
	name VARCHAR(32) NOT NULL,
	value BIGINT UNSIGNED NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, name),
	CONSTRAINT fk_tenant_counters_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE customers (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	customer_code VARCHAR(20) NOT NULL,
	name VARCHAR(200) NOT NULL,
	phone VARCHAR(20) NOT NULL,
	email VARCHAR(254) NULL,
	address VARCHAR(500) NOT NULL,
	service_plan_id BIGINT UNSIGNED NOT NULL,
	status VARCHAR(16) NOT NULL DEFAULT 'pending',
	router_id BIGINT UNSIGNED NULL,
	pppoe_username VARCHAR(64) NULL,
	pppoe_password_enc VARBINARY(512) NULL,
	monthly_price DECIMAL(14,2) NOT NULL,
	billing_day TINYINT UNSIGNED NOT NULL DEFAULT 1,
	installed_at DATE NULL,
	notes TEXT NULL,
	deleted_at DATETIME NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	UNIQUE KEY uq_customers_tenant_id (tenant_id, id),
	UNIQUE KEY uq_customers_tenant_code (tenant_id, customer_code),
	-- NULL pppoe_username never collides; router_id NULL means "no router".
	UNIQUE KEY uq_customers_tenant_router_pppoe
		(tenant_id, router_id, pppoe_username),
	KEY ix_customers_tenant_status (tenant_id, status, deleted_at),
	KEY ix_customers_tenant_plan (tenant_id, service_plan_id),
	KEY ix_customers_tenant_phone (tenant_id, phone),
	KEY ix_customers_tenant_email (tenant_id, email),
	KEY ix_customers_tenant_created (tenant_id, created_at),
	KEY ix_customers_tenant_name (tenant_id, name),
	FULLTEXT KEY ft_customers_name (name),
	CONSTRAINT fk_customers_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_customers_plan FOREIGN KEY (tenant_id, service_plan_id)
		REFERENCES service_plans (tenant_id, id) ON DELETE CASCADE,
	CONSTRAINT ck_customers_status
		CHECK (status IN ('pending', 'active', 'suspended', 'terminated')),
	CONSTRAINT ck_customers_billing_day CHECK (billing_day BETWEEN 1 AND 28)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE payments (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	customer_id BIGINT UNSIGNED NOT NULL,
	amount DECIMAL(14,2) NOT NULL,
	status VARCHAR(16) NOT NULL DEFAULT 'pending',
	period CHAR(7) NOT NULL,
	due_date DATE NOT NULL,
	payment_date DATE NULL,
	method VARCHAR(32) NULL,
	reference VARCHAR(100) NULL,
	notes TEXT NULL,
	-- 'invoice' rows come from the billing job: one per customer and period.
	source VARCHAR(16) NOT NULL DEFAULT 'manual',
	invoice_customer_id BIGINT UNSIGNED AS (IF(source = 'invoice',
		customer_id, NULL)) STORED,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	UNIQUE KEY uq_payments_tenant_invoice
		(tenant_id, invoice_customer_id, period),
	KEY ix_payments_tenant_customer (tenant_id, customer_id, period),
	KEY ix_payments_tenant_status_due (tenant_id, status, due_date),
	KEY ix_payments_tenant_paid (tenant_id, status, payment_date),
	CONSTRAINT fk_payments_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_payments_customer FOREIGN KEY (tenant_id, customer_id)
		REFERENCES customers (tenant_id, id) ON DELETE CASCADE,
	CONSTRAINT ck_payments_status
		CHECK (status IN ('pending', 'paid', 'overdue', 'cancelled'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Router operations queued by customer lifecycle actions, consumed by the
-- provisioning worker (the router issue).  Written in the same transaction
-- as the change that needs them; the HTTP call never waits on a router.
CREATE TABLE provisioning_jobs (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	customer_id BIGINT UNSIGNED NULL,
	router_id BIGINT UNSIGNED NULL,
	action VARCHAR(32) NOT NULL,
	payload JSON NULL,
	status VARCHAR(16) NOT NULL DEFAULT 'pending',
	attempts INT UNSIGNED NOT NULL DEFAULT 0,
	last_error VARCHAR(500) NULL,
	run_after DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	KEY ix_provisioning_jobs_tenant_status (tenant_id, status, run_after),
	KEY ix_provisioning_jobs_tenant_customer (tenant_id, customer_id),
	KEY ix_provisioning_jobs_status (status, run_after),
	CONSTRAINT fk_provisioning_jobs_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_provisioning_jobs_customer FOREIGN KEY (customer_id)
		REFERENCES customers (id) ON DELETE SET NULL,
	CONSTRAINT ck_provisioning_jobs_status
		CHECK (status IN ('pending', 'running', 'done', 'failed'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE tickets (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	ticket_number VARCHAR(20) NOT NULL,
	customer_id BIGINT UNSIGNED NOT NULL,
	title VARCHAR(200) NOT NULL,
	description TEXT NOT NULL,
	priority VARCHAR(8) NOT NULL DEFAULT 'medium',
	status VARCHAR(16) NOT NULL DEFAULT 'open',
	assigned_to BIGINT UNSIGNED NULL,
	created_by BIGINT UNSIGNED NULL,
	resolved_at DATETIME NULL,
	closed_at DATETIME NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	UNIQUE KEY uq_tickets_tenant_id (tenant_id, id),
	UNIQUE KEY uq_tickets_tenant_number (tenant_id, ticket_number),
	KEY ix_tickets_tenant_status (tenant_id, status, priority),
	KEY ix_tickets_tenant_customer (tenant_id, customer_id),
	KEY ix_tickets_tenant_assigned (tenant_id, assigned_to),
	CONSTRAINT fk_tickets_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_tickets_customer FOREIGN KEY (tenant_id, customer_id)
		REFERENCES customers (tenant_id, id) ON DELETE CASCADE,
	CONSTRAINT fk_tickets_assigned FOREIGN KEY (assigned_to)
		REFERENCES users (id) ON DELETE SET NULL,
	CONSTRAINT ck_tickets_priority
		CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
	CONSTRAINT ck_tickets_status
		CHECK (status IN ('open', 'in_progress', 'resolved', 'closed'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE ticket_comments (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	ticket_id BIGINT UNSIGNED NOT NULL,
	user_id BIGINT UNSIGNED NULL,
	body TEXT NOT NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	KEY ix_ticket_comments_ticket (tenant_id, ticket_id, created_at),
	CONSTRAINT fk_ticket_comments_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_ticket_comments_ticket FOREIGN KEY (tenant_id, ticket_id)
		REFERENCES tickets (tenant_id, id) ON DELETE CASCADE,
	CONSTRAINT fk_ticket_comments_user FOREIGN KEY (user_id)
		REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Email notifications waiting for the mailer (the email issue sends them,
-- with up to 3 retries).  template_key names an email template; payload
-- holds the template's variables.
CREATE TABLE notifications (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	template_key VARCHAR(40) NOT NULL,
	recipient_user_id BIGINT UNSIGNED NULL,
	recipient_email VARCHAR(254) NULL,
	payload JSON NULL,
	-- Makes queueing idempotent where it must be (one overdue notice per
	-- payment): a NULL key never collides.
	dedupe_key VARCHAR(100) NULL,
	status VARCHAR(16) NOT NULL DEFAULT 'queued',
	attempts INT UNSIGNED NOT NULL DEFAULT 0,
	last_error VARCHAR(500) NULL,
	send_after DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	sent_at DATETIME NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	UNIQUE KEY uq_notifications_tenant_dedupe (tenant_id, dedupe_key),
	KEY ix_notifications_tenant_status (tenant_id, status, send_after),
	KEY ix_notifications_status (status, send_after),
	CONSTRAINT fk_notifications_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_notifications_user FOREIGN KEY (recipient_user_id)
		REFERENCES users (id) ON DELETE SET NULL,
	CONSTRAINT ck_notifications_status
		CHECK (status IN ('queued', 'sending', 'sent', 'failed'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Real-time events for the WebSocket daemon (the event issue delivers
-- them in id order; clients resume from the last id they saw).
CREATE TABLE events (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	name VARCHAR(40) NOT NULL,
	entity_type VARCHAR(40) NULL,
	entity_id BIGINT UNSIGNED NULL,
	data JSON NULL,
	created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	PRIMARY KEY (id),
	KEY ix_events_tenant_id (tenant_id, id),
	CONSTRAINT fk_events_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
