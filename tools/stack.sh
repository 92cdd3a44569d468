#!/usr/bin/env bash
# The local stack: MariaDB, memcached, rtrw-api and nginx, all under one
# directory, owned by this script and by nobody else.
#
#   tools/stack.sh up DIR [--asan]    start what is not running, wait, write DIR/stack.env
#   tools/stack.sh down DIR           stop everything started from DIR's pid files
#   tools/stack.sh status DIR         say what runs
#   tools/stack.sh reload DIR         nginx and rtrw-api re-read DIR's files as they are
#   tools/stack.sh restart-mariadb DIR | stop-mariadb DIR | start-mariadb DIR
#   tools/stack.sh stop-memcached DIR | start-memcached DIR
#   tools/stack.sh stop-mailer DIR | start-mailer DIR
#   tools/stack.sh nginx-prod         print the production nginx site (nginx.conf.d/rtrw.conf)
#
# Environment (defaults are the `make run` stack; tools/test.sh passes its own):
#   HTTPS_PORT=8443 HTTP_PORT=8080 MYSQL_PORT=13306   (memcached: DIR/run/memcached.sock)
#   WS_PORT=8091              rtrw-events (WebSocket daemon, loopback, behind /ws)
#   REPORTS_POLL_MS=250       how often rtrw-reports looks for queued reports
#   SMTP_PORT=12525           the mail sink (tools/mail_sink.py, DIR/mail/*.eml)
#   PROVISION_NUDGE_PORT=18730  rtrw-provision's nudge (UDP, loopback)
#   WORKERS=$(nproc)          rtrw-api worker processes
#   CORS_ORIGINS="http://localhost:3000"   space separated allowed origins
#   NGINX_RATE=50r/s NGINX_BURST=100       coarse per-IP limit in nginx
#   SEED_DEMO=1               also create the demo tenant and users (rtrw-admin demo)
#   EXTRA_CONF="k = v\n..."  lines appended to rtrw.conf (tests lower limits)
#   BENCH=1                   add the /bench/* locations to nginx
#   MARIADB_BUFFER_POOL=128M  InnoDB buffer pool (make bench-scale: 1G)
#   RTRW_API_BIN=PATH         run another FastCGI program instead of rtrw-api
#                             (e.g. build/rel/bin/bench_hello while developing)
#   STACK_COPY_DOCS=1         serve a copy of the docs even where nginx could
#                             read them in place (the tests of the copy)
#   STACK_SPAWN_DELAY=SECONDS each service waits this long before its exec,
#                             as on a busy machine (the tests of the start)
#
# Every service is started with setsid in its own session, so a Ctrl-C in
# the terminal reaches only the calling script, whose trap runs `down`.
# The ports of a stack are kept in DIR/stack.env; later commands on the
# same DIR reuse them.  Every failure says what failed and names its log.
set -Eeuo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() {
	echo "stack: $*" >&2
	exit 1
}
say() {
	echo "stack: $*" >&2
}
# A command that fails where nobody expected it still says so, instead of
# leaving the caller with nothing but its exit status.
trap 'say "failed at line $LINENO: $BASH_COMMAND (exit $?)${LOG:+; logs in $LOG}"' ERR

usage() {
	sed -n '2,/^set /p' "${BASH_SOURCE[0]}" | sed -n 's/^# \{0,1\}//p' >&2
	exit 2
}

# ---------------------------------------------------------------------------
# Settings

setup_dir() {
	[ -n "${1:-}" ] || usage
	mkdir -p "$1"
	D=$(cd "$1" && pwd)
	RUN=$D/run
	LOG=$D/log
	SEC=$D/secrets
	CONF=$D/rtrw.conf
	ENVF=$D/stack.env
	MYSQL_SOCKET=$RUN/mysqld.sock
	MEMCACHED_SOCKET=$RUN/memcached.sock
	WWW=$(www_dir)
	API_SOCKET=$WWW/api.sock
	# A stack that exists keeps its ports unless the caller names new ones.
	if [ -f "$ENVF" ]; then
		local k v
		for k in HTTPS_PORT HTTP_PORT MYSQL_PORT WS_PORT SMTP_PORT \
			PROVISION_NUDGE_PORT ASAN; do
			v=$(sed -n "s/^export $k=//p" "$ENVF" | tail -1)
			if [ -n "$v" ] && [ -z "${!k:-}" ]; then
				printf -v "$k" '%s' "$v"
			fi
		done
	fi
	HTTPS_PORT=${HTTPS_PORT:-8443}
	HTTP_PORT=${HTTP_PORT:-8080}
	MYSQL_PORT=${MYSQL_PORT:-13306}
	WS_PORT=${WS_PORT:-8091}
	SMTP_PORT=${SMTP_PORT:-12525}
	PROVISION_NUDGE_PORT=${PROVISION_NUDGE_PORT:-18730}
	WORKERS=${WORKERS:-$(nproc)}
	CORS_ORIGINS=${CORS_ORIGINS:-http://localhost:3000}
	NGINX_RATE=${NGINX_RATE:-50r/s}
	NGINX_BURST=${NGINX_BURST:-100}
	ASAN=${ASAN:-0}
}

# nginx's workers run as www-data when the stack runs as root, and the clone
# may sit in a folder that others cannot traverse (/root is 0700 on Debian,
# and so is every mktemp -d folder).  What they must reach (the FastCGI
# sockets, nginx's temporary files and, when the clone is closed to them, a
# copy of the docs) therefore lives in a directory of its own under /run,
# named by a hash of DIR so that each stack has its own.  Run by another
# user, nginx's workers are that user and DIR/run serves.
www_dir() {
	local h
	if [ "$(id -u)" != 0 ]; then
		echo "$RUN"
		return 0
	fi
	h=$(printf '%s' "$D" | sha256sum | cut -c1-16)
	echo "/run/rtrw-stack/$h"
}

bin_dir() {
	if [ "$ASAN" = 1 ]; then
		echo "$REPO/build/asan/bin"
	else
		echo "$REPO/build/rel/bin"
	fi
}

# Sanitizer settings for every binary of an --asan stack: reports go to
# files under DIR/log, which tools/test.sh turns into a failure.
san_env() {
	export ASAN_OPTIONS="log_path=$LOG/asan:detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1${ASAN_EXTRA:+:$ASAN_EXTRA}"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$LOG/ubsan"
	export LSAN_OPTIONS="${LSAN_OPTIONS:-}"
}

# ---------------------------------------------------------------------------
# Process bookkeeping: a pid file names one process we started; we only
# ever signal a pid whose command line still mentions this stack's DIR, so a
# stale file never hits a stranger that reused the pid.

#
# The command line must name one of DIR's own paths (DIR/rtrw.conf,
# DIR/mysql, DIR/nginx/, DIR/run/, the mail sink's DIR/mail), not merely
# contain DIR: the stacks of
# make test live inside var/, and a test stack's process is no process of
# var's.  It is read into a variable, not piped into grep -q, whose early
# exit could fail the pipeline and make a live process look gone.
pid_of() {
	local f=$RUN/$1.pid pid cmd
	[ -f "$f" ] || return 1
	pid=$(tr -dc 0-9 <"$f")
	[ -n "$pid" ] || return 1
	cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
	[[ " $cmd" =~ [\ =]"$D"/(rtrw\.conf|mysql|nginx/|run/|mail\ ) ]] || return 1
	running "$pid" || return 1
	echo "$pid"
}

# starting NAME: NAME's pid file names a live process that is still this
# script between fork and exec.
starting() {
	local pid cmd
	[ -f "$RUN/$1.pid" ] || return 1
	pid=$(tr -dc 0-9 <"$RUN/$1.pid") || return 1
	[ -n "$pid" ] && running "$pid" || return 1
	cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
	[[ $cmd == *tools/stack.sh* ]]
}

alive() {
	pid_of "$1" >/dev/null
}

# running PID: the process exists and is not a zombie (an init that does
# not reap, as in some containers, leaves exited services as zombies).
running() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# stop NAME TIMEOUT: TERM, wait, then KILL the process group (services run
# in their own session, so the group holds only the service and its
# children).
#
# A service this script has only just forked may not have exec'd yet (its
# command line is still this script's): it gets a moment to, or a stop
# during a start would miss it and leave it running.
stop() {
	local name=$1 timeout=${2:-15} pid i
	for ((i = 0; i < 30; i++)); do
		! pid_of "$name" >/dev/null && starting "$name" || break
		sleep 0.1
	done
	if ! pid=$(pid_of "$name"); then
		rm -f "$RUN/$name.pid"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < timeout * 10; i++)); do
		running "$pid" || break
		sleep 0.1
	done
	if running "$pid"; then
		say "$name ($pid) did not stop in ${timeout}s; killing"
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$RUN/$name.pid"
}

# spawn NAME LOG COMMAND...: starts COMMAND in a session of its own, in DIR,
# output appended to LOG, and writes its pid to DIR/run/NAME.pid.  SPAWNED
# is that pid.  Until the child has exec'd COMMAND its command line is still
# this script's, which names DIR only when DIR was given as an absolute path:
# checks while a service starts therefore go by SPAWNED, our own child, and
# never by pid_of.  (They once went by pid_of: `make run` passes "var", and
# on a busy machine the first check came before the exec and took rtrw-api
# for dead.)
spawn() {
	local name=$1 log=$2
	shift 2
	(
		[ "$ASAN" != 1 ] || san_env
		cd "$D"
		[ -z "${STACK_SPAWN_DELAY:-}" ] || sleep "$STACK_SPAWN_DELAY"
		exec setsid "$@" </dev/null >>"$log" 2>&1
	) &
	SPAWNED=$!
	echo "$SPAWNED" >"$RUN/$name.pid"
}

# show_log FILE: the end of FILE on stderr, to go with a failure.
show_log() {
	[ -s "$1" ] || return 0
	tail -n 15 "$1" | sed 's/^/  | /' >&2
}

# wait_for WHAT SECONDS PID LOG COMMAND...: polls COMMAND every 0.1 s until
# it succeeds.  Fails, showing and naming LOG, when PID (the process that
# should get ready; "" for none) exits first or when the time is up.
wait_for() {
	local what=$1 secs=$2 pid=$3 log=$4 i
	shift 4
	for ((i = 0; i < secs * 10; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if [ -n "$pid" ] && ! running "$pid"; then
			show_log "$log"
			die "$what exited while starting; see $log"
		fi
		sleep 0.1
	done
	show_log "$log"
	die "$what is not ready after ${secs}s; see $log"
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# port_bindable PORT: a listener could bind 127.0.0.1:PORT now.  Even with
# SO_REUSEADDR it cannot while a client connection that used PORT as its
# local port sits in TIME_WAIT (up to 60 s after it closed): any outgoing
# connection may take a port inside ip_local_port_range.
port_bindable() {
	python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

# port_check PORT WHAT VAR: fails when something listens on PORT; waits
# (at most 70 s, longer than a TIME_WAIT lasts) while a closed connection
# still holds it.
port_check() {
	local port=$1 what=$2 var=$3 i range
	port_free "$port" || die "port $port ($what) is in use; set $var"
	for ((i = 0; i < 140; i++)); do
		port_bindable "$port" && return 0
		if [ "$i" = 0 ]; then
			range=$(tr -s '\t ' '-' </proc/sys/net/ipv4/ip_local_port_range)
			say "port $port ($what) is still held by a closed connection (TIME_WAIT); waiting for it (ports inside ip_local_port_range $range can be taken by any outgoing connection)"
		fi
		sleep 0.5
	done
	die "port $port ($what) could not be bound for 70s; set $var to a port outside $range"
}

# ---------------------------------------------------------------------------
# Secrets and configuration

secret() {
	local f=$SEC/$1
	if [ ! -s "$f" ]; then
		(umask 077 && openssl rand -hex 32 | tr -d '\n' >"$f")
	fi
	chmod 0600 "$f"
}

make_secrets() {
	mkdir -p "$SEC"
	chmod 0700 "$SEC"
	secret jwt.key
	secret data.key
	secret root.pass
	secret rtrw_owner.pass
	secret rtrw_app.pass
	secret rtrw_maint.pass
	secret rtrw_backup.pass
	# The backup keyring (rtrw-backup): a directory of <id>.key files.
	mkdir -p "$SEC/backup-keys"
	chmod 0700 "$SEC/backup-keys"
	secret backup-keys/1.key
}

write_config() {
	cat >"$CONF.tmp" <<EOF
# Generated by tools/stack.sh for the stack in $D; edits are overwritten.
listen = unix:$API_SOCKET
listen_backlog = 1024
workers = $WORKERS
db_host = 127.0.0.1
db_port = $MYSQL_PORT
db_socket = $MYSQL_SOCKET
db_name = rtrw
db_user = rtrw_app
db_password_file = $SEC/rtrw_app.pass
db_admin_user = rtrw_owner
db_admin_password_file = $SEC/rtrw_owner.pass
db_maint_user = rtrw_maint
db_maint_password_file = $SEC/rtrw_maint.pass
db_connect_timeout = 2
memcached = $MEMCACHED_SOCKET
jwt_secret_file = $SEC/jwt.key
data_key_file = $SEC/data.key
db_backup_user = rtrw_backup
db_backup_password_file = $SEC/rtrw_backup.pass
backup_dir = $D/backups
backup_key_dir = $SEC/backup-keys
backup_key_id = 1
backup_scratch_dir = $D/tmp
backup_scratch_buffer_pool_mb = 128
max_body_bytes = 1048576
arena_cap_bytes = 16777216
log_level = ${LOG_LEVEL:-info}
# Mail goes to the stack's sink (tools/mail_sink.py, $D/mail/*.eml).
smtp_host = 127.0.0.1
smtp_port = $SMTP_PORT
smtp_security = none
smtp_from = noreply@rtrw.local
mail_domain = rtrw.local
mail_poll_seconds = 1
events_listen = 127.0.0.1:$WS_PORT
events_socket = $RUN/events.sock
provision_nudge = 127.0.0.1:$PROVISION_NUDGE_PORT
reports_dir = $D/reports
reports_poll_ms = ${REPORTS_POLL_MS:-250}
public_url = https://127.0.0.1:$HTTPS_PORT
EOF
	if [ -n "${EXTRA_CONF:-}" ]; then
		printf '%b\n' "$EXTRA_CONF" >>"$CONF.tmp"
	fi
	mv "$CONF.tmp" "$CONF"
}

# ---------------------------------------------------------------------------
# MariaDB

mysql_root() {
	mariadb --no-defaults --socket="$MYSQL_SOCKET" -uroot "$@"
}

start_mariadb() {
	if alive mariadb; then
		return 0
	fi
	port_check "$MYSQL_PORT" MariaDB MYSQL_PORT
	# A temporary directory of its own: MariaDB names its temporary
	# tables #sql-temptable-PID-..., and servers of other stacks in other
	# PID namespaces that share /tmp clash on those names (a server
	# crashed, an install failed, on a shared machine).
	mkdir -p "$D/mysql-tmp"
	if [ ! -d "$D/mysql/mysql" ]; then
		say "initialising MariaDB in $D/mysql"
		mariadb-install-db --no-defaults --user=root --datadir="$D/mysql" \
			--tmpdir="$D/mysql-tmp" \
			--auth-root-authentication-method=socket --skip-test-db \
			>"$LOG/mariadb-install.log" 2>&1 ||
			die "mariadb-install-db failed; see $LOG/mariadb-install.log"
	fi
	rm -f "$MYSQL_SOCKET"
	spawn mariadb "$LOG/mariadb.log" mariadbd --no-defaults --user=root \
		--datadir="$D/mysql" --tmpdir="$D/mysql-tmp" --socket="$MYSQL_SOCKET" \
		--port="$MYSQL_PORT" --bind-address=127.0.0.1 \
		--log-bin="$D/mysql-bin" --server-id=1 --binlog-format=ROW \
		--pid-file="$RUN/mariadb.pid" --log-error="$LOG/mariadb.log" \
		--log-bin-trust-function-creators=1 --expire-logs-days=2 \
		--skip-name-resolve --character-set-server=utf8mb4 \
		--collation-server=utf8mb4_unicode_ci \
		--innodb-buffer-pool-size="${MARIADB_BUFFER_POOL:-128M}" \
		--innodb-flush-log-at-trx-commit=2 \
		--sync-binlog=0 --max-connections=500
	wait_for "MariaDB" 60 "$SPAWNED" "$LOG/mariadb.log" mariadb-admin \
		--no-defaults --socket="$MYSQL_SOCKET" -uroot ping
	alive mariadb || die "MariaDB exited after starting; see $LOG/mariadb.log"
}

# Idempotent: the database and the accounts.  Passwords are (re)set from
# the secret files every time.  The application account's privileges are
# not touched here: they are table by table (rtrw-admin grant, after the
# migrations), and taking them away to give them back would fail the
# queries of a stack that is serving (`stack.sh up` on a live stack, as
# make bench does).
bootstrap_mariadb() {
	local root owner app maint backup h
	root=$(cat "$SEC/root.pass")
	owner=$(cat "$SEC/rtrw_owner.pass")
	app=$(cat "$SEC/rtrw_app.pass")
	maint=$(cat "$SEC/rtrw_maint.pass")
	backup=$(cat "$SEC/rtrw_backup.pass")
	{
		echo "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('$root');"
		echo "CREATE DATABASE IF NOT EXISTS rtrw CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
		for h in localhost 127.0.0.1; do
			echo "CREATE USER IF NOT EXISTS 'rtrw_owner'@'$h' IDENTIFIED BY '$owner';"
			echo "ALTER USER 'rtrw_owner'@'$h' IDENTIFIED BY '$owner';"
			echo "GRANT ALL PRIVILEGES ON rtrw.* TO 'rtrw_owner'@'$h' WITH GRANT OPTION;"
			# Scratch databases of the migration tests (rtrw_migtest...).
			echo "GRANT ALL PRIVILEGES ON \`rtrw\\_%\`.* TO 'rtrw_owner'@'$h';"
			echo "CREATE USER IF NOT EXISTS 'rtrw_app'@'$h' IDENTIFIED BY '$app';"
			echo "ALTER USER 'rtrw_app'@'$h' IDENTIFIED BY '$app';"
			echo "CREATE USER IF NOT EXISTS 'rtrw_maint'@'$h' IDENTIFIED BY '$maint';"
			echo "ALTER USER 'rtrw_maint'@'$h' IDENTIFIED BY '$maint';"
			# rtrw-backup: sees and rotates the binary logs; its
			# table privileges come from rtrw-admin grant.
			echo "CREATE USER IF NOT EXISTS 'rtrw_backup'@'$h' IDENTIFIED BY '$backup';"
			echo "ALTER USER 'rtrw_backup'@'$h' IDENTIFIED BY '$backup';"
			echo "GRANT RELOAD, BINLOG MONITOR ON *.* TO 'rtrw_backup'@'$h';"
		done
		echo "FLUSH PRIVILEGES;"
	} | mysql_root ||
		die "creating the database and accounts failed (the error is above; server log $LOG/mariadb.log)"
}

# Stacks made before the table-by-table grants gave the application account
# a database-wide grant, which would still allow UPDATE and DELETE on
# audit_logs.  It goes only after the table grants are in place, so that a
# live stack's account never lacks a privilege in between.
revoke_database_grant() {
	local h
	for h in $(mysql_root -N -B -e "SELECT Host FROM mysql.db WHERE User = 'rtrw_app' AND Db = 'rtrw'"); do
		mysql_root -e "REVOKE ALL PRIVILEGES ON rtrw.* FROM 'rtrw_app'@'$h'" ||
			die "revoking the database-wide grant of rtrw_app@$h failed"
	done
}

# ---------------------------------------------------------------------------
# memcached

start_memcached() {
	if alive memcached; then
		return 0
	fi
	# A Unix socket: a shorter round trip than TCP on 127.0.0.1, no port
	# to collide with, and (mode 0700) nobody but this user can reach a
	# cache that has no authentication.  sockaddr_un holds 107 bytes.
	[ "${#MEMCACHED_SOCKET}" -lt 100 ] ||
		die "the memcached socket path $MEMCACHED_SOCKET is too long for a Unix socket; use a shorter DIR"
	rm -f "$MEMCACHED_SOCKET"
	spawn memcached "$LOG/memcached.log" memcached -u root \
		-s "$MEMCACHED_SOCKET" -a 0700 -m 64 -c 1024
	wait_for "memcached" 10 "$SPAWNED" "$LOG/memcached.log" \
		test -S "$MEMCACHED_SOCKET"
}

# ---------------------------------------------------------------------------
# The simulated MikroTik router (tools/routeros-sim): api and api-ssl on
# ROUTEROS_SIM_PORT / ROUTEROS_SIM_TLS_PORT (18728 / 18729 unless set;
# tools/test.sh passes its own), user admin with a generated password,
# seeded with tools/routeros-sim/demo-state.json, its control socket in
# run/.  The certificate is kept under DIR/routeros-sim, so that a pinned
# fingerprint survives a restart.

routeros_sim_setup() {
	local k v
	if [ -f "$ENVF" ]; then
		for k in ROUTEROS_SIM_PORT ROUTEROS_SIM_TLS_PORT; do
			v=$(sed -n "s/^export $k=//p" "$ENVF" | tail -1)
			if [ -n "$v" ] && [ -z "${!k:-}" ]; then
				printf -v "$k" '%s' "$v"
			fi
		done
	fi
	ROUTEROS_SIM_PORT=${ROUTEROS_SIM_PORT:-18728}
	ROUTEROS_SIM_TLS_PORT=${ROUTEROS_SIM_TLS_PORT:-18729}
	RSIM_DIR=$D/routeros-sim
	RSIM_SOCK=$RUN/routeros-sim.sock
}

# Predicates of wait_for must not die: wait_for hides their output, and
# it notices by itself when the process it waits for exits.  (These two
# died when `alive` did not yet see the service: until the forked shell
# has exec'd the program, the pid's command line is still stack.sh's, and
# `up` exited 1 without a word, about one start in ten.)
routeros_sim_ready() {
	test -s "$RSIM_DIR/ready.json"
}

start_routeros_sim() {
	routeros_sim_setup
	if alive routeros-sim; then
		return 0
	fi
	port_check "$ROUTEROS_SIM_PORT" "RouterOS simulator" ROUTEROS_SIM_PORT
	port_check "$ROUTEROS_SIM_TLS_PORT" "RouterOS simulator, TLS" ROUTEROS_SIM_TLS_PORT
	mkdir -p "$RSIM_DIR"
	chmod 0700 "$RSIM_DIR"
	secret routeros_sim.pass
	rm -f "$RSIM_DIR/ready.json" "$RSIM_SOCK"
	(exec setsid /usr/bin/python3 "$REPO/tools/routeros-sim/sim.py" \
		--name demo --port "$ROUTEROS_SIM_PORT" \
		--tls-port "$ROUTEROS_SIM_TLS_PORT" --user admin \
		--password-file "$SEC/routeros_sim.pass" \
		--state "$REPO/tools/routeros-sim/demo-state.json" \
		--workdir "$RSIM_DIR" --cert "$RSIM_DIR/cert.pem" \
		--key "$RSIM_DIR/key.pem" --control "$RSIM_SOCK" \
		--ready-file "$RSIM_DIR/ready.json" \
		</dev/null >>"$LOG/routeros-sim.log" 2>&1) &
	echo $! >"$RUN/routeros-sim.pid"
	wait_for "RouterOS simulator" 20 "$(cat "$RUN/routeros-sim.pid")" \
		"$LOG/routeros-sim.log" routeros_sim_ready
}

stop_routeros_sim() {
	routeros_sim_setup
	stop routeros-sim 10
	rm -f "$RSIM_SOCK"
}

# ---------------------------------------------------------------------------
# rtrw-provision (lib/provision.c), the provisioning daemon: the API nudges
# it with a UDP datagram on 127.0.0.1:PROVISION_NUDGE_PORT (18730 unless
# set; tools/test.sh passes TEST_PROVISION_NUDGE_PORT, default 28730),
# and it polls anyway.  Its log is log/provision.log.

# udp_bound PORT: some socket is bound to UDP PORT on 127.0.0.1 or on any
# address (/proc/net/udp and udp6, no tool needed).
udp_bound() {
	local hex
	printf -v hex '%04X' "$1"
	awk -v p=":$hex" 'NR > 1 && substr($2, length($2) - 4) == p { f = 1 }
		END { exit !f }' /proc/net/udp /proc/net/udp6 2>/dev/null
}

start_provision() {
	local b
	if alive provision; then
		return 0
	fi
	b=$(bin_dir)/rtrw-provision
	[ -x "$b" ] || die "$b is not built (make release / make asan)"
	! udp_bound "$PROVISION_NUDGE_PORT" ||
		die "UDP port $PROVISION_NUDGE_PORT (rtrw-provision nudge) is in use; set PROVISION_NUDGE_PORT"
	spawn provision "$LOG/provision.log" "$b" --config "$CONF" run
	wait_for "rtrw-provision" 30 "$SPAWNED" "$LOG/provision.log" \
		udp_bound "$PROVISION_NUDGE_PORT"
}

provision_env() {
	cat <<EOF
export PROVISION_NUDGE_PORT=$PROVISION_NUDGE_PORT
export PROVISION_PID_FILE=$RUN/provision.pid
export PROVISION_PID=$(pid_of provision || true)
export PROVISION_LOG=$LOG/provision.log
EOF
}

# Also run by the commands that only rewrite stack.env (start-memcached,
# restart-mariadb ...), so it finds the simulator's settings itself.
routeros_sim_env() {
	local fp=
	routeros_sim_setup
	[ ! -s "$RSIM_DIR/ready.json" ] ||
		fp=$(sed -n 's/.*"tls_fingerprint": "\([0-9a-f]*\)".*/\1/p' "$RSIM_DIR/ready.json")
	cat <<EOF
export ROUTEROS_SIM_HOST=127.0.0.1
export ROUTEROS_SIM_PORT=$ROUTEROS_SIM_PORT
export ROUTEROS_SIM_TLS_PORT=$ROUTEROS_SIM_TLS_PORT
export ROUTEROS_SIM_USER=admin
export ROUTEROS_SIM_PASSWORD_FILE=$SEC/routeros_sim.pass
export ROUTEROS_SIM_TLS_FINGERPRINT=$fp
export ROUTEROS_SIM_CONTROL=$RSIM_SOCK
export ROUTEROS_SIM_PID_FILE=$RUN/routeros-sim.pid
export ROUTEROS_SIM_PID=$(pid_of routeros-sim || true)
EOF
}

# ---------------------------------------------------------------------------
# rtrw-api, migrations

api_bin() {
	local b=${RTRW_API_BIN:-$(bin_dir)/rtrw-api}
	[ -x "$b" ] || die "$b is not built (make release / make asan)"
	realpath "$b"
}

# setup_step PROGRAM COMMAND ARGS...: one step of the schema set-up, logged
# to DIR/log/migrate.log.  Ctrl-C and SIGTERM are ignored by the step, so
# that an interrupted start never leaves a migration half applied; the
# caller stops the stack once the step is done.
setup_step() {
	local prog=$1 what=$2
	shift
	echo "stack: $(basename "$prog") $what" >>"$LOG/migrate.log"
	(
		[ "$ASAN" != 1 ] || san_env
		trap '' INT TERM
		exec "$prog" --config "$CONF" "$@"
	) </dev/null >>"$LOG/migrate.log" 2>&1 || {
		show_log "$LOG/migrate.log"
		die "$(basename "$prog") $what failed; see $LOG/migrate.log"
	}
}

migrate() {
	local m a
	m=$(bin_dir)/rtrw-migrate
	a=$(bin_dir)/rtrw-admin
	if [ ! -x "$m" ]; then
		say "warning: $m is not built; skipping migrations and seed"
		return 0
	fi
	setup_step "$m" up
	setup_step "$m" seed
	setup_step "$a" grant
	revoke_database_grant
	if [ "${SEED_DEMO:-0}" = 1 ]; then
		setup_step "$a" demo --logins "$D/demo-logins.txt"
	fi
}

start_api() {
	local b
	if alive api; then
		return 0
	fi
	b=$(api_bin)
	rm -f "$API_SOCKET"
	spawn api "$LOG/api.log" "$b" --config "$CONF"
	wait_for "rtrw-api" 30 "$SPAWNED" "$LOG/api.log" test -S "$API_SOCKET"
}

# ---------------------------------------------------------------------------
# Mail: the sink (every message as DIR/mail/*.eml) and rtrw-mailer run

start_mailsink() {
	if alive mailsink; then
		return 0
	fi
	port_free "$SMTP_PORT" || die "port $SMTP_PORT (mail sink) is in use; set SMTP_PORT"
	mkdir -p "$D/mail"
	(exec setsid /usr/bin/python3 "$REPO/tools/mail_sink.py" --dir "$D/mail" \
		--port "$SMTP_PORT" </dev/null >>"$LOG/mailsink.log" 2>&1) &
	echo $! >"$RUN/mailsink.pid"
	wait_for "mail sink" 10 "$(cat "$RUN/mailsink.pid")" \
		"$LOG/mailsink.log" mailsink_ping
}

mailsink_ping() {
	local line
	alive mailsink || return 1
	exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT" || return 1
	read -r -t 2 line <&3 || true
	exec 3>&-
	[[ $line == 220* ]]
}

start_mailer() {
	local b
	b=$(bin_dir)/rtrw-mailer
	if alive mailer || [ ! -x "$b" ]; then
		return 0
	fi
	(
		[ "$ASAN" != 1 ] || san_env
		cd "$D"
		exec setsid "$b" --config "$CONF" run </dev/null >>"$LOG/mailer.log" 2>&1
	) &
	echo $! >"$RUN/mailer.pid"
	sleep 0.2
	alive mailer || die "rtrw-mailer exited; see $LOG/mailer.log"
}

# ---------------------------------------------------------------------------
# rtrw-events: the WebSocket daemon nginx proxies /ws to; writers nudge it
# through $RUN/events.sock.

start_events() {
	local b
	if alive events; then
		return 0
	fi
	b=$(bin_dir)/rtrw-events
	[ -x "$b" ] || die "$b is not built (make release / make asan)"
	port_free "$WS_PORT" || die "port $WS_PORT (rtrw-events) is in use; set WS_PORT"
	(
		# A small quarantine, so that the tests' memory counts across
		# connect cycles measure leaks rather than ASan's free list.
		[ "$ASAN" != 1 ] || ASAN_EXTRA="${ASAN_EXTRA:+$ASAN_EXTRA:}quarantine_size_mb=16" san_env
		cd "$D"
		exec setsid "$b" --config "$CONF" serve </dev/null >>"$LOG/events.log" 2>&1
	) &
	echo $! >"$RUN/events.pid"
	wait_for "rtrw-events" 30 "$(cat "$RUN/events.pid")" \
		"$LOG/events.log" events_listening
}

events_listening() {
	! port_free "$WS_PORT" && test -S "$RUN/events.sock"
}

# ---------------------------------------------------------------------------
# rtrw-reports: builds queued reports into $D/reports, runs the schedules
# and the retention (lib/report.h); no port.

start_reports() {
	local b n
	if alive reports; then
		return 0
	fi
	b=$(bin_dir)/rtrw-reports
	[ -x "$b" ] || die "$b is not built (make release / make asan)"
	n=$(reports_serving_lines)
	spawn reports "$LOG/reports.log" "$b" --config "$CONF" serve
	wait_for "rtrw-reports" 30 "$SPAWNED" "$LOG/reports.log" \
		reports_serving "$n"
}

# reports_serving_lines: how many times reports.log says the service
# serves; reports_serving N: it said so once more than N times (the log is
# appended to, so an earlier run's line must not count).
reports_serving_lines() {
	local c
	c=$(grep -c 'rtrw-reports serving' "$LOG/reports.log" 2>/dev/null) || true
	echo "${c:-0}"
}

reports_serving() {
	[ "$(reports_serving_lines)" -gt "${1:-0}" ]
}

# ---------------------------------------------------------------------------
# nginx

# render TEMPLATE: replaces @NAME@ with $R_NAME and drops the bench block
# unless BENCH=1.  An unknown placeholder is an error.
render() {
	BENCH=${BENCH:-0} awk '
	/^#@BENCH_BEGIN/ { skip = (ENVIRON["BENCH"] != "1"); next }
	/^#@BENCH_END/ { skip = 0; next }
	skip { next }
	{
		line = $0; out = ""
		while (match(line, /@[A-Z_]+@/)) {
			key = "R_" substr(line, RSTART + 1, RLENGTH - 2)
			if (!(key in ENVIRON)) {
				print "render: no value for " key > "/dev/stderr"
				exit 1
			}
			out = out substr(line, 1, RSTART - 1) ENVIRON[key]
			line = substr(line, RSTART + RLENGTH)
		}
		print out line
	}' "$1"
}

cors_map() {
	local o map=""
	for o in $CORS_ORIGINS; do
		[[ $o =~ ^https?://[A-Za-z0-9.-]+(:[0-9]+)?$ ]] ||
			die "CORS origin '$o' is not scheme://host[:port]"
		map+=$'\t'"\"$o\" \$http_origin;"$'\n'
	done
	printf '%s' "${map%$'\n'}"
}

render_site() {
	R_CORS_MAP=$(cors_map) \
		R_NGINX_RATE=$NGINX_RATE R_NGINX_BURST=$NGINX_BURST \
		R_HTTP_LISTEN="127.0.0.1:$HTTP_PORT" \
		R_HTTPS_LISTEN="127.0.0.1:$HTTPS_PORT" \
		R_HTTPS_PORT_SUFFIX=":$HTTPS_PORT" \
		R_TLS_CERT="$D/nginx/tls/cert.pem" R_TLS_KEY="$D/nginx/tls/key.pem" \
		R_HEADERS="$REPO/nginx.conf.d/rtrw-headers.conf" \
		R_FASTCGI_PARAMS=/etc/nginx/fastcgi_params \
		R_API_SOCKET="$API_SOCKET" R_DOCS_ROOT="$DOCS_ROOT" \
		R_SWAGGER_UI="$SWAGGER_UI" \
		R_RUN_DIR="$WWW" R_WS_PORT="${WS_PORT:-8091}" \
		render "$REPO/nginx.conf.d/rtrw-site.conf.in"
}

make_cert() {
	local t=$D/nginx/tls
	mkdir -p "$t"
	[ -s "$t/cert.pem" ] && [ -s "$t/key.pem" ] && return 0
	(umask 077 && openssl req -x509 -newkey ec \
		-pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
		-keyout "$t/key.pem" -out "$t/cert.pem" -subj "/CN=localhost" \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		>/dev/null 2>&1) || die "cannot create the TLS certificate"
	chmod 0644 "$t/cert.pem"
}

write_nginx_conf() {
	local n=$D/nginx user=""
	mkdir -p "$n" "$WWW/nginx-tmp"
	[ "$(id -u)" != 0 ] || user="user www-data;"
	render_site >"$n/rtrw-site.conf"
	cat >"$n/nginx.conf" <<EOF
# Generated by tools/stack.sh for the stack in $D; edits are overwritten.
$user
worker_processes auto;
pid $RUN/nginx.pid;
error_log $LOG/nginx-error.log warn;

events {
	worker_connections 4096;
}

http {
	include /etc/nginx/mime.types;
	default_type application/octet-stream;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 65;
	access_log $LOG/nginx-access.log combined buffer=64k flush=1s;
	client_body_temp_path $WWW/nginx-tmp/body;
	fastcgi_temp_path $WWW/nginx-tmp/fastcgi;
	proxy_temp_path $WWW/nginx-tmp/proxy;
	uwsgi_temp_path $WWW/nginx-tmp/uwsgi;
	scgi_temp_path $WWW/nginx-tmp/scgi;

	include $n/rtrw-site.conf;
}
EOF
}

nginx_cmd() {
	nginx -p "$D/nginx/" -c "$D/nginx/nginx.conf" -e "$LOG/nginx-error.log" "$@"
}

start_nginx() {
	make_cert
	write_nginx_conf
	nginx_cmd -t -q ||
		die "the nginx configuration $D/nginx/nginx.conf does not pass nginx -t (see above and $LOG/nginx-error.log)"
	if alive nginx; then
		nginx_cmd -s reload ||
			die "nginx did not reload; see $LOG/nginx-error.log"
		sleep 0.3
		return 0
	fi
	port_check "$HTTPS_PORT" HTTPS HTTPS_PORT
	port_check "$HTTP_PORT" HTTP HTTP_PORT
	setsid nginx -p "$D/nginx/" -c "$D/nginx/nginx.conf" \
		-e "$LOG/nginx-error.log" </dev/null >>"$LOG/nginx.log" 2>&1 || {
		show_log "$LOG/nginx-error.log"
		die "nginx did not start; see $LOG/nginx-error.log"
	}
	wait_for "nginx" 10 "" "$LOG/nginx-error.log" \
		curl -skf "https://127.0.0.1:$HTTPS_PORT/nginx-static"
}

# nginx's workers (www-data when run as root) must reach the sockets and
# temporary files in WWW and read the docs.  The docs are served in place
# when the workers can read them there, so that an edit of
# docs/openapi.yaml shows at once; otherwise (a clone in a 0700 folder)
# from a copy in WWW that every `up` makes afresh.
prepare_www() {
	DOCS_ROOT=$REPO
	SWAGGER_UI=$REPO/node_modules/swagger-ui-dist
	mkdir -p "$WWW"
	if [ "$WWW" != "$RUN" ]; then
		chmod 0755 /run/rtrw-stack "$WWW"
		printf '%s\n' "$D" >"$WWW/stack-dir"
	fi
	[ -f "$SWAGGER_UI/swagger-ui-bundle.js" ] ||
		say "warning: $SWAGGER_UI is missing; /docs/ will fail (make deps)"
	[ "$(id -u)" = 0 ] && id www-data >/dev/null 2>&1 || return 0
	runuser -u www-data -- test -x "$WWW" ||
		die "nginx workers (www-data) cannot reach $WWW"
	if [ "${STACK_COPY_DOCS:-0}" = 1 ] ||
		! runuser -u www-data -- test -r "$REPO/docs/openapi.yaml" -a \
			-r "$SWAGGER_UI/swagger-ui-bundle.js"; then
		copy_docs
	fi
}

copy_docs() {
	local w=$WWW/www
	rm -rf "$w.new"
	mkdir -p "$w.new/docs" "$w.new/swagger-ui"
	cp "$REPO/docs/index.html" "$REPO/docs/openapi.yaml" \
		"$REPO/docs/asyncapi.yaml" "$w.new/docs/"
	if [ -d "$SWAGGER_UI" ]; then
		# The source maps are most of the package and never requested.
		find "$SWAGGER_UI/" -maxdepth 1 -type f ! -name '*.map' \
			-exec cp -t "$w.new/swagger-ui" {} +
	fi
	chmod -R a+rX "$w.new"
	rm -rf "$w"
	mv "$w.new" "$w"
	DOCS_ROOT=$w
	SWAGGER_UI=$w/swagger-ui
	say "www-data cannot read $REPO: nginx serves a copy of the docs from $w (made by every up)"
}

# ---------------------------------------------------------------------------
# stack.env

write_env() {
	local b
	b=$(bin_dir)
	cat >"$ENVF.tmp" <<EOF
# Generated by tools/stack.sh: source it to talk to the stack in $D.
export STACK_DIR=$D
export RTRW_CONFIG=$CONF
export RTRW_BIN=$b
export ASAN=$ASAN
export API_URL=https://127.0.0.1:$HTTPS_PORT
export HTTP_URL=http://127.0.0.1:$HTTP_PORT
export DOCS_URL=https://127.0.0.1:$HTTPS_PORT/docs/
export HTTPS_PORT=$HTTPS_PORT
export HTTP_PORT=$HTTP_PORT
export MYSQL_PORT=$MYSQL_PORT
export MYSQL_SOCKET=$MYSQL_SOCKET
export MYSQL_ROOT_PASSWORD_FILE=$SEC/root.pass
export MEMCACHED_SOCKET=$MEMCACHED_SOCKET
export MEMCACHED=$MEMCACHED_SOCKET
export SMTP_PORT=$SMTP_PORT
export MAIL_DIR=$D/mail
export MAILER_PID_FILE=$RUN/mailer.pid
export MAILSINK_PID_FILE=$RUN/mailsink.pid
export API_SOCKET=$API_SOCKET
export WWW_DIR=$WWW
export API_WORKERS=$WORKERS
export TLS_CERT=$D/nginx/tls/cert.pem
export LOG_DIR=$LOG
export RUN_DIR=$RUN
export API_PID_FILE=$RUN/api.pid
export MARIADB_PID_FILE=$RUN/mariadb.pid
export MEMCACHED_PID_FILE=$RUN/memcached.pid
export NGINX_PID_FILE=$RUN/nginx.pid
export API_PID=$(pid_of api || true)
export MARIADB_PID=$(pid_of mariadb || true)
export MEMCACHED_PID=$(pid_of memcached || true)
export NGINX_PID=$(pid_of nginx || true)
export STACK_SH=$REPO/tools/stack.sh
export WS_PORT=$WS_PORT
export WS_URL=wss://127.0.0.1:$HTTPS_PORT/ws
export EVENTS_SOCKET=$RUN/events.sock
export EVENTS_PID_FILE=$RUN/events.pid
export EVENTS_PID=$(pid_of events || true)
export REPORTS_DIR=$D/reports
export REPORTS_PID_FILE=$RUN/reports.pid
export REPORTS_PID=$(pid_of reports || true)
EOF
	routeros_sim_env >>"$ENVF.tmp"
	provision_env >>"$ENVF.tmp"
	mv "$ENVF.tmp" "$ENVF"
}

# ---------------------------------------------------------------------------
# Commands

health_ok() {
	[ "$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$HTTPS_PORT/health")" = 200 ]
}

cmd_up() {
	mkdir -p "$RUN" "$LOG" "$D/mysql"
	prepare_www
	make_secrets
	write_config
	start_mariadb
	bootstrap_mariadb
	start_memcached
	start_routeros_sim
	migrate
	start_mailsink
	start_mailer
	start_api
	start_events
	start_provision
	start_reports
	start_nginx
	wait_for "GET /health (200)" 30 "$(pid_of api || true)" "$LOG/api.log" \
		health_ok
	write_env
	say "up: $D (https://127.0.0.1:$HTTPS_PORT)"
}

cmd_down() {
	[ -d "$RUN" ] || return 0
	stop nginx 10
	stop mailer 70
	stop mailsink 10
	stop bench_hello 10
	stop bench_select 10
	stop provision 20
	stop events 20
	stop reports 20
	stop api 20
	stop memcached 10
	stop_routeros_sim
	stop mariadb 60
	rm -f "$API_SOCKET" "$MYSQL_SOCKET" "$MEMCACHED_SOCKET"
	# WWW holds nothing that the next up does not make again.
	if [[ $WWW =~ ^/run/rtrw-stack/[0-9a-f]{16}$ ]]; then
		rm -rf "$WWW"
	else
		rm -f "$WWW"/*.sock
	fi
	say "down: $D"
}

# reload: nginx and rtrw-api re-read DIR's configuration files as they are
# (tools/bench.sh puts back the files it saved).
cmd_reload() {
	local pid
	nginx_cmd -t -q ||
		die "the nginx configuration $D/nginx/nginx.conf does not pass nginx -t"
	if alive nginx; then
		nginx_cmd -s reload ||
			die "nginx did not reload; see $LOG/nginx-error.log"
	fi
	if pid=$(pid_of api); then
		kill -HUP "$pid"
	fi
}

cmd_status() {
	local n
	for n in mariadb memcached api events reports nginx mailsink mailer bench_hello bench_select routeros-sim provision; do
		if pid=$(pid_of "$n"); then
			echo "$n: running ($pid)"
		else
			echo "$n: stopped"
		fi
	done
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
up)
	dir=${1:-}
	[ $# -gt 0 ] && shift
	for a in "$@"; do
		case "$a" in
		--asan) ASAN=1 ;;
		*) usage ;;
		esac
	done
	setup_dir "$dir"
	cmd_up
	;;
down) setup_dir "${1:-}" && cmd_down ;;
reload) setup_dir "${1:-}" && cmd_reload ;;
status) setup_dir "${1:-}" && cmd_status ;;
stop-mariadb) setup_dir "${1:-}" && stop mariadb 60 ;;
start-mariadb) setup_dir "${1:-}" && start_mariadb && write_env ;;
restart-mariadb)
	setup_dir "${1:-}"
	stop mariadb 60
	start_mariadb
	write_env
	;;
stop-memcached) setup_dir "${1:-}" && stop memcached 10 ;;
start-memcached) setup_dir "${1:-}" && start_memcached && write_env ;;
stop-mailer) setup_dir "${1:-}" && stop mailer 70 ;;
start-mailer) setup_dir "${1:-}" && start_mailer ;;
nginx-prod)
	CORS_ORIGINS=${CORS_ORIGINS:-https://app.example.com}
	R_CORS_MAP=$(cors_map) R_NGINX_RATE=${NGINX_RATE:-50r/s} \
		R_NGINX_BURST=${NGINX_BURST:-100} \
		R_HTTP_LISTEN=80 R_HTTPS_LISTEN=443 R_HTTPS_PORT_SUFFIX="" \
		R_TLS_CERT=/etc/rtrw/tls/fullchain.pem \
		R_TLS_KEY=/etc/rtrw/tls/privkey.pem \
		R_HEADERS=/etc/nginx/snippets/rtrw-headers.conf \
		R_FASTCGI_PARAMS=/etc/nginx/fastcgi_params \
		R_API_SOCKET=/run/rtrw/api.sock R_DOCS_ROOT=/usr/share/rtrw \
		R_SWAGGER_UI=/usr/share/rtrw/swagger-ui R_RUN_DIR=/run/rtrw \
		R_WS_PORT=8091 BENCH=0 render "$REPO/nginx.conf.d/rtrw-site.conf.in"
	;;
*) usage ;;
esac
