#!/usr/bin/env bash
# `make bench-backup`: backup and verified restore of the
# 1,000,000-customer data set (issue 11).  Opt-in: seeding takes long the
# first time and each run loads the data three times.
#
# Uses the local stack under BENCH_DIR (default var/, the `make run`
# stack; started when it is not running and stopped again afterwards),
# brings it to BENCH_BACKUP_CUSTOMERS customers (default 1,000,000) with
# BENCH_BACKUP_PAYMENTS payments each (default 12) in a tenant of
# tools/seed_bulk (once; later runs reuse it), then times:
#
#   backup    rtrw-backup run (mariadb-dump | zstd | AES-256-GCM)
#   verify    rtrw-backup verify ID (every chunk, digests, and a test load
#             into a scratch server)
#   restore   rtrw-backup restore ID into a fresh server (its integrity
#             pass, then the load), with the row counts compared
#
# BENCH_COMPARE=1 also times mariadb-backup (physical: --backup streamed
# through zstd, then --prepare and a server started on the copy), the
# alternative the backup job did not take.  The table goes to stdout and
# var/bench/backup.md.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

DIR=${BENCH_DIR:-var}
CUSTOMERS=${BENCH_BACKUP_CUSTOMERS:-1000000}
PAYMENTS=${BENCH_BACKUP_PAYMENTS:-12}
OUT=$REPO/var/bench
mkdir -p "$OUT"
BIN=$REPO/build/rel/bin
WORK=$(mktemp -d /tmp/rtrw-bench-backup-XXXXXX)
target_pid=

say() {
	echo "bench-backup: $*" >&2
}

was_running=0
if [ -f "$DIR/stack.env" ] && tools/stack.sh status "$DIR" 2>&1 | grep '^mariadb: running' >/dev/null; then
	was_running=1
fi
cleanup() {
	set +e
	if [ -n "$target_pid" ]; then
		kill -TERM "$target_pid" 2>/dev/null
		wait "$target_pid" 2>/dev/null
	fi
	rm -rf "$WORK"
	[ "$was_running" = 1 ] || tools/stack.sh down "$DIR" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tools/stack.sh up "$DIR" >&2
# shellcheck disable=SC1091
. "$DIR/stack.env"
sql() {
	mariadb --no-defaults --socket="$MYSQL_SOCKET" -uroot -N -B rtrw -e "$1"
}
# The scratch servers of verify get a real buffer pool for this size.
export RTRW_BACKUP_SCRATCH_BUFFER_POOL_MB=${BENCH_BUFFER_POOL_MB:-2048}

have=$(sql "SELECT COALESCE(SUM(c.n_pending + c.n_active + c.n_suspended + c.n_terminated), 0)
	FROM customer_counts c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug LIKE 'bulk-%'")
if [ "$have" -lt "$CUSTOMERS" ]; then
	say "seeding $((CUSTOMERS - have)) customers with $PAYMENTS payments each"
	start=$(date +%s)
	"$BIN/seed_bulk" --config "$RTRW_CONFIG" --tenants 1 \
		--customers "$((CUSTOMERS - have))" --payments "$PAYMENTS" >&2
	say "seeded in $(($(date +%s) - start)) s"
fi
customers=$(sql "SELECT COUNT(*) FROM customers")
payments=$(sql "SELECT COUNT(*) FROM payments")
data_mb=$(sql "SELECT ROUND(SUM(data_length + index_length) / 1048576) FROM information_schema.tables WHERE table_schema = 'rtrw'")

secs() {
	python3 -c "import time; print(f'{time.time():.3f}')"
}
elapsed() {
	python3 -c "print(f'{$2 - $1:.1f}')"
}

say "backup"
t0=$(secs)
run_out=$("$BIN/rtrw-backup" --config "$RTRW_CONFIG" run)
t1=$(secs)
echo "$run_out" >&2
id=$(sed -nE 's/.*backup ([0-9]+) completed.*/\1/p' <<<"$run_out")
[ -n "$id" ] || exit 1
manifest=$(ls "$STACK_DIR"/backups/full/*-"$id".rbk.json)
plain=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['plain_bytes'])" "$manifest")
sealed=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['file_bytes'])" "$manifest")

say "verify (integrity and a test load)"
t2=$(secs)
"$BIN/rtrw-backup" --config "$RTRW_CONFIG" verify "$id" >&2
t3=$(secs)

say "restore into a fresh server"
user=()
[ "$(id -u)" != 0 ] || user=(--user=root)
mariadb-install-db --no-defaults --datadir="$WORK/target" \
	--auth-root-authentication-method=socket --skip-test-db "${user[@]}" >/dev/null
setsid mariadbd --no-defaults --datadir="$WORK/target" --socket="$WORK/t.sock" \
	--skip-networking --skip-log-bin --log-error="$WORK/target.log" \
	--innodb-buffer-pool-size="${RTRW_BACKUP_SCRATCH_BUFFER_POOL_MB}M" \
	--innodb-log-file-size=256M --max-allowed-packet=1G \
	--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
	"${user[@]}" </dev/null >/dev/null 2>&1 &
target_pid=$!
for _ in $(seq 600); do
	mariadb-admin --no-defaults --socket="$WORK/t.sock" -uroot ping >/dev/null 2>&1 && break
	sleep 0.1
done
t4=$(secs)
"$BIN/rtrw-backup" --config "$RTRW_CONFIG" restore "$id" \
	--target-socket "$WORK/t.sock" --target-user root >&2
t5=$(secs)
got=$(mariadb --no-defaults --socket="$WORK/t.sock" -uroot -N -B rtrw \
	-e "SELECT (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM payments)")
if [ "$got" != "$customers	$payments" ]; then
	say "restored counts '$got' differ from the source's '$customers $payments'"
	exit 1
fi
kill -TERM "$target_pid"
wait "$target_pid" 2>/dev/null || true
target_pid=

rows=(
	"| backup (mariadb-dump, zstd, AES-256-GCM) | $(elapsed "$t0" "$t1") s | $((plain / 1048576)) MiB SQL sealed into $((sealed / 1048576)) MiB |"
	"| verify (all chunks, digests, test load) | $(elapsed "$t2" "$t3") s | scratch server, schema and tables checked |"
	"| restore into a fresh server | $(elapsed "$t4" "$t5") s | integrity pass, then the load; row counts equal |"
)

if [ "${BENCH_COMPARE:-0}" = 1 ]; then
	say "mariadb-backup for comparison"
	t6=$(secs)
	mariadb-backup --no-defaults --backup --user=root --socket="$MYSQL_SOCKET" \
		--datadir="$STACK_DIR/mysql" --target-dir="$WORK/mb" --stream=mbstream \
		2>"$WORK/mb.log" | zstd -3 -q >"$WORK/mb.zst"
	t7=$(secs)
	mkdir -p "$WORK/mbx"
	t8=$(secs)
	zstd -d -q -c "$WORK/mb.zst" | mbstream -x -C "$WORK/mbx"
	mariadb-backup --no-defaults --prepare --target-dir="$WORK/mbx" 2>>"$WORK/mb.log"
	setsid mariadbd --no-defaults --datadir="$WORK/mbx" --socket="$WORK/m.sock" \
		--skip-networking --skip-log-bin --skip-grant-tables \
		--log-error="$WORK/mbx.log" "${user[@]}" </dev/null >/dev/null 2>&1 &
	target_pid=$!
	for _ in $(seq 600); do
		mariadb-admin --no-defaults --socket="$WORK/m.sock" -uroot ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	t9=$(secs)
	mb_size=$(stat -c %s "$WORK/mb.zst")
	rows+=(
		"| mariadb-backup --backup, zstd (not used) | $(elapsed "$t6" "$t7") s | $((mb_size / 1048576)) MiB |"
		"| mariadb-backup restore: --prepare, start (not used) | $(elapsed "$t8" "$t9") s | same version, stopped server only |"
	)
fi

{
	echo "Backup benchmark: $customers customers, $payments payments, ${data_mb} MiB of tables and indexes ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
	echo
	echo "| step | time | notes |"
	echo "|---|---|---|"
	printf '%s\n' "${rows[@]}"
} | tee "$OUT/backup.md"
