-- 0009 speed boosts: see sql/mysql/0009_speed_boosts.up.sql.
CREATE TABLE speed_boosts (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	customer_id bigint NOT NULL,
	boost_plan_id bigint NOT NULL,
	base_plan_id bigint NOT NULL,
	duration_hours integer NOT NULL
		CHECK (duration_hours BETWEEN 1 AND 720),
	price numeric(14,2) NOT NULL,
	status varchar(16) NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'active', 'expired', 'rejected',
			'cancelled')),
	requested_at timestamptz NOT NULL DEFAULT now(),
	requested_by bigint NULL,
	decided_by bigint NULL,
	start_at timestamptz NULL,
	end_at timestamptz NULL,
	rejection_reason varchar(500) NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT uq_speed_boosts_tenant_id UNIQUE (tenant_id, id),
	CONSTRAINT fk_speed_boosts_customer FOREIGN KEY (tenant_id, customer_id)
		REFERENCES customers (tenant_id, id) ON DELETE CASCADE,
	CONSTRAINT fk_speed_boosts_boost_plan FOREIGN KEY
		(tenant_id, boost_plan_id)
		REFERENCES service_plans (tenant_id, id) ON DELETE CASCADE,
	CONSTRAINT fk_speed_boosts_base_plan FOREIGN KEY
		(tenant_id, base_plan_id)
		REFERENCES service_plans (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ix_speed_boosts_tenant_customer
	ON speed_boosts (tenant_id, customer_id, status);
CREATE INDEX ix_speed_boosts_tenant_status
	ON speed_boosts (tenant_id, status, requested_at);
CREATE INDEX ix_speed_boosts_status_end ON speed_boosts (status, end_at);
CREATE TRIGGER tr_speed_boosts_updated_at BEFORE UPDATE ON speed_boosts
	FOR EACH ROW EXECUTE FUNCTION rtrw_set_updated_at();
