-- 0009 speed boosts (API.md "Speed boosts"): temporary upgrades of a
-- customer to a faster plan.  base_plan_id is the customer's plan when
-- the boost was requested (the price is computed from it); the router
-- runs the customer at the fastest active boost, and the provisioning
-- daemon reads that at the moment it applies a job.
CREATE TABLE speed_boosts (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	customer_id BIGINT UNSIGNED NOT NULL,
	boost_plan_id BIGINT UNSIGNED NOT NULL,
	base_plan_id BIGINT UNSIGNED NOT NULL,
	duration_hours INT UNSIGNED NOT NULL,
	price DECIMAL(14,2) NOT NULL,
	status VARCHAR(16) NOT NULL DEFAULT 'pending',
	requested_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	requested_by BIGINT UNSIGNED NULL,
	decided_by BIGINT UNSIGNED NULL,
	start_at DATETIME NULL,
	end_at DATETIME NULL,
	rejection_reason VARCHAR(500) NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	UNIQUE KEY uq_speed_boosts_tenant_id (tenant_id, id),
	KEY ix_speed_boosts_tenant_customer (tenant_id, customer_id, status),
	KEY ix_speed_boosts_tenant_status (tenant_id, status, requested_at),
	-- The expiry job takes ended boosts of every tenant in one query.
	KEY ix_speed_boosts_status_end (status, end_at),
	CONSTRAINT fk_speed_boosts_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_speed_boosts_customer FOREIGN KEY (tenant_id, customer_id)
		REFERENCES customers (tenant_id, id) ON DELETE CASCADE,
	CONSTRAINT fk_speed_boosts_boost_plan FOREIGN KEY
		(tenant_id, boost_plan_id)
		REFERENCES service_plans (tenant_id, id) ON DELETE CASCADE,
	CONSTRAINT fk_speed_boosts_base_plan FOREIGN KEY
		(tenant_id, base_plan_id)
		REFERENCES service_plans (tenant_id, id) ON DELETE CASCADE,
	CONSTRAINT ck_speed_boosts_status CHECK (status IN ('pending',
		'active', 'expired', 'rejected', 'cancelled')),
	CONSTRAINT ck_speed_boosts_hours CHECK (duration_hours BETWEEN 1 AND 720)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
