#!/usr/bin/env bash
# `make run`: the local stack under var/ with the demo tenant, served until
# Ctrl-C, which stops everything again.  The release build and the
# dependencies are made by the Makefile first.
#
# Ports: HTTPS_PORT (8443), HTTP_PORT (8080), MYSQL_PORT (13306),
# SMTP_PORT (12525, the mail sink), PROVISION_NUDGE_PORT (18730, UDP,
# rtrw-provision's nudge); memcached listens on DIR/run/memcached.sock.
# See tools/stack.sh for the rest.
# RTRW_RUN_DIR names another stack directory than var/ (the tests of this
# script use one); ASAN=1 runs the sanitizer builds.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

DIR=${RTRW_RUN_DIR:-var}
export HTTPS_PORT=${HTTPS_PORT:-8443} HTTP_PORT=${HTTP_PORT:-8080}
export MYSQL_PORT=${MYSQL_PORT:-13306}
export SMTP_PORT=${SMTP_PORT:-12525}
export SEED_DEMO=1

say() {
	echo "run: $*" >&2
}
trap 'say "failed at line $LINENO: $BASH_COMMAND (exit $?); logs in $DIR/log"' ERR

stopping=0
sleeper=
# The usage collector's loop (below), its own process group.
collector=
stop_collector() {
	local i
	[ -n "$collector" ] || return 0
	kill -TERM -- "-$collector" 2>/dev/null || true
	wait "$collector" 2>/dev/null || true
	for i in $(seq 50); do
		kill -0 -- "-$collector" 2>/dev/null || break
		sleep 0.1
	done
	collector=
}
# Ctrl-C (SIGINT to the terminal's whole process group) and SIGTERM (to
# make, which passes it on to this script) both end here.  The signals are
# ignored from now on, and so by `down` too: a second Ctrl-C must not cut
# the stopping short and leave a service running.
shutdown() {
	[ "$stopping" = 0 ] || return 0
	stopping=1
	trap '' INT TERM HUP
	[ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null || true
	stop_collector
	echo
	tools/stack.sh down "$DIR" ||
		say "stopping the stack failed; see $DIR/log and tools/stack.sh status $DIR"
	exit 0
}
trap shutdown INT TERM HUP
# A failed start leaves nothing running either, and says so.
on_exit() {
	local rc=$?
	[ "$rc" != 0 ] && [ "$stopping" = 0 ] || return 0
	trap '' INT TERM HUP
	stop_collector
	say "the stack did not start (exit $rc): what failed is said above; logs in $DIR/log"
	tools/stack.sh down "$DIR" || true
}
trap on_exit EXIT

tools/stack.sh up "$DIR"
# shellcheck disable=SC1091
. "$DIR/stack.env"

# The demo tenant gets some customers with a year of payments, once, so
# that lists, search and the dashboard have something to show.
demo_id=$(mariadb --no-defaults --socket="$MYSQL_SOCKET" -uroot -N -B rtrw \
	-e "SELECT id FROM tenants WHERE slug = 'demo'" 2>/dev/null || true)
if [ -n "$demo_id" ] && [ "$(mariadb --no-defaults --socket="$MYSQL_SOCKET" \
	-uroot -N -B rtrw -e "SELECT COUNT(*) FROM customers WHERE tenant_id = $demo_id")" = 0 ]; then
	"$RTRW_BIN/seed_bulk" --config "$RTRW_CONFIG" --tenant-id "$demo_id" \
		--customers 50 --payments 12 >>"$LOG_DIR/seed.log" 2>&1 || {
		tail -n 15 "$LOG_DIR/seed.log" >&2
		say "seeding the demo tenant failed; see $LOG_DIR/seed.log"
		exit 1
	}
fi

# The demo tenant gets the simulated router (api-ssl, its certificate
# pinned on first use), once, through the API as the demo admin, so that
# its five existing secrets can be imported and customers provisioned.
if [ -n "$demo_id" ] && [ -n "${ROUTEROS_SIM_TLS_PORT:-}" ] && [ "$(mariadb --no-defaults \
	--socket="$MYSQL_SOCKET" -uroot -N -B rtrw \
	-e "SELECT COUNT(*) FROM routers WHERE tenant_id = $demo_id")" = 0 ]; then
	tok=$(curl -sk "$API_URL/api/v1/auth/login" -H 'Content-Type: application/json' \
		-d '{"tenant":"demo","email":"admin@demo.rtrw.id","password":"demo-password"}' |
		sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
	printf '{"name":"Demo core (simulated)","host":"%s","api_port":%s,"use_tls":true,"tls_fingerprint":"learn","username":"%s","password":"%s"}' \
		"$ROUTEROS_SIM_HOST" "$ROUTEROS_SIM_TLS_PORT" "$ROUTEROS_SIM_USER" \
		"$(cat "$ROUTEROS_SIM_PASSWORD_FILE")" |
		curl -sk -o /dev/null -w '' "$API_URL/api/v1/routers" \
			-H 'Content-Type: application/json' -H "Authorization: Bearer $tok" -d @- ||
		echo "run: the demo router was not added" >&2
fi

echo
echo "RT/RW Net backend is running (stack in $STACK_DIR, logs in $LOG_DIR)."
echo "  API:    $API_URL/api/v1/"
echo "  Docs:   $DOCS_URL"
echo "  Events: $WS_URL (WebSocket; ?token=ACCESS_TOKEN)"
echo "  Health: curl -k $API_URL/health"
echo "  Mail:   every message rtrw-mailer sends lands in $MAIL_DIR/*.eml"
echo "  Reports: rtrw-reports builds them into $REPORTS_DIR"
if [ -n "${ROUTEROS_SIM_PORT:-}" ]; then
	echo "  Simulated MikroTik: $ROUTEROS_SIM_HOST:$ROUTEROS_SIM_PORT (api), :$ROUTEROS_SIM_TLS_PORT (api-ssl), user $ROUTEROS_SIM_USER, password in $ROUTEROS_SIM_PASSWORD_FILE"
fi
if [ -s "$DIR/demo-logins.txt" ]; then
	echo "Demo logins:"
	sed 's/^/  /' "$DIR/demo-logins.txt"
else
	echo "Demo logins: (none; rtrw-admin demo did not write $DIR/demo-logins.txt)"
fi
# Usage monitoring (issue 12): the demo tenant's customers are linked to
# the simulated router's PPPoE secrets (tools/demo_usage.py, once), and
# rtrw-monitor usage runs at the top of every minute, as
# systemd/rtrw-monitor-usage.timer does in production, so that the usage
# graphs, the network overview and the dashboard's bandwidth have figures.
# The loop has a session of its own (a Ctrl-C reaches only this script);
# stop_collector (above) ends it with the cycle in flight before the stack
# goes down.  Its log is $LOG_DIR/monitor-usage.log.
if [ -n "${ROUTEROS_SIM_PORT:-}" ]; then
	if /usr/bin/python3 tools/demo_usage.py >>"$LOG_DIR/monitor-usage.log" 2>&1; then
		# shellcheck disable=SC2016
		setsid bash -c 'while :; do "$0" --config "$1" usage || true
			sleep $((60 - $(date +%s) % 60)); done' \
			"$RTRW_BIN/rtrw-monitor" "$RTRW_CONFIG" \
			</dev/null >>"$LOG_DIR/monitor-usage.log" 2>&1 &
		collector=$!
		echo "Usage: rtrw-monitor usage runs every minute against the simulated router ($LOG_DIR/monitor-usage.log)."
	else
		say "the usage collector did not start; see $LOG_DIR/monitor-usage.log"
	fi
fi

echo
echo "Press Ctrl-C to stop."

# Sleep in the background and wait for it, so that the trap runs at once;
# the trap ends the sleep too, which would otherwise outlive the stack.
while :; do
	sleep 3600 &
	sleeper=$!
	wait "$sleeper" || true
done
