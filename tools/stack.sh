#!/usr/bin/env bash
# The local stack: MariaDB, memcached, rtrw-api and nginx, all under one
# directory, owned by this script and by nobody else.
#
#   tools/stack.sh up DIR [--asan]    start what is not running, wait, write DIR/stack.env
#   tools/stack.sh down DIR           stop everything started from DIR's pid files
#   tools/stack.sh status DIR         say what runs
#   tools/stack.sh restart-mariadb DIR | stop-mariadb DIR | start-mariadb DIR
#   tools/stack.sh stop-memcached DIR | start-memcached DIR
#   tools/stack.sh nginx-prod         print the production nginx site (nginx.conf.d/rtrw.conf)
#
# Environment (defaults are the `make run` stack; tools/test.sh passes its own):
#   HTTPS_PORT=8443 HTTP_PORT=8080 MYSQL_PORT=13306 MEMCACHED_PORT=11311
#   WS_PORT=8091              rtrw-events (WebSocket daemon, loopback, behind /ws)
#   WORKERS=$(nproc)          rtrw-api worker processes
#   CORS_ORIGINS="http://localhost:3000"   space separated allowed origins
#   NGINX_RATE=50r/s NGINX_BURST=100       coarse per-IP limit in nginx
#   SEED_DEMO=1               also create the demo tenant and users (rtrw-admin demo)
#   EXTRA_CONF="k = v\n..."  lines appended to rtrw.conf (tests lower limits)
#   BENCH=1                   add the /bench/* locations to nginx
#   RTRW_API_BIN=PATH         run another FastCGI program instead of rtrw-api
#                             (e.g. build/rel/bin/bench_hello while developing)
#
# Every service is started with setsid in its own session, so a Ctrl-C in
# the terminal reaches only the calling script, whose trap runs `down`.
# The ports of a stack are kept in DIR/stack.env; later commands on the
# same DIR reuse them.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() {
	echo "stack: $*" >&2
	exit 1
}
say() {
	echo "stack: $*" >&2
}

usage() {
	sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
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
	API_SOCKET=$RUN/api.sock
	# A stack that exists keeps its ports unless the caller names new ones.
	if [ -f "$ENVF" ]; then
		local k v
		for k in HTTPS_PORT HTTP_PORT MYSQL_PORT MEMCACHED_PORT WS_PORT ASAN; do
			v=$(sed -n "s/^export $k=//p" "$ENVF" | tail -1)
			if [ -n "$v" ] && [ -z "${!k:-}" ]; then
				printf -v "$k" '%s' "$v"
			fi
		done
	fi
	HTTPS_PORT=${HTTPS_PORT:-8443}
	HTTP_PORT=${HTTP_PORT:-8080}
	MYSQL_PORT=${MYSQL_PORT:-13306}
	MEMCACHED_PORT=${MEMCACHED_PORT:-11311}
	WS_PORT=${WS_PORT:-8091}
	WORKERS=${WORKERS:-$(nproc)}
	CORS_ORIGINS=${CORS_ORIGINS:-http://localhost:3000}
	NGINX_RATE=${NGINX_RATE:-50r/s}
	NGINX_BURST=${NGINX_BURST:-100}
	ASAN=${ASAN:-0}
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

pid_of() {
	local f=$RUN/$1.pid pid
	[ -f "$f" ] || return 1
	pid=$(tr -dc 0-9 <"$f")
	[ -n "$pid" ] || return 1
	[ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$D" || return 1
	running "$pid" || return 1
	echo "$pid"
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
stop() {
	local name=$1 timeout=${2:-15} pid i
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

# wait_for WHAT SECONDS COMMAND...: polls COMMAND every 0.1 s.
wait_for() {
	local what=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	die "$what is not ready after ${secs}s (logs in $LOG)"
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
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
memcached = 127.0.0.1:$MEMCACHED_PORT
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
events_listen = 127.0.0.1:$WS_PORT
events_socket = $RUN/events.sock
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
	port_free "$MYSQL_PORT" || die "port $MYSQL_PORT (MariaDB) is in use; set MYSQL_PORT"
	if [ ! -d "$D/mysql/mysql" ]; then
		say "initialising MariaDB in $D/mysql"
		mariadb-install-db --no-defaults --user=root --datadir="$D/mysql" \
			--auth-root-authentication-method=socket --skip-test-db \
			>"$LOG/mariadb-install.log" 2>&1 ||
			die "mariadb-install-db failed; see $LOG/mariadb-install.log"
	fi
	rm -f "$MYSQL_SOCKET"
	(exec setsid mariadbd --no-defaults --user=root \
		--datadir="$D/mysql" --socket="$MYSQL_SOCKET" \
		--port="$MYSQL_PORT" --bind-address=127.0.0.1 \
		--log-bin="$D/mysql-bin" --server-id=1 --binlog-format=ROW \
		--pid-file="$RUN/mariadb.pid" --log-error="$LOG/mariadb.log" \
		--log-bin-trust-function-creators=1 --expire-logs-days=2 \
		--skip-name-resolve --character-set-server=utf8mb4 \
		--collation-server=utf8mb4_unicode_ci \
		--innodb-buffer-pool-size=128M --innodb-flush-log-at-trx-commit=2 \
		--sync-binlog=0 --max-connections=500 \
		</dev/null >>"$LOG/mariadb.log" 2>&1) &
	echo $! >"$RUN/mariadb.pid"
	wait_for "MariaDB" 60 mariadb-admin --no-defaults \
		--socket="$MYSQL_SOCKET" -uroot ping
	alive mariadb || die "MariaDB exited; see $LOG/mariadb.log"
}

# Idempotent: the database, the two accounts and their grants.  Passwords
# are (re)set from the secret files every time.
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
			# Table by table (rtrw-admin grant after migrating): a
			# database-wide grant could not leave out UPDATE and
			# DELETE on audit_logs.
			echo "REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'rtrw_app'@'$h';"
			echo "CREATE USER IF NOT EXISTS 'rtrw_maint'@'$h' IDENTIFIED BY '$maint';"
			echo "ALTER USER 'rtrw_maint'@'$h' IDENTIFIED BY '$maint';"
			# rtrw-backup: sees and rotates the binary logs; its
			# table privileges come from rtrw-admin grant.
			echo "CREATE USER IF NOT EXISTS 'rtrw_backup'@'$h' IDENTIFIED BY '$backup';"
			echo "ALTER USER 'rtrw_backup'@'$h' IDENTIFIED BY '$backup';"
			echo "GRANT RELOAD, BINLOG MONITOR ON *.* TO 'rtrw_backup'@'$h';"
		done
		echo "FLUSH PRIVILEGES;"
	} | mysql_root || die "MariaDB bootstrap failed"
}

# ---------------------------------------------------------------------------
# memcached

start_memcached() {
	if alive memcached; then
		return 0
	fi
	port_free "$MEMCACHED_PORT" || die "port $MEMCACHED_PORT (memcached) is in use; set MEMCACHED_PORT"
	(exec setsid memcached -u root -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 \
		-m 64 -c 1024 -P "$RUN/memcached.pid" \
		</dev/null >>"$LOG/memcached.log" 2>&1) &
	echo $! >"$RUN/memcached.pid"
	wait_for "memcached" 10 memcached_ping
}

memcached_ping() {
	local line
	exec 3<>"/dev/tcp/127.0.0.1/$MEMCACHED_PORT" || return 1
	printf 'version\r\n' >&3
	read -r -t 2 line <&3 || true
	exec 3>&-
	[[ $line == VERSION* ]]
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

routeros_sim_ready() {
	if ! alive routeros-sim; then
		tail -5 "$LOG/routeros-sim.log" >&2
		die "the RouterOS simulator exited; see $LOG/routeros-sim.log"
	fi
	test -s "$RSIM_DIR/ready.json"
}

start_routeros_sim() {
	routeros_sim_setup
	if alive routeros-sim; then
		return 0
	fi
	port_free "$ROUTEROS_SIM_PORT" || die "port $ROUTEROS_SIM_PORT (RouterOS simulator) is in use; set ROUTEROS_SIM_PORT"
	port_free "$ROUTEROS_SIM_TLS_PORT" || die "port $ROUTEROS_SIM_TLS_PORT (RouterOS simulator, TLS) is in use; set ROUTEROS_SIM_TLS_PORT"
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
	wait_for "RouterOS simulator" 20 routeros_sim_ready
}

stop_routeros_sim() {
	routeros_sim_setup
	stop routeros-sim 10
	rm -f "$RSIM_SOCK"
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

migrate() {
	local m
	m=$(bin_dir)/rtrw-migrate
	if [ ! -x "$m" ]; then
		say "warning: $m is not built; skipping migrations and seed"
		return 0
	fi
	(
		[ "$ASAN" != 1 ] || san_env
		"$m" --config "$CONF" up
		"$m" --config "$CONF" seed
		"$(bin_dir)/rtrw-admin" --config "$CONF" grant
		if [ "${SEED_DEMO:-0}" = 1 ]; then
			"$(bin_dir)/rtrw-admin" --config "$CONF" demo \
				--logins "$D/demo-logins.txt"
		fi
	) >>"$LOG/migrate.log" 2>&1 || {
		tail -20 "$LOG/migrate.log" >&2
		die "rtrw-migrate failed; see $LOG/migrate.log"
	}
}

start_api() {
	local b
	if alive api; then
		return 0
	fi
	b=$(api_bin)
	rm -f "$API_SOCKET"
	(
		[ "$ASAN" != 1 ] || san_env
		cd "$D"
		exec setsid "$b" --config "$CONF" </dev/null >>"$LOG/api.log" 2>&1
	) &
	echo $! >"$RUN/api.pid"
	wait_for "rtrw-api socket" 30 api_listening
}

api_listening() {
	if ! alive api; then
		tail -5 "$LOG/api.log" >&2
		die "rtrw-api exited; see $LOG/api.log"
	fi
	test -S "$API_SOCKET"
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
	wait_for "rtrw-events" 30 events_listening
}

events_listening() {
	if ! alive events; then
		tail -5 "$LOG/events.log" >&2
		die "rtrw-events exited; see $LOG/events.log"
	fi
	! port_free "$WS_PORT" && test -S "$RUN/events.sock"
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
		R_API_SOCKET="$API_SOCKET" R_DOCS_ROOT="$REPO" \
		R_SWAGGER_UI="$REPO/node_modules/swagger-ui-dist" \
		R_RUN_DIR="$RUN" R_WS_PORT="$WS_PORT" \
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
	mkdir -p "$n/tmp"
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
	client_body_temp_path $n/tmp/body;
	fastcgi_temp_path $n/tmp/fastcgi;
	proxy_temp_path $n/tmp/proxy;
	uwsgi_temp_path $n/tmp/uwsgi;
	scgi_temp_path $n/tmp/scgi;

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
	nginx_cmd -t -q || die "nginx configuration test failed"
	if alive nginx; then
		nginx_cmd -s reload
		sleep 0.3
		return 0
	fi
	port_free "$HTTPS_PORT" || die "port $HTTPS_PORT (HTTPS) is in use; set HTTPS_PORT"
	port_free "$HTTP_PORT" || die "port $HTTP_PORT (HTTP) is in use; set HTTP_PORT"
	setsid nginx -p "$D/nginx/" -c "$D/nginx/nginx.conf" \
		-e "$LOG/nginx-error.log" </dev/null >>"$LOG/nginx.log" 2>&1 ||
		die "nginx did not start; see $LOG/nginx-error.log"
	wait_for "nginx" 10 curl -skf "https://127.0.0.1:$HTTPS_PORT/nginx-static"
}

# nginx's workers run as www-data: they must reach the API socket and read
# the docs.
check_access() {
	local p=$D
	chmod 0755 "$D" "$RUN"
	while [ "$p" != / ]; do
		p=$(dirname "$p")
		[ -x "$p" ] && stat -c %A "$p" | grep -q '^.........[xt]$' ||
			die "$p is not traversable by others; nginx workers (www-data) cannot reach $RUN (chmod o+x $p)"
	done
	if [ "$(id -u)" = 0 ] && id www-data >/dev/null 2>&1; then
		runuser -u www-data -- test -r "$REPO/node_modules/swagger-ui-dist/swagger-ui-bundle.js" ||
			say "warning: www-data cannot read node_modules/swagger-ui-dist; /docs/ will fail (make deps)"
	fi
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
export MEMCACHED_PORT=$MEMCACHED_PORT
export MEMCACHED=127.0.0.1:$MEMCACHED_PORT
export API_SOCKET=$API_SOCKET
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
EOF
	routeros_sim_env >>"$ENVF.tmp"
	mv "$ENVF.tmp" "$ENVF"
}

# ---------------------------------------------------------------------------
# Commands

health_ok() {
	[ "$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$HTTPS_PORT/health")" = 200 ]
}

cmd_up() {
	mkdir -p "$RUN" "$LOG" "$D/mysql"
	check_access
	make_secrets
	write_config
	start_mariadb
	bootstrap_mariadb
	start_memcached
	start_routeros_sim
	migrate
	start_api
	start_events
	start_nginx
	wait_for "GET /health" 30 health_ok
	write_env
	say "up: $D (https://127.0.0.1:$HTTPS_PORT)"
}

cmd_down() {
	[ -d "$RUN" ] || return 0
	stop nginx 10
	stop bench_hello 10
	stop bench_select 10
	stop events 20
	stop api 20
	stop memcached 10
	stop_routeros_sim
	stop mariadb 60
	rm -f "$API_SOCKET" "$MYSQL_SOCKET"
	say "down: $D"
}

cmd_status() {
	local n
	for n in mariadb memcached api events nginx bench_hello bench_select routeros-sim; do
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
