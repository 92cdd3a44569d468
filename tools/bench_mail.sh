#!/usr/bin/env bash
# Mail throughput: BENCH_MAILS (10,000) queued emails sent by rtrw-mailer
# to the stack's mail sink (tools/mail_sink.py, DIR/mail/*.eml), once with
# one mailer and once with two at the same time (they share the queue
# through FOR UPDATE SKIP LOCKED).  Prints one markdown row per run:
# mailers, messages, seconds, messages per second.
#
#   tools/bench_mail.sh [DIR]       DIR: a running stack (default var)
#
# The stack's own mailer service is stopped for the runs and started
# again afterwards; the rows go to the tenant BENCH_MAIL_TENANT (slug,
# default demo) and are deleted again, with the sink's files they made.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-var}
N=${BENCH_MAILS:-10000}
SLUG=${BENCH_MAIL_TENANT:-demo}
# shellcheck disable=SC1091
. "$DIR/stack.env"
# The stack's binaries unless BENCH_RTRW_BIN names others (release builds).
RTRW_BIN=${BENCH_RTRW_BIN:-$RTRW_BIN}

sql() {
	mariadb --no-defaults --socket="$MYSQL_SOCKET" -uroot -N -B rtrw "$@"
}

tid=$(sql -e "SELECT id FROM tenants WHERE slug = '$SLUG'")
[ -n "$tid" ] || { echo "bench_mail: no tenant '$SLUG'" >&2; exit 1; }
"$STACK_SH" stop-mailer "$STACK_DIR" >&2
trap '"$STACK_SH" start-mailer "$STACK_DIR" >&2' EXIT

run() {
	local mailers=$1 before after t0 t1 pids=() i sent
	sql -e "DELETE FROM notifications WHERE tenant_id = $tid AND dedupe_key LIKE 'bench-mail:%'"
	# One INSERT ... SELECT of N rows (a sequence from a recursive CTE).
	sql -e "SET SESSION max_recursive_iterations = $((N + 1));
		INSERT INTO notifications (tenant_id, template_key,
			recipient_email, payload, dedupe_key)
		WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $N)
		SELECT $tid, 'ticket_created', CONCAT('bench', n, '@example.com'),
			JSON_OBJECT('ticket_number', CONCAT('T-BENCH-', n),
				'title', 'Bench <mail> & co', 'priority', 'low'),
			CONCAT('bench-mail:', n) FROM seq"
	before=$(find "$MAIL_DIR" -name '*.eml' | wc -l)
	t0=$(date +%s.%N)
	for ((i = 0; i < mailers; i++)); do
		"$RTRW_BIN/rtrw-mailer" --config "$RTRW_CONFIG" --tenant "$tid" once \
			>"$LOG_DIR/bench-mailer-$i.log" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i"
	done
	t1=$(date +%s.%N)
	after=$(find "$MAIL_DIR" -name '*.eml' | wc -l)
	sent=$(sql -e "SELECT COUNT(*) FROM notifications WHERE tenant_id = $tid AND dedupe_key LIKE 'bench-mail:%' AND status = 'sent'")
	[ "$sent" = "$N" ] && [ $((after - before)) = "$N" ] ||
		echo "bench_mail: $sent of $N sent, $((after - before)) in the sink" >&2
	awk -v m="$mailers" -v a="$t0" -v b="$t1" -v got=$((after - before)) \
		'BEGIN { s = b - a; printf "| %d | %d | %.2f | %.0f |\n", m, got, s, got / s }'
	# Leave the sink and the queue as they were.
	grep -l -r --include='*.eml' -e '^X-Original-To: bench[0-9]*@example.com' "$MAIL_DIR" | xargs -r rm -f
	sql -e "DELETE FROM notifications WHERE tenant_id = $tid AND dedupe_key LIKE 'bench-mail:%'"
}

echo "| mailers | messages | seconds | messages/s |"
echo "|---:|---:|---:|---:|"
run 1
run 2
