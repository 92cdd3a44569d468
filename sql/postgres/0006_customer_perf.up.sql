-- 0006 customer performance (issue 4); see the MariaDB file for the why.
-- customer_counts: live customers per tenant and status, kept by a
-- trigger in the writing transaction.
CREATE TABLE customer_counts (
	tenant_id bigint NOT NULL,
	n_pending bigint NOT NULL DEFAULT 0,
	n_active bigint NOT NULL DEFAULT 0,
	n_suspended bigint NOT NULL DEFAULT 0,
	n_terminated bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id),
	CONSTRAINT fk_customer_counts_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE
);

INSERT INTO customer_counts (tenant_id, n_pending, n_active, n_suspended,
	n_terminated)
SELECT tenant_id, count(*) FILTER (WHERE status = 'pending'),
	count(*) FILTER (WHERE status = 'active'),
	count(*) FILTER (WHERE status = 'suspended'),
	count(*) FILTER (WHERE status = 'terminated')
FROM customers WHERE deleted_at IS NULL GROUP BY tenant_id;

CREATE FUNCTION rtrw_customer_counts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'INSERT' THEN
		IF OLD.deleted_at IS NULL THEN
			UPDATE customer_counts
			SET n_pending = n_pending - (OLD.status = 'pending')::int,
				n_active = n_active - (OLD.status = 'active')::int,
				n_suspended = n_suspended - (OLD.status = 'suspended')::int,
				n_terminated = n_terminated - (OLD.status = 'terminated')::int
			WHERE tenant_id = OLD.tenant_id;
		END IF;
	END IF;
	IF TG_OP <> 'DELETE' THEN
		IF NEW.deleted_at IS NULL THEN
			INSERT INTO customer_counts AS c (tenant_id, n_pending, n_active,
				n_suspended, n_terminated)
			VALUES (NEW.tenant_id, (NEW.status = 'pending')::int,
				(NEW.status = 'active')::int,
				(NEW.status = 'suspended')::int,
				(NEW.status = 'terminated')::int)
			ON CONFLICT (tenant_id) DO UPDATE
			SET n_pending = c.n_pending + EXCLUDED.n_pending,
				n_active = c.n_active + EXCLUDED.n_active,
				n_suspended = c.n_suspended + EXCLUDED.n_suspended,
				n_terminated = c.n_terminated + EXCLUDED.n_terminated;
		END IF;
	END IF;
	RETURN NULL;
END;
$$;

CREATE TRIGGER tr_customers_counts
	AFTER INSERT OR DELETE OR UPDATE OF tenant_id, status, deleted_at
	ON customers FOR EACH ROW EXECUTE FUNCTION rtrw_customer_counts();

CREATE INDEX ix_customers_tenant_live_id ON customers (tenant_id, id)
	WHERE deleted_at IS NULL;
CREATE INDEX ix_customers_tenant_live_name ON customers (tenant_id, name, id)
	WHERE deleted_at IS NULL;
CREATE INDEX ix_customers_tenant_live_code
	ON customers (tenant_id, customer_code) WHERE deleted_at IS NULL;
CREATE INDEX ix_customers_tenant_live_created
	ON customers (tenant_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX ix_customers_tenant_live_price
	ON customers (tenant_id, monthly_price, id) WHERE deleted_at IS NULL;

-- payment_months: paid amounts per tenant and month of payment_date.
CREATE TABLE payment_months (
	tenant_id bigint NOT NULL,
	month date NOT NULL,
	paid_amount numeric(16,2) NOT NULL DEFAULT 0.00,
	PRIMARY KEY (tenant_id, month),
	CONSTRAINT fk_payment_months_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE
);

INSERT INTO payment_months (tenant_id, month, paid_amount)
SELECT tenant_id, date_trunc('month', payment_date)::date, sum(amount)
FROM payments WHERE status = 'paid' AND payment_date IS NOT NULL
GROUP BY 1, 2;

CREATE FUNCTION rtrw_payment_months() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'INSERT' THEN
		IF OLD.status = 'paid' AND OLD.payment_date IS NOT NULL THEN
			UPDATE payment_months
			SET paid_amount = paid_amount - OLD.amount
			WHERE tenant_id = OLD.tenant_id
			  AND month = date_trunc('month', OLD.payment_date)::date;
		END IF;
	END IF;
	IF TG_OP <> 'DELETE' THEN
		IF NEW.status = 'paid' AND NEW.payment_date IS NOT NULL THEN
			INSERT INTO payment_months AS m (tenant_id, month,
				paid_amount)
			VALUES (NEW.tenant_id,
				date_trunc('month', NEW.payment_date)::date,
				NEW.amount)
			ON CONFLICT (tenant_id, month) DO UPDATE
			SET paid_amount = m.paid_amount + EXCLUDED.paid_amount;
		END IF;
	END IF;
	RETURN NULL;
END;
$$;

CREATE TRIGGER tr_payments_months
	AFTER INSERT OR DELETE
	OR UPDATE OF tenant_id, status, amount, payment_date
	ON payments FOR EACH ROW EXECUTE FUNCTION rtrw_payment_months();
