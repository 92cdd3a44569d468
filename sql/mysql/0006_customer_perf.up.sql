-- 0006 customer performance (issue 4): lists, search, stats and the
-- dashboard of a tenant with 10,000 customers must read a page, not the
-- tenant.
--
-- customer_counts holds the number of live (not soft-deleted) customers
-- of each tenant by status.  The triggers below keep it in the same
-- transaction as the change, whoever writes customers (the API, the
-- billing tests' fixtures, tools/seed_bulk), so that GET /customers/stats,
-- the dashboard and the total of an unfiltered list are one primary-key
-- read instead of a walk over 10,000 index entries.  The one row per
-- tenant is locked by every customer write of that tenant until commit;
-- creates already serialise on the tenant's "customer" counter row, and a
-- single row cannot deadlock with itself.
CREATE TABLE customer_counts (
	tenant_id BIGINT UNSIGNED NOT NULL,
	n_pending BIGINT NOT NULL DEFAULT 0,
	n_active BIGINT NOT NULL DEFAULT 0,
	n_suspended BIGINT NOT NULL DEFAULT 0,
	n_terminated BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id),
	CONSTRAINT fk_customer_counts_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- XXX a customer written between this backfill and the triggers' creation
-- is not counted; run the migration with the API stopped.
INSERT INTO customer_counts (tenant_id, n_pending, n_active, n_suspended,
	n_terminated)
SELECT tenant_id, SUM(status = 'pending'), SUM(status = 'active'),
	SUM(status = 'suspended'), SUM(status = 'terminated')
FROM customers WHERE deleted_at IS NULL GROUP BY tenant_id;

CREATE TRIGGER tr_customers_count_insert AFTER INSERT ON customers
FOR EACH ROW
BEGIN
	IF NEW.deleted_at IS NULL THEN
		INSERT INTO customer_counts (tenant_id, n_pending, n_active,
			n_suspended, n_terminated)
		VALUES (NEW.tenant_id, NEW.status = 'pending',
			NEW.status = 'active', NEW.status = 'suspended',
			NEW.status = 'terminated')
		ON DUPLICATE KEY UPDATE n_pending = n_pending + VALUES(n_pending),
			n_active = n_active + VALUES(n_active),
			n_suspended = n_suspended + VALUES(n_suspended),
			n_terminated = n_terminated + VALUES(n_terminated);
	END IF;
END;

CREATE TRIGGER tr_customers_count_update AFTER UPDATE ON customers
FOR EACH ROW
BEGIN
	IF OLD.status <> NEW.status OR OLD.tenant_id <> NEW.tenant_id
	   OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) THEN
		IF OLD.deleted_at IS NULL THEN
			UPDATE customer_counts
			SET n_pending = n_pending - (OLD.status = 'pending'),
				n_active = n_active - (OLD.status = 'active'),
				n_suspended = n_suspended - (OLD.status = 'suspended'),
				n_terminated = n_terminated - (OLD.status = 'terminated')
			WHERE tenant_id = OLD.tenant_id;
		END IF;
		IF NEW.deleted_at IS NULL THEN
			INSERT INTO customer_counts (tenant_id, n_pending, n_active,
				n_suspended, n_terminated)
			VALUES (NEW.tenant_id, NEW.status = 'pending',
				NEW.status = 'active', NEW.status = 'suspended',
				NEW.status = 'terminated')
			ON DUPLICATE KEY UPDATE n_pending = n_pending + VALUES(n_pending),
				n_active = n_active + VALUES(n_active),
				n_suspended = n_suspended + VALUES(n_suspended),
				n_terminated = n_terminated + VALUES(n_terminated);
		END IF;
	END IF;
END;

CREATE TRIGGER tr_customers_count_delete AFTER DELETE ON customers
FOR EACH ROW
BEGIN
	IF OLD.deleted_at IS NULL THEN
		UPDATE customer_counts
		SET n_pending = n_pending - (OLD.status = 'pending'),
			n_active = n_active - (OLD.status = 'active'),
			n_suspended = n_suspended - (OLD.status = 'suspended'),
			n_terminated = n_terminated - (OLD.status = 'terminated')
		WHERE tenant_id = OLD.tenant_id;
	END IF;
END;

-- Lists: one index per sort order that leads with (tenant_id, deleted_at),
-- so that "WHERE tenant_id = ? AND deleted_at IS NULL ORDER BY x LIMIT 20"
-- reads 20 entries in index order whatever the tenant's size (InnoDB
-- appends the primary key, so id breaks ties in index order too).
ALTER TABLE customers
	ADD KEY ix_customers_tenant_live_id (tenant_id, deleted_at, id),
	ADD KEY ix_customers_tenant_live_name (tenant_id, deleted_at, name),
	ADD KEY ix_customers_tenant_live_code
		(tenant_id, deleted_at, customer_code),
	ADD KEY ix_customers_tenant_live_created
		(tenant_id, deleted_at, created_at),
	ADD KEY ix_customers_tenant_live_price
		(tenant_id, deleted_at, monthly_price);

-- Dashboard revenue: the paid amounts of each tenant by month of
-- payment_date (a DATE in the tenant's time zone; month is its first
-- day), kept by triggers like customer_counts, so that this month and the
-- last are two primary-key reads instead of a month of payments (10,000
-- index entries for a tenant with 10,000 customers).
CREATE TABLE payment_months (
	tenant_id BIGINT UNSIGNED NOT NULL,
	month DATE NOT NULL,
	paid_amount DECIMAL(16,2) NOT NULL DEFAULT 0.00,
	PRIMARY KEY (tenant_id, month),
	CONSTRAINT fk_payment_months_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO payment_months (tenant_id, month, paid_amount)
SELECT tenant_id, payment_date - INTERVAL (DAYOFMONTH(payment_date) - 1) DAY,
	SUM(amount)
FROM payments WHERE status = 'paid' AND payment_date IS NOT NULL
GROUP BY 1, 2;

CREATE TRIGGER tr_payments_month_insert AFTER INSERT ON payments
FOR EACH ROW
BEGIN
	IF NEW.status = 'paid' AND NEW.payment_date IS NOT NULL THEN
		INSERT INTO payment_months (tenant_id, month, paid_amount)
		VALUES (NEW.tenant_id, NEW.payment_date -
			INTERVAL (DAYOFMONTH(NEW.payment_date) - 1) DAY, NEW.amount)
		ON DUPLICATE KEY UPDATE
			paid_amount = paid_amount + VALUES(paid_amount);
	END IF;
END;

CREATE TRIGGER tr_payments_month_update AFTER UPDATE ON payments
FOR EACH ROW
BEGIN
	IF NOT (OLD.status <=> NEW.status AND OLD.amount <=> NEW.amount
	        AND OLD.payment_date <=> NEW.payment_date
	        AND OLD.tenant_id <=> NEW.tenant_id) THEN
		IF OLD.status = 'paid' AND OLD.payment_date IS NOT NULL THEN
			UPDATE payment_months
			SET paid_amount = paid_amount - OLD.amount
			WHERE tenant_id = OLD.tenant_id AND month = OLD.payment_date -
				INTERVAL (DAYOFMONTH(OLD.payment_date) - 1) DAY;
		END IF;
		IF NEW.status = 'paid' AND NEW.payment_date IS NOT NULL THEN
			INSERT INTO payment_months (tenant_id, month, paid_amount)
			VALUES (NEW.tenant_id, NEW.payment_date -
				INTERVAL (DAYOFMONTH(NEW.payment_date) - 1) DAY,
				NEW.amount)
			ON DUPLICATE KEY UPDATE
				paid_amount = paid_amount + VALUES(paid_amount);
		END IF;
	END IF;
END;

CREATE TRIGGER tr_payments_month_delete AFTER DELETE ON payments
FOR EACH ROW
BEGIN
	IF OLD.status = 'paid' AND OLD.payment_date IS NOT NULL THEN
		UPDATE payment_months SET paid_amount = paid_amount - OLD.amount
		WHERE tenant_id = OLD.tenant_id AND month = OLD.payment_date -
			INTERVAL (DAYOFMONTH(OLD.payment_date) - 1) DAY;
	END IF;
END;
