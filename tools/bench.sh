#!/usr/bin/env bash
# `make bench`: throughput and latency of the API against its ceilings.
#
# Uses the local stack under var/ (BENCH_DIR; starting it when it is not
# running, and stopping it again afterwards), raises nginx's per-IP limit
# (wrk hammers from one address) and the per-user limit, starts the ceiling
# programs bench_hello and bench_select with as many workers as rtrw-api,
# and runs wrk against each endpoint below.  The result is a markdown table
# on stdout and in var/bench/latest.md, with the round trip of one memcached
# get (bench_cache) under it.
#
# A stack that was running is put back exactly as protected as it was
# found: its rtrw.conf, nginx configuration and stack.env are saved before
# and copied back afterwards (then nginx reloads and rtrw-api re-reads its
# configuration), and the run fails if they differ from the saved copies.
# Re-running `stack.sh up` instead would write the configuration from this
# script's environment, benchmark limits included.
#
#   BENCH_SECONDS=10  BENCH_THREADS=2  BENCH_CONNECTIONS=32
#   BENCH_ONLY="health auth-me"   run only the endpoints of these names
#
# Adding an endpoint is one line in ENDPOINTS: "name path ceiling [header]".
# ceiling names the row whose req/s this row is compared with ("-" for
# none).  The header (optional, rest of the line) goes to wrk -H; $VARS in
# it are expanded at run time, e.g.
#   customers /api/v1/customers?per_page=20 select Authorization: Bearer $BENCH_TOKEN
# ENDPOINTS_UNCACHED run afterwards with dashboard_cache_seconds = 0 (the
# API reloaded with SIGHUP), so that every dashboard request computes.
#
# The customer endpoints run on the demo tenant, which is first
# brought to BENCH_CUSTOMERS customers (default 10,000) with 12 payments
# each by tools/seed_bulk; a stack that already has them is not seeded
# again.  $BENCH_NAME is a first name the seeder uses (a name prefix).
#
#   BENCH_SECONDS=10  BENCH_THREADS=2  BENCH_CONNECTIONS=32  BENCH_CUSTOMERS=10000
#
# Then tools/bench_events opens BENCH_WS_CONNECTIONS (5,000) idle
# WebSocket clients on rtrw-events and times BENCH_WS_ROUNDS (5) events
# from their COMMIT to the last client (targets: RSS under 100 MB, p99
# under 1 s).  It raises its open-file limit to the hard limit, which must
# exceed the connection count (ulimit -Hn).
#
# Last, tools/bench_mail.sh sends BENCH_MAILS (10,000) queued emails of
# the demo tenant to the stack's mail sink and adds messages per second.
#
# Usage monitoring (issue 12): the demo customers get 30 days of daily
# usage, and usage-30d asks for a random one's 30-day graph, against the
# one-query ceiling (target ratio 0.5); then tools/bench_usage.py times
# one collection cycle of BENCH_USAGE_ROUTERS (5) simulated routers with
# BENCH_USAGE_SESSIONS (2,000) sessions each (target under 10 s).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

ENDPOINTS='
nginx-static /nginx-static -
hello /bench/hello nginx-static
select /bench/select hello
health /health select
auth-me /api/v1/auth/me select Authorization: Bearer $BENCH_TOKEN
customers-page1 /api/v1/customers?page=1 select Authorization: Bearer $BENCH_TOKEN
customers-search /api/v1/customers?q=$BENCH_NAME select Authorization: Bearer $BENCH_TOKEN
customers-stats /api/v1/customers/stats select Authorization: Bearer $BENCH_TOKEN
dashboard-cached /api/v1/dashboard/stats select Authorization: Bearer $BENCH_TOKEN
'
ENDPOINTS_UNCACHED='
dashboard-uncached /api/v1/dashboard/stats select Authorization: Bearer $BENCH_TOKEN
'

DIR=${BENCH_DIR:-var}
SECS=${BENCH_SECONDS:-10}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-32}
CUSTOMERS=${BENCH_CUSTOMERS:-10000}
export BENCH_NAME=${BENCH_NAME:-Budi}
OUT=$DIR/bench
mkdir -p "$OUT"

say() {
	echo "bench: $*" >&2
}

was_running=0
# (grep reads all of it: with pipefail, grep -q closing early would fail
# the pipeline through SIGPIPE and make a running stack look stopped.)
if [ -f "$DIR/stack.env" ] && tools/stack.sh status "$DIR" 2>&1 | grep '^nginx: running' >/dev/null; then
	was_running=1
fi

# What a running stack's protection is made of: the files that `up`
# writes from its caller's environment.
SAVED=$OUT/saved
PROTECTION_FILES=(rtrw.conf nginx/nginx.conf nginx/rtrw-site.conf stack.env)
if [ "$was_running" = 1 ]; then
	rm -rf "$SAVED"
	for f in "${PROTECTION_FILES[@]}"; do
		mkdir -p "$(dirname "$SAVED/$f")"
		cp -p "$DIR/$f" "$SAVED/$f"
	done
fi

restore() {
	local f rc=0
	for n in bench_hello bench_select; do
		if [ -f "$DIR/run/$n.pid" ]; then
			kill -TERM "$(cat "$DIR/run/$n.pid")" 2>/dev/null
			rm -f "$DIR/run/$n.pid"
		fi
	done
	for f in "${PROTECTION_FILES[@]}"; do
		cp -p "$SAVED/$f" "$DIR/$f" || rc=1
	done
	tools/stack.sh reload "$DIR" || rc=1
	for f in "${PROTECTION_FILES[@]}"; do
		cmp -s "$SAVED/$f" "$DIR/$f" || {
			say "$DIR/$f differs from the copy saved before the benchmark"
			rc=1
		}
	done
	# rtrw-api replaces its workers after the SIGHUP; wait for them.
	sleep 2
	if [ "$rc" != 0 ]; then
		say "the stack in $DIR could not be put back as it was; stop it (tools/stack.sh down $DIR)"
	fi
	return "$rc"
}

cleanup() {
	local rc=$?
	set +e
	if [ "$was_running" = 1 ]; then
		restore || rc=1
	else
		tools/stack.sh down "$DIR" >/dev/null 2>&1
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export BENCH=1 NGINX_RATE=${BENCH_NGINX_RATE:-1000000r/s} NGINX_BURST=${BENCH_NGINX_BURST:-1000000}
# The per-user limit stays in the path (its memcached round trip is part
# of every authenticated request) but must not stop the load.
export SEED_DEMO=1 EXTRA_CONF="rate_limit_per_minute = 1000000"
tools/stack.sh up "$DIR"
# shellcheck disable=SC1091
. "$DIR/stack.env"
# The stack's own build: release for var/, the sanitizer build for a test
# stack (tests/e2e/test_stack_lifecycle.py benchmarks one).
BIN=$RTRW_BIN
# A stack that was already running re-reads its configuration.
kill -HUP "$(cat "$API_PID_FILE")"
sleep 2

# A token of the demo tenant's admin for the authenticated endpoints.
login_body='{"tenant":"demo","email":"admin@demo.rtrw.id","password":"demo-password"}'
BENCH_TOKEN=$(curl -sk -X POST -H 'Content-Type: application/json' \
	-d "$login_body" "$API_URL/api/v1/auth/login" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["access_token"])')
export BENCH_TOKEN

# The demo tenant with BENCH_CUSTOMERS customers and 12 payments each.
sql() {
	mariadb --no-defaults --socket="$MYSQL_SOCKET" -uroot -N -B rtrw -e "$1"
}
demo_id=$(sql "SELECT id FROM tenants WHERE slug = 'demo'")
have=$(sql "SELECT COUNT(*) FROM customers WHERE tenant_id = $demo_id")
if [ "$have" -lt "$CUSTOMERS" ]; then
	say "seeding $((CUSTOMERS - have)) customers into the demo tenant"
	"$BIN/seed_bulk" --config "$RTRW_CONFIG" --tenant-id "$demo_id" \
		--customers "$((CUSTOMERS - have))" --payments 12 >&2
	sql "ANALYZE TABLE customers, payments" >/dev/null
fi

# Usage monitoring (issue 12): 30 days of daily usage for every demo
# customer, the level GET /customers/{id}/usage?period=30d reads, each day
# from the tenant's local midnight (Asia/Jakarta, UTC+7), made once.
have=$(sql "SELECT COUNT(*) FROM usage_daily WHERE tenant_id = $demo_id
	AND at >= UTC_TIMESTAMP() - INTERVAL 31 DAY")
if [ "$have" -lt "$((CUSTOMERS * 29))" ]; then
	say "seeding 30 days of daily usage for $CUSTOMERS customers"
	sql "CALL usage_partitions('usage_daily', UTC_TIMESTAMP(), 30, 17520, 2)"
	sql "INSERT IGNORE INTO usage_daily (tenant_id, customer_id, at,
		rx_bytes, tx_bytes, secs, peak_rx_bps, peak_tx_bps)
		SELECT c.tenant_id, c.id, TIMESTAMP(DATE(UTC_TIMESTAMP()
			+ INTERVAL 7 HOUR) - INTERVAL d.seq DAY) - INTERVAL 7 HOUR,
			(c.id * 7919 + d.seq * 104729) % 9000000000 + 1000000000,
			(c.id * 104729 + d.seq * 7919) % 900000000 + 100000000,
			86400, 9500000, 1900000
		FROM customers c JOIN seq_0_to_29 d
		WHERE c.tenant_id = $demo_id"
fi

# The 20-row table of bench_select, in its own database so that it never
# mixes with the schema of the migrations.
mariadb --no-defaults --socket="$MYSQL_SOCKET" -uroot <<'SQL'
CREATE DATABASE IF NOT EXISTS rtrw_bench CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE TABLE IF NOT EXISTS rtrw_bench.bench_rows (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
	slug VARCHAR(40) NOT NULL UNIQUE,
	name VARCHAR(100) NOT NULL,
	timezone VARCHAR(64) NOT NULL DEFAULT 'Asia/Jakarta',
	status VARCHAR(16) NOT NULL DEFAULT 'active',
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB;
INSERT IGNORE INTO rtrw_bench.bench_rows (slug, name)
	SELECT CONCAT('bench-', seq), CONCAT('RT/RW Net Bench ', seq)
	FROM rtrw_bench.seq_1_to_20;
GRANT SELECT ON rtrw_bench.* TO 'rtrw_app'@'localhost';
GRANT SELECT ON rtrw_bench.* TO 'rtrw_app'@'127.0.0.1';
SQL

# The ceiling programs, same worker count as rtrw-api.
start_pool() {
	local name=$1 sock=$WWW_DIR/$1.sock i
	[ -x "$BIN/$name" ] || {
		say "$BIN/$name is not built (make release)"
		exit 1
	}
	if [ -f "$RUN_DIR/$name.pid" ] && kill -0 "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null; then
		return 0
	fi
	rm -f "$sock"
	(
		export RTRW_DB_NAME=rtrw_bench
		exec setsid "$BIN/$name" --config "$RTRW_CONFIG" \
			--listen "unix:$sock" --workers "$API_WORKERS" \
			</dev/null >>"$LOG_DIR/$name.log" 2>&1
	) &
	echo $! >"$RUN_DIR/$name.pid"
	for ((i = 0; i < 100; i++)); do
		[ -S "$sock" ] && return 0
		sleep 0.1
	done
	say "$name did not start; see $LOG_DIR/$name.log"
	exit 1
}
start_pool bench_hello
start_pool bench_select

# wrk reports "1.23ms", "512.00us", "1.02s", "2.00m": print milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000;
		else if (u == "m") n *= 60000;
		printf "%.2f", n }'
}

declare -A RPS
rows=()
notes=()
run_endpoints() {
while read -r name path ceiling header; do
	[ -n "${name:-}" ] || continue
	if [ -n "${BENCH_ONLY:-}" ] && [[ " $BENCH_ONLY " != *" $name "* ]]; then
		continue
	fi
	url=$API_URL$(envsubst <<<"$path")
	args=(-t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency)
	if [ -n "${header:-}" ]; then
		args+=(-H "$(envsubst <<<"$header")")
	fi
	code=$(curl -sk -o /dev/null -w '%{http_code}' ${header:+-H "$(envsubst <<<"$header")"} "$url")
	[ "$code" = 200 ] || notes+=("$name: warm-up request gave HTTP $code")
	say "$name: wrk ${args[*]} $url"
	res=$(wrk "${args[@]}" "$url")
	printf '%s\n' "$res" >"$OUT/$name.txt"
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$res")
	p50=$(awk '$1 == "50%" {print $2}' <<<"$res")
	p99=$(awk '$1 == "99%" {print $2}' <<<"$res")
	bad=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$res")
	errs=$(awk '/Socket errors:/ {print}' <<<"$res")
	[ -z "$bad" ] || notes+=("$name: $bad non-2xx/3xx responses")
	[ -z "$errs" ] || notes+=("$name: $errs")
	RPS[$name]=${rps:-0}
	ratio=-
	if [ "$ceiling" != - ] && [ -n "${RPS[$ceiling]:-}" ]; then
		ratio=$(awk -v a="${rps:-0}" -v b="${RPS[$ceiling]}" \
			'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	fi
	rows+=("| $name: $(envsubst <<<"$path") | $(printf '%.0f' "${rps:-0}") | $(to_ms "${p50:-0}") ms | $(to_ms "${p99:-0}") ms | $ceiling | $ratio |")
done
}
run_endpoints <<<"$ENDPOINTS"

# GET /customers/{id}/usage?period=30d over every demo customer in random
# order (30 daily points each), against the one-query ceiling.
ids=$(mariadb --no-defaults --socket="$MYSQL_SOCKET" -uroot -N -B rtrw -e \
	"SET SESSION group_concat_max_len = 1000000; SELECT GROUP_CONCAT(id)
	FROM (SELECT id FROM customers WHERE tenant_id = $demo_id
	AND deleted_at IS NULL LIMIT 10000) c")
cat >"$OUT/usage30d.lua" <<LUA
local ids = {$ids}
wrk.headers["Authorization"] = "Bearer $BENCH_TOKEN"
request = function()
	return wrk.format("GET", "/api/v1/customers/" ..
		ids[math.random(#ids)] .. "/usage?period=30d")
end
LUA
say "usage-30d: wrk -t$THREADS -c$CONNS -d${SECS}s (random customer)"
res=$(wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency -s "$OUT/usage30d.lua" "$API_URL")
printf '%s\n' "$res" >"$OUT/usage-30d.txt"
rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$res")
bad=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$res")
[ -z "$bad" ] || notes+=("usage-30d: $bad non-2xx/3xx responses")
ratio=$(awk -v a="${rps:-0}" -v b="${RPS[select]:-0}" \
	'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
awk -v r="$ratio" 'BEGIN { exit !(r != "-" && r + 0 >= 0.5) }' ||
	notes+=("usage-30d: ratio $ratio to the one-query ceiling, target 0.5")
rows+=("| usage-30d: /api/v1/customers/{random}/usage?period=30d | $(printf '%.0f' "${rps:-0}") | $(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$res")") ms | $(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$res")") ms | select | $ratio |")

# The same again with the dashboard cache off, then the configuration as
# it was.
cp "$RTRW_CONFIG" "$OUT/rtrw.conf.saved"
sed -i '/^dashboard_cache_seconds[[:space:]]*=/d' "$RTRW_CONFIG"
echo "dashboard_cache_seconds = 0" >>"$RTRW_CONFIG"
kill -HUP "$(cat "$API_PID_FILE")"
sleep 2
run_endpoints <<<"$ENDPOINTS_UNCACHED"
cp "$OUT/rtrw.conf.saved" "$RTRW_CONFIG"
kill -HUP "$(cat "$API_PID_FILE")"
sleep 2

# Login is deliberately slow (argon2id): one connection, so that p50 is
# the cost of one login rather than the queue behind it.
cat >"$OUT/login.lua" <<LUA
wrk.method = "POST"
wrk.body = '$login_body'
wrk.headers["Content-Type"] = "application/json"
LUA
if [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" login "* ]]; then
	say "login: wrk -t1 -c1 -d${SECS}s (argon2id)"
	res=$(wrk -t1 -c1 -d"${SECS}s" --latency -s "$OUT/login.lua" "$API_URL/api/v1/auth/login")
	printf '%s\n' "$res" >"$OUT/login.txt"
	rows+=("| POST /api/v1/auth/login (1 connection) | $(printf '%.0f' "$(awk '/^Requests\/sec:/ {print $2}' <<<"$res")") | $(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$res")") ms | $(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$res")") ms | - | - |")
fi

# The export writers on their own (tools/bench_export.c: no database, no
# nginx): seconds and peak RSS growth for BENCH_EXPORT_ROWS customer-like
# rows, against issue 11's targets.
EXPORT_ROWS=${BENCH_EXPORT_ROWS:-100000}
say "exports: bench_export --rows $EXPORT_ROWS"
exports=$("$BIN/bench_export" --rows "$EXPORT_ROWS" --tmpdir "$OUT" --check) ||
	notes+=("bench_export: a target was missed or a writer failed")
# The WebSocket daemon: BENCH_WS_CONNECTIONS idle authenticated clients
# straight on its port (tools/bench_events.c), its memory, and the time
# from the COMMIT of one event to each client's read of it.
say "events: bench_events --connections ${BENCH_WS_CONNECTIONS:-5000}"
ws_rows=$("$BIN/bench_events" --config "$RTRW_CONFIG" --port "$WS_PORT" \
	--tenant "$demo_id" --token "$BENCH_TOKEN" --pid "$(cat "$EVENTS_PID_FILE")" \
	--connections "${BENCH_WS_CONNECTIONS:-5000}" \
	--rounds "${BENCH_WS_ROUNDS:-5}") || notes+=("bench_events: a client failed or missed an event")

# Provisioning (tools/bench_provision.py): 1,000 queued activations across
# five simulated routers drained by the stack's rtrw-provision, and an
# import of 1,000 existing secrets, against issue 15's targets.
say "provisioning: tools/bench_provision.py"
provisioning=$(/usr/bin/python3 tools/bench_provision.py --check) ||
	notes+=("bench_provision: a target was missed or a step failed")

# One usage collection cycle: 5 simulated routers with 2,000 sessions
# each (tools/bench_usage.py), baseline then a minute of deltas.
say "usage collection: tools/bench_usage.py"
collect=$(/usr/bin/python3 tools/bench_usage.py --config "$RTRW_CONFIG" \
	--bin "$BIN" --routers "${BENCH_USAGE_ROUTERS:-5}" \
	--sessions "${BENCH_USAGE_SESSIONS:-2000}") ||
	notes+=("usage collection: the cycle missed its target or failed")

{
	echo "# Benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo
	echo "wrk -t$THREADS -c$CONNS -d${SECS}s over HTTPS through nginx;" \
		"$(nproc) cores, $API_WORKERS FastCGI workers per pool;" \
		"commit $(git rev-parse --short HEAD 2>/dev/null || echo none)."
	echo "ratio = req/s of the row / req/s of its ceiling row."
	echo
	echo "| endpoint | req/s | p50 | p99 | ceiling | ratio |"
	echo "|---|---:|---:|---:|---|---:|"
	printf '%s\n' "${rows[@]}"
	echo
	echo "Export writers (tools/bench_export, $EXPORT_ROWS rows each):"
	echo
	sed 's/^/    /' <<<"${exports:-(none)}"
	echo
	echo "| WebSocket (rtrw-events, one daemon) | result |"
	echo "|---|---|"
	printf '%s\n' "$ws_rows"
	echo "$("$BIN/bench_cache" --config "$RTRW_CONFIG" 2>&1)"
	echo
	echo "Provisioning (tools/bench_provision.py):"
	echo
	sed 's/^/    /' <<<"${provisioning:-(none)}"
	echo
	echo "Usage collection (rtrw-monitor usage, tools/bench_usage.py):"
	echo
	echo "| cycle | wall | samples | rows | rows/s | poll (sum) | store |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	printf '%s\n' "${collect:-(failed)}"
	if [ ${#notes[@]} -gt 0 ]; then
		echo
		printf -- '- %s\n' "${notes[@]}"
	fi
} | tee "$OUT/latest.md"

# Mail throughput: BENCH_MAILS (10,000) queued emails to the stack's mail
# sink, with one mailer and with two (tools/bench_mail.sh).
BENCH_MAIL_TENANT=${BENCH_MAIL_TENANT:-demo} BENCH_MAILS=${BENCH_MAILS:-10000}
{
	echo
	echo "## Mail: $BENCH_MAILS queued emails to the local sink (rtrw-mailer --tenant once)"
	echo
	BENCH_MAIL_TENANT=$BENCH_MAIL_TENANT BENCH_MAILS=$BENCH_MAILS tools/bench_mail.sh "$DIR"
} | tee -a "$OUT/latest.md"
