#!/usr/bin/env bash
# The README's two commands as a new user meets them, on a machine that has
# none of the project's packages (issue 14).  Not part of `make test`: it
# changes the machine's packages.
#
#   tools/fresh-check.sh --purge [--source REPO] [--keep]
#       on this machine: purges the project's -dev packages (libmariadb-dev,
#       libcjson-dev, libjwt-dev, libmemcached-dev, libargon2-dev,
#       libfcgi-dev, check) and the checkout's node_modules/, then checks.
#       Everything else on the machine that needs those packages breaks
#       until the check's own `make run` has installed them again.
#
#   tools/fresh-check.sh --chroot [DIR] [--source REPO] [--keep]
#       the same check inside a fresh Debian 12 root (debootstrap
#       --variant=minbase bookworm, made once under DIR, default
#       /var/tmp/rtrw-fresh, and copied afresh for every run), with /proc,
#       /sys and /dev bind-mounted, this machine's DNS settings and local CA
#       certificates; nothing on this machine changes but DIR.
#
# The check: clone REPO (default: the repository this script is in, its
# committed HEAD) into a mktemp -d folder (mode 0700, like /root), run
# `make run` there in the background until GET /health answers 200 over
# HTTPS (at most FRESH_RUN_MINUTES, 15), stop it with SIGTERM, check that
# no process of that stack is left (none naming the clone or running in it,
# none left in make's session), then run `make test` in a second fresh clone
# and report both.  Exit status 0 only when both passed.  Logs stay in the
# work folder on failure (or with --keep).
#
# Before the check it installs what it needs itself and what a new user
# installs before the README's commands: git, make, curl, ca-certificates.
#
# Ports come from the environment as for make run and make test
# (HTTPS_PORT, HTTP_PORT, MYSQL_PORT; TEST_HTTPS_PORT, TEST_HTTP_PORT,
# TEST_MYSQL_PORT, TEST_LIFECYCLE_*): a chroot shares this machine's
# network, so give it ports nobody else uses.
set -Eeuo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/.." && pwd)
MODE=
CHROOT_DIR=/var/tmp/rtrw-fresh
SOURCE=
KEEP=0
MIRROR=${FRESH_MIRROR:-http://deb.debian.org/debian}
RUN_MINUTES=${FRESH_RUN_MINUTES:-15}
PURGE_PACKAGES=(libmariadb-dev libcjson-dev libjwt-dev libmemcached-dev
	libargon2-dev libfcgi-dev check)
PREREQUISITES=(git make curl ca-certificates)

say() {
	echo "fresh-check: $*" >&2
}
die() {
	say "$*"
	exit 1
}
usage() {
	sed -n '2,/^set /p' "$SELF" | sed -n 's/^# \{0,1\}//p' >&2
	exit 2
}
trap 'say "failed at line $LINENO: $BASH_COMMAND (exit $?)"' ERR

while [ $# -gt 0 ]; do
	case "$1" in
	--purge) MODE=purge ;;
	--chroot)
		MODE=chroot
		if [ $# -gt 1 ] && [[ $2 != --* ]]; then
			CHROOT_DIR=$2
			shift
		fi
		;;
	--source)
		[ $# -gt 1 ] || usage
		SOURCE=$2
		shift
		;;
	--keep) KEEP=1 ;;
	*) usage ;;
	esac
	shift
done
[ -n "$MODE" ] || usage
[ "$(id -u)" = 0 ] || die "run it as root (it installs and removes packages)"
SOURCE=${SOURCE:-$REPO}

apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		-o DPkg::Lock::Timeout=600 --no-install-recommends "$@"
}

# ---------------------------------------------------------------------------
# The check itself, on whatever machine it runs.

# leftovers DIR SID: processes that name DIR, run inside it, or are still
# in session SID (make's, which holds run.sh and whatever it forked).
leftovers() {
	local dir=$1 sid=$2 p cmd cwd st
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" != $$ ] || continue
		cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
		cwd=$(readlink "$p/cwd" 2>/dev/null) || cwd=
		st=$(sed 's/^.*) //' "$p/stat" 2>/dev/null) || continue
		# Fields after the command name: state ppid pgrp session ...
		read -r state _ _ session _ <<<"$st"
		[ "$state" != Z ] || continue
		if [[ $cmd == *"$dir"* || $cwd == "$dir"* || $session == "$sid" ]]; then
			echo "${p#/proc/} ${cmd:0:160} (in ${cwd:-?})"
		fi
	done
}

health_code() {
	curl -sk -o /dev/null -w '%{http_code}' --max-time 5 \
		"https://127.0.0.1:${HTTPS_PORT:-8443}/health" 2>/dev/null || true
}

check_run() {
	local clone=$WORK/run t0 pid code="" left secs rc=0
	git clone -q "$SOURCE" "$clone"
	say "make run in $clone (mode $(stat -c %a "$WORK") folder), at most ${RUN_MINUTES} min"
	t0=$(date +%s)
	(cd "$clone" && exec setsid make run) </dev/null >"$WORK/run.log" 2>&1 &
	pid=$!
	while :; do
		code=$(health_code)
		[ "$code" != 200 ] || break
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" || rc=$?
			tail -n 40 "$WORK/run.log" >&2
			RESULTS+=("make run: FAILED (exited with $rc before /health answered 200; log $WORK/run.log)")
			return 1
		fi
		if [ $(($(date +%s) - t0)) -ge $((RUN_MINUTES * 60)) ]; then
			tail -n 40 "$WORK/run.log" >&2
			kill -TERM "$pid" 2>/dev/null || true
			wait "$pid" || true
			RESULTS+=("make run: FAILED (/health not 200 after ${RUN_MINUTES} min, last $code; log $WORK/run.log)")
			return 1
		fi
		sleep 2
	done
	secs=$(($(date +%s) - t0))
	say "make run: /health answered 200 after ${secs}s; SIGTERM to make ($pid)"
	kill -TERM "$pid"
	t0=$(date +%s)
	rc=0
	wait "$pid" || rc=$?
	say "make run: make exited with $rc after $(($(date +%s) - t0))s"
	sleep 1
	left=$(leftovers "$clone" "$pid")
	if [ -n "$left" ]; then
		printf '%s\n' "$left" >&2
		RESULTS+=("make run: FAILED (up after ${secs}s, but processes were left after SIGTERM; log $WORK/run.log)")
		return 1
	fi
	grep -q "stack: down: $clone/var" "$WORK/run.log" || {
		RESULTS+=("make run: FAILED (no 'stack: down' after SIGTERM; log $WORK/run.log)")
		return 1
	}
	RESULTS+=("make run: OK (/health 200 after ${secs}s from a fresh clone; SIGTERM stopped every process)")
}

check_test() {
	local clone=$WORK/test t0 rc=0 summary
	git clone -q "$SOURCE" "$clone"
	say "make test in $clone"
	t0=$(date +%s)
	(cd "$clone" && make test) </dev/null >"$WORK/test.log" 2>&1 || rc=$?
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$WORK/test.log" | tail -1 || true)
	if [ "$rc" != 0 ]; then
		tail -n 60 "$WORK/test.log" >&2
		RESULTS+=("make test: FAILED (exit $rc, ${summary:-no summary} after $(($(date +%s) - t0))s; log $WORK/test.log)")
		return 1
	fi
	RESULTS+=("make test: OK ($summary in $(($(date +%s) - t0))s)")
}

check() {
	local p installed=() missing=() ok=0
	for p in "${PREREQUISITES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing the prerequisites: ${missing[*]}"
		apt-get update -qq -o DPkg::Lock::Timeout=600
		apt_install "${missing[@]}" >/dev/null
	fi
	for p in "${PURGE_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' &&
			installed+=("$p")
	done
	if [ ${#installed[@]} -gt 0 ]; then
		say "purging ${installed[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq \
			-o DPkg::Lock::Timeout=600 "${installed[@]}" >/dev/null
	fi
	if [ -d "$SOURCE/node_modules" ]; then
		say "removing $SOURCE/node_modules"
		rm -rf "$SOURCE/node_modules"
	fi
	if pkg-config --exists libmariadb 2>/dev/null ||
		[ -e /usr/include/mariadb/mysql.h ]; then
		die "the MariaDB headers are still installed; the check would prove nothing"
	fi
	say "none of ${PURGE_PACKAGES[*]} is installed"

	WORK=$(mktemp -d /tmp/rtrw-fresh.XXXXXX)
	RESULTS=()
	check_run && ok=$((ok + 1)) || true
	check_test && ok=$((ok + 1)) || true
	echo
	printf 'fresh-check: %s\n' "${RESULTS[@]}"
	if [ "$ok" = 2 ] && [ "$KEEP" = 0 ]; then
		rm -rf "$WORK"
	else
		say "logs in $WORK"
	fi
	[ "$ok" = 2 ]
}

# ---------------------------------------------------------------------------
# The chroot: a fresh Debian 12 root, this script run inside it.

ROOT_DIR=
MOUNTS=()

unmount_all() {
	local i pid
	[ -n "$ROOT_DIR" ] || return 0
	# Whatever still runs in the chroot was started by this check.
	for pid in $(find /proc -maxdepth 1 -regex '/proc/[0-9]+' -printf '%f\n'); do
		[ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$ROOT_DIR" ] &&
			kill -KILL "$pid" 2>/dev/null || true
	done
	for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" || true
	done
	MOUNTS=()
}

# Removes a chroot only when nothing is mounted inside it: rm -rf through
# a bind mount of /dev would empty this machine's /dev.
remove_root() {
	local r=$1
	[ -e "$r" ] || return 0
	if grep -qF " $r/" /proc/mounts; then
		die "something is still mounted under $r; not removing it"
	fi
	rm -rf --one-file-system "$r"
}

bind() {
	mkdir -p "$ROOT_DIR$1"
	mount --bind "$1" "$ROOT_DIR$1"
	MOUNTS+=("$ROOT_DIR$1")
}

run_chroot() {
	local pristine=$CHROOT_DIR/pristine rc=0 v
	local -a env
	command -v debootstrap >/dev/null || {
		say "installing debootstrap"
		apt_install debootstrap >/dev/null
	}
	mkdir -p "$CHROOT_DIR"
	if [ ! -x "$pristine/bin/bash" ]; then
		say "debootstrap --variant=minbase bookworm $pristine.new ($MIRROR)"
		remove_root "$pristine.new"
		debootstrap --variant=minbase bookworm "$pristine.new" "$MIRROR" \
			>"$CHROOT_DIR/debootstrap.log" 2>&1 ||
			die "debootstrap failed; see $CHROOT_DIR/debootstrap.log"
		# Like an installed Debian 12: updates and security too.
		cat >"$pristine.new/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
		mv "$pristine.new" "$pristine"
	fi
	ROOT_DIR=$CHROOT_DIR/root
	trap unmount_all EXIT
	remove_root "$ROOT_DIR"
	say "copying $pristine to $ROOT_DIR"
	cp -a "$pristine" "$ROOT_DIR"
	# The source as a bare repository, and this script.
	git clone -q --bare "$SOURCE" "$ROOT_DIR/root/rtrw.git"
	cp "$SELF" "$ROOT_DIR/root/fresh-check.sh"
	cp /etc/resolv.conf "$ROOT_DIR/etc/resolv.conf"
	# The chroot uses this machine's network, so it trusts what this
	# machine trusts there (a TLS-inspecting proxy's CA, say): the local CA
	# certificates go into its ca-certificates bundle, and
	# NODE_EXTRA_CA_CERTS (npm's) is passed on.
	if [ -d /usr/local/share/ca-certificates ]; then
		mkdir -p "$ROOT_DIR/usr/local/share/ca-certificates"
		cp -a /usr/local/share/ca-certificates/. \
			"$ROOT_DIR/usr/local/share/ca-certificates/"
	fi
	# Package scripts start no services in the chroot (as in Debian's
	# container images): they would run on this machine's network.
	printf '#!/bin/sh\nexit 101\n' >"$ROOT_DIR/usr/sbin/policy-rc.d"
	chmod 0755 "$ROOT_DIR/usr/sbin/policy-rc.d"
	mkdir -p "$ROOT_DIR/proc" "$ROOT_DIR/sys"
	mount -t proc proc "$ROOT_DIR/proc"
	MOUNTS+=("$ROOT_DIR/proc")
	bind /sys
	bind /dev
	bind /dev/pts
	bind /dev/shm
	env=(HOME=/root TERM=dumb LANG=C.UTF-8
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
	# Every *_PORT variable (make run's, make test's TEST_*, the
	# lifecycle test's TEST_LIFECYCLE_*) passes through, so a new daemon's
	# port needs no change here.
	for v in $(compgen -v | grep -E '_PORT$') FUZZ_SECONDS PYTEST_ARGS \
		FRESH_RUN_MINUTES NODE_EXTRA_CA_CERTS; do
		[ -z "${!v:-}" ] || env+=("$v=${!v}")
	done
	say "running the check in $ROOT_DIR"
	chroot "$ROOT_DIR" /usr/bin/env -i "${env[@]}" /bin/bash \
		/root/fresh-check.sh --purge --source /root/rtrw.git \
		$([ "$KEEP" = 0 ] || echo --keep) || rc=$?
	unmount_all
	if [ "$rc" = 0 ] && [ "$KEEP" = 0 ]; then
		remove_root "$ROOT_DIR"
	else
		say "the chroot stays in $ROOT_DIR (its logs under $ROOT_DIR/tmp/rtrw-fresh.*)"
	fi
	return "$rc"
}

case "$MODE" in
purge) check ;;
chroot) run_chroot ;;
esac
