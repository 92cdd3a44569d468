-- 0013 usage monitoring (issue 12): what rtrw-monitor usage reads from the
-- routers every minute, rolled up, and what it needs to compute the next
-- reading.
--
-- Four levels of per-customer traffic, one row per customer per bucket:
--   usage_raw     1 minute,  kept 48 hours  (usage_raw_hours)
--   usage_5m      5 minutes, kept 8 days    (usage_5m_days)
--   usage_hourly  1 hour,    kept 35 days   (usage_hourly_days)
--   usage_daily   1 day from the tenant's local midnight, kept 2 years
--                 (usage_daily_days)
-- The collector adds every reading to all four in the same transaction
-- (INSERT ... ON DUPLICATE KEY UPDATE sums), so a rollup is exact at any
-- moment, the current bucket included, and nothing is recomputed later.
-- Directions are the customer's: rx is download (the router's tx on the
-- customer's <pppoe-NAME> interface), tx is upload.  secs is the time the
-- bucket's bytes were measured over, so the mean rate of a bucket is
-- bytes * 8 / secs; peak_*_bps is the highest rate of one reading within
-- it.
--
-- The rows are narrow (39 bytes of data a minute, 57 a rollup), written with multi-row
-- statements, and the primary key (tenant_id, customer_id, at) keeps one
-- customer's buckets together, so a 30-day graph is one short range read.
-- They expire by whole partitions: each table is partitioned by day
-- ranges of `at` and usage_partitions() below, called by the collector
-- every cycle, creates partitions ahead of time and drops those past the
-- retention; nothing ever DELETEs expired rows.  p_future holds anything
-- beyond the newest partition (nothing, normally) and is split when new
-- partitions are made.
--
-- MariaDB does not allow foreign keys on partitioned tables, so these four
-- have none: the customers they name are the tenant's by construction
-- (the collector reads them through the tenant's handle), and the rows of
-- a deleted tenant are removed by usage_purge() below, which the collector
-- also calls every cycle (tests/e2e/test_migrations.py lists the four as
-- the exception to the cascade rule).
CREATE TABLE usage_raw (
	tenant_id BIGINT UNSIGNED NOT NULL,
	customer_id BIGINT UNSIGNED NOT NULL,
	at DATETIME NOT NULL,
	rx_bytes BIGINT UNSIGNED NOT NULL,
	tx_bytes BIGINT UNSIGNED NOT NULL,
	secs SMALLINT UNSIGNED NOT NULL,
	PRIMARY KEY (tenant_id, customer_id, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
PARTITION BY RANGE (TO_DAYS(at))
	(PARTITION p_future VALUES LESS THAN MAXVALUE);

CREATE TABLE usage_5m (
	tenant_id BIGINT UNSIGNED NOT NULL,
	customer_id BIGINT UNSIGNED NOT NULL,
	at DATETIME NOT NULL,
	rx_bytes BIGINT UNSIGNED NOT NULL,
	tx_bytes BIGINT UNSIGNED NOT NULL,
	secs INT UNSIGNED NOT NULL,
	peak_rx_bps BIGINT UNSIGNED NOT NULL,
	peak_tx_bps BIGINT UNSIGNED NOT NULL,
	PRIMARY KEY (tenant_id, customer_id, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
PARTITION BY RANGE (TO_DAYS(at))
	(PARTITION p_future VALUES LESS THAN MAXVALUE);

CREATE TABLE usage_hourly (
	tenant_id BIGINT UNSIGNED NOT NULL,
	customer_id BIGINT UNSIGNED NOT NULL,
	at DATETIME NOT NULL,
	rx_bytes BIGINT UNSIGNED NOT NULL,
	tx_bytes BIGINT UNSIGNED NOT NULL,
	secs INT UNSIGNED NOT NULL,
	peak_rx_bps BIGINT UNSIGNED NOT NULL,
	peak_tx_bps BIGINT UNSIGNED NOT NULL,
	PRIMARY KEY (tenant_id, customer_id, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
PARTITION BY RANGE (TO_DAYS(at))
	(PARTITION p_future VALUES LESS THAN MAXVALUE);

CREATE TABLE usage_daily (
	tenant_id BIGINT UNSIGNED NOT NULL,
	customer_id BIGINT UNSIGNED NOT NULL,
	at DATETIME NOT NULL,
	rx_bytes BIGINT UNSIGNED NOT NULL,
	tx_bytes BIGINT UNSIGNED NOT NULL,
	secs INT UNSIGNED NOT NULL,
	peak_rx_bps BIGINT UNSIGNED NOT NULL,
	peak_tx_bps BIGINT UNSIGNED NOT NULL,
	PRIMARY KEY (tenant_id, customer_id, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
PARTITION BY RANGE (TO_DAYS(at))
	(PARTITION p_future VALUES LESS THAN MAXVALUE);

-- The last reading of each customer's session, from which the next delta
-- is computed (lib/usage.h says how), its rate, and the state of the
-- high-usage checks.  session_id is the /ppp/active .id, session_uptime
-- its uptime in seconds; the counters are the interface's 64-bit byte
-- counters in the customer's directions (rx = download).  hot_seconds /
-- cool_seconds count how long the rate has been at or above / below the
-- tenant's threshold; episode says a high_usage alert is open.  month is
-- the tenant-local month ("YYYY-MM") month_bytes counts, month_alerted
-- that its volume alert was raised.
CREATE TABLE usage_sessions (
	tenant_id BIGINT UNSIGNED NOT NULL,
	customer_id BIGINT UNSIGNED NOT NULL,
	router_id BIGINT UNSIGNED NOT NULL,
	session_id VARCHAR(32) NOT NULL,
	session_uptime BIGINT UNSIGNED NOT NULL,
	rx_counter DECIMAL(20,0) NOT NULL,
	tx_counter DECIMAL(20,0) NOT NULL,
	read_at DATETIME NOT NULL,
	online BOOLEAN NOT NULL,
	rx_bps BIGINT UNSIGNED NOT NULL DEFAULT 0,
	tx_bps BIGINT UNSIGNED NOT NULL DEFAULT 0,
	hot_seconds INT UNSIGNED NOT NULL DEFAULT 0,
	cool_seconds INT UNSIGNED NOT NULL DEFAULT 0,
	episode BOOLEAN NOT NULL DEFAULT FALSE,
	month CHAR(7) NULL,
	month_bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
	month_alerted BOOLEAN NOT NULL DEFAULT FALSE,
	PRIMARY KEY (tenant_id, customer_id),
	KEY ix_usage_sessions_router (tenant_id, router_id),
	CONSTRAINT fk_usage_sessions_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_usage_sessions_customer FOREIGN KEY
		(tenant_id, customer_id)
		REFERENCES customers (tenant_id, id) ON DELETE CASCADE,
	CONSTRAINT fk_usage_sessions_router FOREIGN KEY (tenant_id, router_id)
		REFERENCES routers (tenant_id, id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per polled router.  claimed_by/claimed_at are the claim that
-- keeps two collectors (on one host or several) from polling a router in
-- the same cycle: a collector takes a router only when the last claim is
-- older than most of a cycle (by the database's clock, so hosts' clocks do
-- not matter).  The rest is the last poll: when it succeeded, the
-- router's uptime then (the clock a new session's age is compared with),
-- and for the network overview the sessions online, the customers' summed
-- rates, and the router's active customers with the sum of their plans'
-- speeds (its capacity unless routers.uplink_capacity_kbps is set),
-- counted from the customer list the poll reads anyway, so that the
-- overview and the dashboard read one row per router.
CREATE TABLE usage_routers (
	tenant_id BIGINT UNSIGNED NOT NULL,
	router_id BIGINT UNSIGNED NOT NULL,
	claimed_by VARCHAR(100) NULL,
	claimed_at DATETIME(3) NULL,
	polled_at DATETIME NULL,
	ok BOOLEAN NOT NULL DEFAULT FALSE,
	router_uptime BIGINT UNSIGNED NULL,
	sessions_online INT UNSIGNED NOT NULL DEFAULT 0,
	rx_bps BIGINT UNSIGNED NOT NULL DEFAULT 0,
	tx_bps BIGINT UNSIGNED NOT NULL DEFAULT 0,
	active_customers INT UNSIGNED NOT NULL DEFAULT 0,
	plan_download_kbps BIGINT UNSIGNED NOT NULL DEFAULT 0,
	plan_upload_kbps BIGINT UNSIGNED NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, router_id),
	CONSTRAINT fk_usage_routers_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_usage_routers_router FOREIGN KEY (tenant_id, router_id)
		REFERENCES routers (tenant_id, id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A tenant's high-usage thresholds (GET/PATCH /monitoring/settings); a
-- tenant without a row has the defaults of lib/usage.h (90 % for 15
-- minutes, no monthly volume).  sustained_percent NULL turns the
-- sustained check off, monthly_volume_gb NULL the monthly one.
CREATE TABLE usage_settings (
	tenant_id BIGINT UNSIGNED NOT NULL,
	sustained_percent TINYINT UNSIGNED NULL,
	sustained_minutes SMALLINT UNSIGNED NOT NULL,
	monthly_volume_gb INT UNSIGNED NULL,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	PRIMARY KEY (tenant_id),
	CONSTRAINT fk_usage_settings_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT ck_usage_settings_percent CHECK (sustained_percent IS NULL
		OR sustained_percent BETWEEN 1 AND 100),
	CONSTRAINT ck_usage_settings_minutes
		CHECK (sustained_minutes BETWEEN 1 AND 1440),
	CONSTRAINT ck_usage_settings_volume CHECK (monthly_volume_gb IS NULL
		OR monthly_volume_gb BETWEEN 1 AND 1000000)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Partition upkeep of one usage table at instant p_now: partitions are
-- p_days days long, aligned on whole multiples of p_days since
-- 1970-01-01, named p<YYYYMMDD> of their first day.  Creates every
-- partition up to the p_ahead-th after the one holding p_now, and drops
-- every partition that ends at or before p_now - p_keep_hours, so a row is
-- kept at least p_keep_hours and at most p_days days longer.  DDL cannot
-- take parameters, which is why this lives here and runs with the
-- definer's (the schema owner's) rights: the application's account may
-- only EXECUTE it and names the table from a fixed list.  A named lock
-- makes concurrent calls from several collectors wait for nothing: the
-- second one returns at once and the next cycle catches up.
CREATE PROCEDURE usage_partitions(IN p_table VARCHAR(64), IN p_now DATETIME,
	IN p_days INT, IN p_keep_hours INT, IN p_ahead INT)
	MODIFIES SQL DATA
	SQL SECURITY DEFINER
BEGIN
	DECLARE v_epoch INT DEFAULT 719528;
	DECLARE v_last INT;
	DECLARE v_next INT;
	DECLARE v_target INT;
	DECLARE v_cutoff INT;
	DECLARE v_name VARCHAR(64);
	DECLARE v_sql VARCHAR(500);
	DECLARE v_lock VARCHAR(200);
	DECLARE EXIT HANDLER FOR SQLEXCEPTION
	BEGIN
		DO RELEASE_LOCK(v_lock);
		RESIGNAL;
	END;
	IF p_table IS NULL OR p_table NOT IN ('usage_raw', 'usage_5m',
	   'usage_hourly', 'usage_daily') THEN
		SIGNAL SQLSTATE '45000'
			SET MESSAGE_TEXT = 'usage_partitions: not a usage table';
	END IF;
	IF p_now IS NULL OR p_days IS NULL OR p_days NOT BETWEEN 1 AND 366
	   OR p_keep_hours IS NULL OR p_keep_hours NOT BETWEEN 1 AND 1000000
	   OR p_ahead IS NULL OR p_ahead NOT BETWEEN 1 AND 366 THEN
		SIGNAL SQLSTATE '45000'
			SET MESSAGE_TEXT = 'usage_partitions: bad arguments';
	END IF;
	SET v_lock = CONCAT('rtrw_usage_partitions:', DATABASE(), ':',
		p_table);
	IF GET_LOCK(v_lock, 0) = 1 THEN
		SET v_target = v_epoch + (FLOOR((TO_DAYS(p_now) - v_epoch)
			/ p_days) + 1 + p_ahead) * p_days;
		create_loop: LOOP
			SET v_last = (SELECT MAX(CAST(partition_description
				AS SIGNED)) FROM information_schema.partitions
				WHERE table_schema = DATABASE()
				AND table_name = p_table
				AND partition_description <> 'MAXVALUE');
			IF v_last IS NULL THEN
				SET v_next = v_epoch + (FLOOR((TO_DAYS(p_now)
					- v_epoch) / p_days) + 1) * p_days;
			ELSE
				SET v_next = v_epoch + (FLOOR((v_last - v_epoch)
					/ p_days) + 1) * p_days;
			END IF;
			IF v_next > v_target THEN
				LEAVE create_loop;
			END IF;
			SET v_name = CONCAT('p', DATE_FORMAT(FROM_DAYS(
				GREATEST(COALESCE(v_last, 0), v_next - p_days)),
				'%Y%m%d'));
			SET v_sql = CONCAT('ALTER TABLE ', p_table,
				' REORGANIZE PARTITION p_future INTO (PARTITION ',
				v_name, ' VALUES LESS THAN (', v_next,
				'), PARTITION p_future VALUES LESS THAN MAXVALUE)');
			PREPARE usage_ddl FROM v_sql;
			EXECUTE usage_ddl;
			DEALLOCATE PREPARE usage_ddl;
		END LOOP;
		SET v_cutoff = TO_DAYS(p_now - INTERVAL p_keep_hours HOUR);
		drop_loop: LOOP
			SET v_name = (SELECT partition_name
				FROM information_schema.partitions
				WHERE table_schema = DATABASE()
				AND table_name = p_table
				AND partition_description <> 'MAXVALUE'
				AND CAST(partition_description AS SIGNED)
					<= v_cutoff
				ORDER BY partition_ordinal_position LIMIT 1);
			IF v_name IS NULL THEN
				LEAVE drop_loop;
			END IF;
			SET v_sql = CONCAT('ALTER TABLE ', p_table,
				' DROP PARTITION ', v_name);
			PREPARE usage_ddl FROM v_sql;
			EXECUTE usage_ddl;
			DEALLOCATE PREPARE usage_ddl;
		END LOOP;
		DO RELEASE_LOCK(v_lock);
	END IF;
END;

-- Removes up to p_limit rows of one deleted tenant from each usage table
-- (the rows a tenant's deletion cannot cascade to, see above).  The
-- distinct tenants of a table are found by a walk over the primary key's
-- first column, a few index dives, so calling it every cycle is cheap.
CREATE PROCEDURE usage_purge(IN p_limit INT)
	MODIFIES SQL DATA
	SQL SECURITY DEFINER
BEGIN
	DECLARE v_tenant BIGINT UNSIGNED;
	IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000000 THEN
		SIGNAL SQLSTATE '45000'
			SET MESSAGE_TEXT = 'usage_purge: bad limit';
	END IF;
	SET v_tenant = (SELECT u.tenant_id
		FROM (SELECT DISTINCT tenant_id FROM usage_raw) u
		WHERE NOT EXISTS (SELECT 1 FROM tenants t
			WHERE t.id = u.tenant_id) LIMIT 1);
	IF v_tenant IS NOT NULL THEN
		DELETE FROM usage_raw WHERE tenant_id = v_tenant LIMIT p_limit;
	END IF;
	SET v_tenant = (SELECT u.tenant_id
		FROM (SELECT DISTINCT tenant_id FROM usage_5m) u
		WHERE NOT EXISTS (SELECT 1 FROM tenants t
			WHERE t.id = u.tenant_id) LIMIT 1);
	IF v_tenant IS NOT NULL THEN
		DELETE FROM usage_5m WHERE tenant_id = v_tenant LIMIT p_limit;
	END IF;
	SET v_tenant = (SELECT u.tenant_id
		FROM (SELECT DISTINCT tenant_id FROM usage_hourly) u
		WHERE NOT EXISTS (SELECT 1 FROM tenants t
			WHERE t.id = u.tenant_id) LIMIT 1);
	IF v_tenant IS NOT NULL THEN
		DELETE FROM usage_hourly WHERE tenant_id = v_tenant
			LIMIT p_limit;
	END IF;
	SET v_tenant = (SELECT u.tenant_id
		FROM (SELECT DISTINCT tenant_id FROM usage_daily) u
		WHERE NOT EXISTS (SELECT 1 FROM tenants t
			WHERE t.id = u.tenant_id) LIMIT 1);
	IF v_tenant IS NOT NULL THEN
		DELETE FROM usage_daily WHERE tenant_id = v_tenant
			LIMIT p_limit;
	END IF;
END;
