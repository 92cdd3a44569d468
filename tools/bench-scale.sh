#!/usr/bin/env bash
# `make bench-scale`: search, list and dashboard with 1,000,000 customers
# in 1,000 tenants, and the wall time of the billing jobs over all of them.
#
# Runs a stack of its own under var/scale (BENCH_SCALE_DIR), whose
# database is the data set: built once (about 20 minutes on 2 busy
# cores: tools/seed_bulk, the triggers of the word index and the counts
# run for every row) and kept for the next run; a data set of other
# parameters or migrations, or one whose build did not finish, is built
# again from scratch.  The tenants:
#   large   BENCH_SCALE_LARGE customers (100,000)
#   median  the others' size, (CUSTOMERS - LARGE - 1) / (TENANTS - 2)
#   one     one customer
# and TENANTS - 3 more of the median size made by seed_bulk --tenants;
# large, median and one are registered through the API, so they have an
# admin to log in with.  Each customer has BENCH_SCALE_PAYMENTS (3)
# months of payments.
#
# For each of the three tenants: the list's first page, searches by a
# name word, two name words, a code prefix, a phone prefix and an email,
# the stats and the dashboard (uncached: dashboard_cache_seconds = 0),
# each with wrk -c BENCH_CONNECTIONS (32) for BENCH_SECONDS (10), then
# with one connection for half as long (the latency of one operator).
# Then rtrw-billing invoices for the future period BENCH_SCALE_PERIOD
# (2031-01: one invoice per active customer) and rtrw-billing overdue on
# the second day of that period (the customers billed on the 1st), each
# timed (a job that fails is noted with its first error, its log kept in
# var/scale/bench); the payments and notifications of the run are removed
# afterwards (its audit entries cannot be; its events go with the event
# retention).  Results: var/scale/bench/latest.md and latest.json
# (tools/bench_json.py).
#
# Ports (the stack is separate from `make run`'s and may run beside it):
#   BENCH_SCALE_HTTPS_PORT=9443 BENCH_SCALE_HTTP_PORT=9080
#   BENCH_SCALE_MYSQL_PORT=13307 BENCH_SCALE_WS_PORT=8191
#   BENCH_SCALE_SMTP_PORT=12625
#   BENCH_SCALE_ROUTEROS_SIM_PORT=18730 BENCH_SCALE_ROUTEROS_SIM_TLS_PORT=18731
# (memcached listens on DIR/run/memcached.sock.)
# MariaDB's buffer pool is BENCH_SCALE_BUFFER_POOL (1G): the data set is
# a few GB, the local stack's 128M would measure the disk.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${BENCH_SCALE_DIR:-var/scale}
TENANTS=${BENCH_SCALE_TENANTS:-1000}
CUSTOMERS=${BENCH_SCALE_CUSTOMERS:-1000000}
LARGE=${BENCH_SCALE_LARGE:-100000}
PAYMENTS=${BENCH_SCALE_PAYMENTS:-3}
PERIOD=${BENCH_SCALE_PERIOD:-2031-01}
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
MEDIAN=$(((CUSTOMERS - LARGE - 1) / (TENANTS - 2)))
export HTTPS_PORT=${BENCH_SCALE_HTTPS_PORT:-9443}
export HTTP_PORT=${BENCH_SCALE_HTTP_PORT:-9080}
export MYSQL_PORT=${BENCH_SCALE_MYSQL_PORT:-13307}
export WS_PORT=${BENCH_SCALE_WS_PORT:-8191}
export SMTP_PORT=${BENCH_SCALE_SMTP_PORT:-12625}
export ROUTEROS_SIM_PORT=${BENCH_SCALE_ROUTEROS_SIM_PORT:-18730}
export ROUTEROS_SIM_TLS_PORT=${BENCH_SCALE_ROUTEROS_SIM_TLS_PORT:-18731}
export MARIADB_BUFFER_POOL=${BENCH_SCALE_BUFFER_POOL:-1G}
export BENCH=1 NGINX_RATE=1000000r/s NGINX_BURST=1000000 SEED_DEMO=0
export EXTRA_CONF="rate_limit_per_minute = 1000000
register_limit_per_hour = 1000000
dashboard_cache_seconds = 0"
PASSWORD=scale-password-1
DATASET="tenants=$TENANTS customers=$CUSTOMERS large=$LARGE payments=$PAYMENTS"
# The migrations the data set was built with: a database migrated by other
# files (a new migration, a renumbered one) cannot be brought up by
# rtrw-migrate and would not measure this schema, so it is built again.
SCHEMA=$(cat sql/mysql/*.up.sql | cksum | cut -d' ' -f1)

say() {
	echo "bench-scale: $*" >&2
}

trap 'tools/stack.sh down "$DIR" >/dev/null 2>&1 || true' EXIT
trap 'exit 130' INT TERM

if [ "$(cat "$DIR/dataset" 2>/dev/null)" != "$DATASET schema=$SCHEMA" ]; then
	say "building the data set ($DATASET) in $DIR"
	tools/stack.sh down "$DIR" >/dev/null 2>&1 || true
	rm -rf "$DIR"
fi
tools/stack.sh up "$DIR" >&2
# shellcheck disable=SC1091
. "$DIR/stack.env"
BIN=$(pwd)/build/rel/bin
OUT=$DIR/bench
mkdir -p "$OUT"

sql() {
	mariadb --no-defaults --socket="$MYSQL_SOCKET" -uroot -N -B rtrw -e "$1"
}

login() {
	curl -sk -X POST -H 'Content-Type: application/json' \
		-d "{\"tenant\":\"$1\",\"email\":\"admin@$1.example.id\",\"password\":\"$PASSWORD\"}" \
		"$API_URL/api/v1/auth/login" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["access_token"])'
}

if [ "$(cat "$DIR/dataset" 2>/dev/null)" != "$DATASET schema=$SCHEMA" ]; then
	t0=$(date +%s)
	declare -A size=([scale-large]=$LARGE [scale-median]=$MEDIAN [scale-one]=1)
	for slug in scale-large scale-median scale-one; do
		code=$(curl -sk -o /dev/null -w '%{http_code}' -X POST \
			-H 'Content-Type: application/json' -d "{\"tenant_name\":\"$slug\",
			\"tenant_slug\":\"$slug\",\"admin_name\":\"Admin\",
			\"admin_email\":\"admin@$slug.example.id\",
			\"admin_password\":\"$PASSWORD\"}" \
			"$API_URL/api/v1/tenants/register")
		[ "$code" = 201 ] || {
			say "registering $slug gave HTTP $code"
			exit 1
		}
		id=$(sql "SELECT id FROM tenants WHERE slug = '$slug'")
		"$BIN/seed_bulk" --config "$RTRW_CONFIG" --tenant-id "$id" \
			--customers "${size[$slug]}" --payments "$PAYMENTS" >&2
	done
	"$BIN/seed_bulk" --config "$RTRW_CONFIG" --tenants $((TENANTS - 3)) \
		--customers "$MEDIAN" --payments "$PAYMENTS" >&2
	sql "ANALYZE TABLE customers, customer_words, payments" >/dev/null
	echo "$DATASET schema=$SCHEMA" >"$DIR/dataset"
	say "data set built in $(($(date +%s) - t0)) s"
fi

to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000;
		else if (u == "m") n *= 60000;
		printf "%.2f", n }'
}

rows=()
notes=()
: >"$OUT/rows.tsv"
# run TENANT NAME PATH CONNECTIONS SECONDS
run() {
	local tenant=$1 name=$2 path=$3 c=$4 s=$5 res rps p50 p99 bad code
	code=$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API_URL$path")
	[ "$code" = 200 ] || notes+=("$tenant $name: warm-up request gave HTTP $code")
	res=$(wrk -t"$((c < THREADS ? c : THREADS))" -c"$c" -d"${s}s" --latency \
		-H "Authorization: Bearer $TOKEN" "$API_URL$path")
	printf '%s\n' "$res" >"$OUT/$tenant-$name-c$c.txt"
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$res")
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$res")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$res")")
	bad=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$res")
	[ -z "$bad" ] || notes+=("$tenant $name: $bad non-2xx/3xx responses")
	rows+=("| $tenant | $name: $path | $c | $(printf '%.0f' "${rps:-0}") | $p50 ms | $p99 ms | $(cut -d' ' -f1 /proc/loadavg) |")
	printf '%s\t%s\t%s\t%s\t%s\t-\t-\t-\t-\t%s\t\n' "$tenant:$name:c$c" \
		"$path" "${rps:-0}" "$p50" "$p99" "$(cut -d' ' -f1 /proc/loadavg)" \
		>>"$OUT/rows.tsv"
}

for slug in scale-large scale-median scale-one; do
	tenant=${slug#scale-}
	TOKEN=$(login "$slug")
	id=$(sql "SELECT id FROM tenants WHERE slug = '$slug'")
	n=$(sql "SELECT COUNT(*) FROM customers WHERE tenant_id = $id")
	code=$(sql "SELECT LEFT(customer_code, LENGTH(customer_code) - 1)
		FROM customers WHERE tenant_id = $id ORDER BY id
		LIMIT 1 OFFSET $((n / 2))")
	phone=$(sql "SELECT LEFT(phone, 7) FROM customers WHERE tenant_id = $id
		AND phone NOT LIKE '+%' ORDER BY id LIMIT 1 OFFSET $((n / 3))")
	# An email of one customer's own, as in tools/bench.sh (seed_bulk's
	# are shared by a few dozen first names).
	sql "UPDATE customers SET email = CONCAT('bench.', id, '@warga.id')
		WHERE tenant_id = $id ORDER BY id LIMIT 1"
	email=$(sql "SELECT email FROM customers WHERE tenant_id = $id
		ORDER BY id LIMIT 1")
	name=$(sql "SELECT SUBSTRING_INDEX(name, ' ', 1) FROM customers
		WHERE tenant_id = $id ORDER BY id LIMIT 1")
	last=$(sql "SELECT SUBSTRING_INDEX(name, ' ', -1) FROM customers
		WHERE tenant_id = $id ORDER BY id LIMIT 1")
	say "$tenant tenant ($n customers): $name, $name $last, $code, $phone, ${email:-no email}"
	for c in "$CONNS" 1; do
		s=$SECS
		[ "$c" = "$CONNS" ] || s=$(((SECS + 1) / 2))
		run "$tenant" list "/api/v1/customers?page=1" "$c" "$s"
		run "$tenant" search "/api/v1/customers?q=$name" "$c" "$s"
		run "$tenant" search-2words "/api/v1/customers?q=$name%20$last" "$c" "$s"
		run "$tenant" search-code "/api/v1/customers?q=$code" "$c" "$s"
		run "$tenant" search-phone "/api/v1/customers?q=$phone" "$c" "$s"
		[ -z "$email" ] ||
			run "$tenant" search-email "/api/v1/customers?q=$email" "$c" "$s"
		run "$tenant" stats "/api/v1/customers/stats" "$c" "$s"
		run "$tenant" dashboard "/api/v1/dashboard/stats" "$c" "$s"
	done
done

# The billing jobs over every tenant, on a period of their own, removed
# afterwards so that the next run finds the same data.
say "rtrw-billing invoices --period $PERIOD"
last_note=$(sql "SELECT COALESCE(MAX(id), 0) FROM notifications")
t0=$(date +%s.%N)
# A job that fails is noted, with its log, and the benchmark goes on.
"$BIN/rtrw-billing" --config "$RTRW_CONFIG" invoices --period "$PERIOD" \
	>"$OUT/invoices.log" 2>&1 ||
	notes+=("rtrw-billing invoices failed: $(grep -m1 'level=error' "$OUT/invoices.log" | sed 's/.* msg=//') (see $OUT/invoices.log)")
t1=$(date +%s.%N)
inv=$(tail -1 "$OUT/invoices.log")
say "rtrw-billing overdue --now ${PERIOD}-02T00:00:00Z"
"$BIN/rtrw-billing" --config "$RTRW_CONFIG" overdue --now "${PERIOD}-02T00:00:00Z" \
	>"$OUT/overdue.log" 2>&1 ||
	notes+=("rtrw-billing overdue failed: $(grep -m1 'level=error' "$OUT/overdue.log" | sed 's/.* msg=//') (see $OUT/overdue.log)")
t2=$(date +%s.%N)
ovd=$(tail -1 "$OUT/overdue.log")
jobs=$(awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "%.1f %.1f", b - a, c - b }')
say "removing the run's invoices and notifications"
sql "DELETE FROM notifications WHERE id > $last_note" >/dev/null
sql "DELETE FROM payments WHERE period = '$PERIOD'" >/dev/null

{
	echo "# Scale benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo
	echo "$(sql "SELECT COUNT(*) FROM customers") customers in" \
		"$(sql "SELECT COUNT(*) FROM tenants") tenants ($DATASET);" \
		"wrk -t$THREADS over HTTPS through nginx; $(nproc) cores," \
		"$API_WORKERS FastCGI workers; commit" \
		"$(git rev-parse --short HEAD 2>/dev/null || echo none)."
	echo
	echo "| tenant | endpoint | connections | req/s | p50 | p99 | load |"
	echo "|---|---|---:|---:|---:|---:|---:|"
	printf '%s\n' "${rows[@]}"
	echo
	echo "Billing jobs over all tenants (wall time):"
	echo
	echo "    invoices --period $PERIOD: ${jobs% *} s ($inv)"
	echo "    overdue on ${PERIOD}-02: ${jobs#* } s ($ovd)"
	if [ ${#notes[@]} -gt 0 ]; then
		echo
		printf -- '- %s\n' "${notes[@]}"
	fi
} | tee "$OUT/latest.md"
printf '%s\n' "${notes[@]}" >"$OUT/notes.txt"
python3 tools/bench_json.py "$OUT" "dataset=$DATASET" \
	"commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)" \
	"cores=$(nproc)" "workers=$API_WORKERS" "wrk.threads=$THREADS" \
	"wrk.connections=$CONNS" "wrk.seconds=$SECS" \
	"jobs.invoices_seconds=${jobs% *}" "jobs.overdue_seconds=${jobs#* }" \
	"jobs.invoices=$inv" "jobs.overdue=$ovd"
say "figures: $OUT/latest.md, $OUT/latest.json"
