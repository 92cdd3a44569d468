#!/bin/sh
# Starts or stops a throwaway PostgreSQL 15 for tests.
#
#   tools/pg.sh up DIR PORT    initdb DIR/data, listen on the unix socket
#                              DIR/.s.PGSQL.PORT only, create database rtrw
#   tools/pg.sh down DIR       stop it (the files stay; rm -rf DIR after)
#
# PostgreSQL refuses to run as root, so when run as root the server runs
# as the postgres user and DIR is handed to it.  Connect with
#   psql -h DIR -p PORT -U postgres rtrw
# or the libpq conninfo "host=DIR port=PORT user=postgres dbname=rtrw".
set -eu

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

usage() {
	echo "usage: tools/pg.sh up DIR PORT | down DIR" >&2
	exit 2
}

# Runs a command as the postgres user when we are root.
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2

case $cmd in
up)
	[ $# -eq 3 ] || usage
	port=$3
	case $port in
	'' | *[!0-9]*) echo "pg.sh: bad port '$port'" >&2; exit 2 ;;
	esac
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if [ "$(id -u)" = 0 ]; then
		chown postgres "$dir"
		# The server must be able to reach DIR through its parents.
		chmod 0755 "$dir"
		if ! runuser -u postgres -- test -w "$dir"; then
			echo "pg.sh: user postgres cannot reach '$dir';" \
				"make its parent directories searchable" >&2
			exit 1
		fi
	fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_pg "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres \
			-E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
			echo "pg.sh: initdb failed, see $dir/initdb.log" >&2
			exit 1
		}
	fi
	as_pg "$PGBIN/pg_ctl" -D "$dir/data" \
		-o "-p $port -k $dir -c listen_addresses=''" \
		-l "$dir/pg.log" start -w >/dev/null || {
		echo "pg.sh: postgres did not start, see $dir/pg.log" >&2
		exit 1
	}
	if ! as_pg "$PGBIN/psql" -h "$dir" -p "$port" -U postgres -d postgres \
		-tAc "SELECT 1 FROM pg_database WHERE datname = 'rtrw'" |
		grep -q 1; then
		as_pg "$PGBIN/createdb" -h "$dir" -p "$port" -U postgres rtrw
	fi
	echo "postgres running: host=$dir port=$port user=postgres dbname=rtrw"
	;;
down)
	[ $# -eq 2 ] || usage
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$dir/data" stop -m fast -w >/dev/null
	fi
	;;
*)
	usage
	;;
esac
