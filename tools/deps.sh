#!/usr/bin/env bash
# Installs every Debian package and npm tool the project needs, skipping
# what is already there.  Works as root or through sudo.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
trap 'echo "deps: failed: $BASH_COMMAND (exit $?); the error is above; run tools/deps.sh again once it is fixed" >&2' ERR

PACKAGES=(
	build-essential pkg-config clang-format clang libclang-rt-14-dev
	libfcgi-dev libmariadb-dev libcjson-dev libssl-dev libjwt-dev
	libmemcached-dev libpcre2-dev libwebsockets-dev libcurl4-openssl-dev
	libxlsxwriter-dev libargon2-dev libpq-dev libzstd-dev check
	mariadb-server mariadb-client memcached nginx-light postgresql
	openssl wrk curl procps psmisc gettext-base nodejs npm
	python3 python3-pytest python3-requests python3-yaml
	python3-librouteros python3-aiosmtpd python3-pymysql python3-psycopg2
	python3-openpyxl python3-jsonschema python3-cryptography
	python3-websocket
	sqlmap debootstrap
	linux-perf valgrind
)

missing=()
for p in "${PACKAGES[@]}"; do
	# nginx-light stands for any nginx flavour; a Node.js that did not
	# come from Debian (nvm, NodeSource) satisfies nodejs and npm.
	case "$p" in
	nginx-light) command -v nginx >/dev/null && continue ;;
	nodejs | npm) command -v "${p/nodejs/node}" >/dev/null && continue ;;
	esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	# No questions asked.  The system-wide MariaDB, memcached, nginx and
	# PostgreSQL that the packages may start are not used: the project
	# runs its own under var/, on other ports.  Others may be installing
	# at the same time: wait for the dpkg lock rather than fail.
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq -o DPkg::Lock::Timeout=600
	$SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
		--no-install-recommends "${missing[@]}"
fi

# Swagger UI and the linter of the OpenAPI and AsyncAPI documents
# (redocly) come from npm into node_modules/.
if [ ! -f node_modules/swagger-ui-dist/swagger-ui-bundle.js ] ||
   [ ! -x node_modules/.bin/redocly ]; then
	echo "deps: npm install (swagger-ui-dist, @redocly/cli)"
	npm install --no-audit --no-fund --loglevel=error
fi
