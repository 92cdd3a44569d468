-- 0013 usage monitoring: see sql/mysql/0013_usage.up.sql.  The four
-- usage tables are declaratively partitioned by ranges of `at`; the
-- DEFAULT partition plays MariaDB's p_future.  They have no foreign keys,
-- like their MariaDB twins (which cannot have any), and the same purge.
CREATE TABLE usage_raw (
	tenant_id bigint NOT NULL,
	customer_id bigint NOT NULL,
	at timestamptz NOT NULL,
	rx_bytes bigint NOT NULL CHECK (rx_bytes >= 0),
	tx_bytes bigint NOT NULL CHECK (tx_bytes >= 0),
	secs integer NOT NULL CHECK (secs BETWEEN 0 AND 65535),
	PRIMARY KEY (tenant_id, customer_id, at)
) PARTITION BY RANGE (at);
CREATE TABLE usage_raw_future PARTITION OF usage_raw DEFAULT;

CREATE TABLE usage_5m (
	tenant_id bigint NOT NULL,
	customer_id bigint NOT NULL,
	at timestamptz NOT NULL,
	rx_bytes bigint NOT NULL CHECK (rx_bytes >= 0),
	tx_bytes bigint NOT NULL CHECK (tx_bytes >= 0),
	secs integer NOT NULL CHECK (secs >= 0),
	peak_rx_bps bigint NOT NULL CHECK (peak_rx_bps >= 0),
	peak_tx_bps bigint NOT NULL CHECK (peak_tx_bps >= 0),
	PRIMARY KEY (tenant_id, customer_id, at)
) PARTITION BY RANGE (at);
CREATE TABLE usage_5m_future PARTITION OF usage_5m DEFAULT;

CREATE TABLE usage_hourly (
	tenant_id bigint NOT NULL,
	customer_id bigint NOT NULL,
	at timestamptz NOT NULL,
	rx_bytes bigint NOT NULL CHECK (rx_bytes >= 0),
	tx_bytes bigint NOT NULL CHECK (tx_bytes >= 0),
	secs integer NOT NULL CHECK (secs >= 0),
	peak_rx_bps bigint NOT NULL CHECK (peak_rx_bps >= 0),
	peak_tx_bps bigint NOT NULL CHECK (peak_tx_bps >= 0),
	PRIMARY KEY (tenant_id, customer_id, at)
) PARTITION BY RANGE (at);
CREATE TABLE usage_hourly_future PARTITION OF usage_hourly DEFAULT;

CREATE TABLE usage_daily (
	tenant_id bigint NOT NULL,
	customer_id bigint NOT NULL,
	at timestamptz NOT NULL,
	rx_bytes bigint NOT NULL CHECK (rx_bytes >= 0),
	tx_bytes bigint NOT NULL CHECK (tx_bytes >= 0),
	secs integer NOT NULL CHECK (secs >= 0),
	peak_rx_bps bigint NOT NULL CHECK (peak_rx_bps >= 0),
	peak_tx_bps bigint NOT NULL CHECK (peak_tx_bps >= 0),
	PRIMARY KEY (tenant_id, customer_id, at)
) PARTITION BY RANGE (at);
CREATE TABLE usage_daily_future PARTITION OF usage_daily DEFAULT;

CREATE TABLE usage_sessions (
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	customer_id bigint NOT NULL,
	router_id bigint NOT NULL,
	session_id varchar(32) NOT NULL,
	session_uptime bigint NOT NULL CHECK (session_uptime >= 0),
	rx_counter numeric(20,0) NOT NULL,
	tx_counter numeric(20,0) NOT NULL,
	read_at timestamptz NOT NULL,
	online boolean NOT NULL,
	rx_bps bigint NOT NULL DEFAULT 0,
	tx_bps bigint NOT NULL DEFAULT 0,
	hot_seconds integer NOT NULL DEFAULT 0,
	cool_seconds integer NOT NULL DEFAULT 0,
	episode boolean NOT NULL DEFAULT false,
	month char(7) NULL,
	month_bytes bigint NOT NULL DEFAULT 0,
	month_alerted boolean NOT NULL DEFAULT false,
	PRIMARY KEY (tenant_id, customer_id),
	CONSTRAINT fk_usage_sessions_customer FOREIGN KEY
		(tenant_id, customer_id)
		REFERENCES customers (tenant_id, id) ON DELETE CASCADE,
	CONSTRAINT fk_usage_sessions_router FOREIGN KEY (tenant_id, router_id)
		REFERENCES routers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ix_usage_sessions_router ON usage_sessions (tenant_id, router_id);

CREATE TABLE usage_routers (
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	router_id bigint NOT NULL,
	claimed_by varchar(100) NULL,
	claimed_at timestamptz(3) NULL,
	polled_at timestamptz NULL,
	ok boolean NOT NULL DEFAULT false,
	router_uptime bigint NULL,
	sessions_online integer NOT NULL DEFAULT 0,
	rx_bps bigint NOT NULL DEFAULT 0,
	tx_bps bigint NOT NULL DEFAULT 0,
	active_customers integer NOT NULL DEFAULT 0,
	plan_download_kbps bigint NOT NULL DEFAULT 0,
	plan_upload_kbps bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, router_id),
	CONSTRAINT fk_usage_routers_router FOREIGN KEY (tenant_id, router_id)
		REFERENCES routers (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE usage_settings (
	tenant_id bigint PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
	sustained_percent smallint NULL
		CHECK (sustained_percent BETWEEN 1 AND 100),
	sustained_minutes smallint NOT NULL
		CHECK (sustained_minutes BETWEEN 1 AND 1440),
	monthly_volume_gb integer NULL
		CHECK (monthly_volume_gb BETWEEN 1 AND 1000000),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER tr_usage_settings_updated_at BEFORE UPDATE ON usage_settings
	FOR EACH ROW EXECUTE FUNCTION rtrw_set_updated_at();

-- The twin of MariaDB's usage_partitions(): partitions <table>_pYYYYMMDD
-- of p_days days, aligned on multiples of p_days since 1970-01-01 (the
-- first one reaches down to MINVALUE, as MariaDB's first partition does),
-- created up to the p_ahead-th after p_now's and dropped once they end at
-- or before p_now - p_keep_hours.  Rows already in the DEFAULT partition
-- move into a new partition before it is attached.
CREATE FUNCTION usage_partitions(p_table text, p_now timestamptz,
	p_days integer, p_keep_hours integer, p_ahead integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public SET TimeZone = 'UTC' AS $$
DECLARE
	v_day bigint;
	v_target bigint;
	v_next bigint;
	v_last timestamptz;
	v_from timestamptz;
	v_to timestamptz;
	v_name text;
	r record;
BEGIN
	IF p_table IS NULL OR p_table NOT IN ('usage_raw', 'usage_5m',
	   'usage_hourly', 'usage_daily') THEN
		RAISE EXCEPTION 'usage_partitions: not a usage table';
	END IF;
	IF p_now IS NULL OR p_days IS NULL OR p_days NOT BETWEEN 1 AND 366
	   OR p_keep_hours IS NULL OR p_keep_hours NOT BETWEEN 1 AND 1000000
	   OR p_ahead IS NULL OR p_ahead NOT BETWEEN 1 AND 366 THEN
		RAISE EXCEPTION 'usage_partitions: bad arguments';
	END IF;
	IF NOT pg_try_advisory_xact_lock(hashtext('rtrw_usage_partitions:'
	   || p_table)) THEN
		RETURN;
	END IF;
	v_day := floor(extract(epoch FROM p_now) / 86400);
	v_target := (floor(v_day::numeric / p_days) + 1 + p_ahead) * p_days;
	LOOP
		SELECT max(substring(pg_get_expr(c.relpartbound, c.oid)
			FROM 'TO \(''([^'']+)''\)')::timestamptz) INTO v_last
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = p_table::regclass
		AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT';
		IF v_last IS NULL THEN
			v_next := (floor(v_day::numeric / p_days) + 1) * p_days;
		ELSE
			v_next := (floor(floor(extract(epoch FROM v_last)
				/ 86400)::numeric / p_days) + 1) * p_days;
		END IF;
		EXIT WHEN v_next > v_target;
		v_to := 'epoch'::timestamptz + make_interval(days => v_next::int);
		v_from := greatest(v_last, v_to - make_interval(days => p_days));
		v_name := p_table || '_p' || to_char(v_from, 'YYYYMMDD');
		EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS'
			' INCLUDING CONSTRAINTS)', v_name, p_table);
		EXECUTE format('WITH moved AS (DELETE FROM %I WHERE at < $2'
			' AND ($1 IS NULL OR at >= $1) RETURNING *)'
			' INSERT INTO %I SELECT * FROM moved',
			p_table || '_future', v_name) USING v_last, v_to;
		IF v_last IS NULL THEN
			EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I'
				' FOR VALUES FROM (MINVALUE) TO (%L)', p_table,
				v_name, v_to);
		ELSE
			EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I'
				' FOR VALUES FROM (%L) TO (%L)', p_table,
				v_name, v_last, v_to);
		END IF;
	END LOOP;
	FOR r IN SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = p_table::regclass
		AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
		AND substring(pg_get_expr(c.relpartbound, c.oid)
			FROM 'TO \(''([^'']+)''\)')::timestamptz
			<= p_now - make_interval(hours => p_keep_hours)
	LOOP
		EXECUTE format('DROP TABLE %I', r.relname);
	END LOOP;
END;
$$;

-- The twin of MariaDB's usage_purge(); the distinct tenants of a table
-- come from a skip scan over the primary key (PostgreSQL has no loose
-- index scan of its own).
CREATE FUNCTION usage_purge(p_limit integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
	v_table text;
	v_tenant bigint;
BEGIN
	IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000000 THEN
		RAISE EXCEPTION 'usage_purge: bad limit';
	END IF;
	FOREACH v_table IN ARRAY ARRAY['usage_raw', 'usage_5m', 'usage_hourly',
		'usage_daily']
	LOOP
		EXECUTE format('WITH RECURSIVE t(id) AS ('
			' SELECT min(tenant_id) FROM %1$I'
			' UNION ALL SELECT (SELECT min(tenant_id) FROM %1$I'
			'  WHERE tenant_id > t.id) FROM t WHERE t.id IS NOT NULL)'
			' SELECT id FROM t WHERE id IS NOT NULL AND NOT EXISTS'
			' (SELECT 1 FROM tenants WHERE tenants.id = t.id) LIMIT 1',
			v_table) INTO v_tenant;
		IF v_tenant IS NOT NULL THEN
			EXECUTE format('DELETE FROM %1$I WHERE (tenant_id,'
				' customer_id, at) IN (SELECT tenant_id,'
				' customer_id, at FROM %1$I WHERE tenant_id = $1'
				' LIMIT $2)', v_table) USING v_tenant, p_limit;
		END IF;
	END LOOP;
END;
$$;
