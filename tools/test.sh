#!/usr/bin/env bash
# `make test`: every test against a throwaway stack, then teardown.
#
#   1. a stack with the ASan/UBSan binaries under var/test-$$ (started in the
#      background while the steps that do not need it run)
#   2. clang-format check (make format-check), then the layer check
#      (tools/layers.py: includes against lib/LAYERS, SQL only in lib/store/)
#   3. unit tests (tools/unit.sh build/asan/bin/test_*, LeakSanitizer on),
#      then each libFuzzer driver of tests/fuzz for FUZZ_SECONDS (5), from
#      the worst-case seeds of tests/fuzz/seeds.py, with -max_len at the
#      input's real cap and -timeout=FUZZ_TIMEOUT (3 s): a slow input fails
#   4. OpenAPI lint (redocly) when docs/openapi.yaml exists, then the
#      AsyncAPI 3 validation of docs/asyncapi.yaml (the same redocly)
#   5. end-to-end tests (pytest tests/e2e) through nginx
#   6. teardown (always), then any sanitizer report under the stack's log
#      directory is printed and fails the run
#
# The last line is "N passed, N failed": the unit checks plus the e2e tests;
# a failing step that is not a counted test (format, lint, stack start,
# sanitizer reports) adds one to the failures.  The exit status is non-zero
# on any failure.  On success the stack directory is removed; on failure its
# logs stay for reading.
#
# Ports (chosen so that `make run` can keep running): HTTPS_PORT=18443,
# HTTP_PORT=18080, MYSQL_PORT=23306, WS_PORT=18091, the simulated router
# ROUTEROS_SIM_PORT=28728 and ROUTEROS_SIM_TLS_PORT=28729, rtrw-provision's
# nudge PROVISION_NUDGE_PORT=28730 (UDP) and the mail sink SMTP_PORT=22525
# (each from its TEST_ variable when set); memcached
# listens on the stack's run/memcached.sock.  The second stack of
# tests/e2e/test_stack_lifecycle.py takes TEST_LIFECYCLE_<NAME> for each of
# those names (HTTPS_PORT, ...), or free ports.  PYTEST_ARGS adds arguments to
# pytest, as shell words: PYTEST_ARGS="-k 'health or auth'".
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

export HTTPS_PORT=${TEST_HTTPS_PORT:-18443} HTTP_PORT=${TEST_HTTP_PORT:-18080}
export MYSQL_PORT=${TEST_MYSQL_PORT:-23306}
export ROUTEROS_SIM_PORT=${TEST_ROUTEROS_SIM_PORT:-28728}
export ROUTEROS_SIM_TLS_PORT=${TEST_ROUTEROS_SIM_TLS_PORT:-28729}
export WS_PORT=${TEST_WS_PORT:-18091}
export SMTP_PORT=${TEST_SMTP_PORT:-22525}
export PROVISION_NUDGE_PORT=${TEST_PROVISION_NUDGE_PORT:-28730}
# The tests hammer from one address: nginx's per-IP limit must not bite.
export NGINX_RATE=${TEST_NGINX_RATE:-10000r/s} NGINX_BURST=${TEST_NGINX_BURST:-10000}
export SEED_DEMO=0
# Every test registers tenants and logs users in from 127.0.0.1: the
# per-address and per-user limits are raised here, and the tests that
# check them lower them again through the configuration (reconfigure).
# argon2id runs with its cheapest parameters here; production keeps the
# OWASP defaults (test_auth checks them).  Workers re-read the caller on
# every request (auth_cache_ms = 0) so that tests see changes at once;
# test_auth checks the production default of 1 s separately.
export EXTRA_CONF="${TEST_EXTRA_CONF:-rate_limit_per_minute = 1000000
rate_limit_ip_per_minute = 1000000
register_limit_per_hour = 1000000
login_fail_ip_limit = 1000000
login_fail_account_limit = 1000000
argon2_m_kib = 8192
argon2_t = 1
auth_cache_ms = 0
events_ping_seconds = 3
provision_retry_base_seconds = 1
provision_retry_max_seconds = 4
provision_router_pause_max_seconds = 2
provision_max_attempts = 3}"

DIR=var/test-$$
mkdir -p "$DIR/log"
DIR=$(cd "$DIR" && pwd)
LOG=$DIR/log

passed=0
failed=0
steps_failed=()
stack_pid=

step_fail() {
	failed=$((failed + 1))
	steps_failed+=("$1")
	echo "test: $1 FAILED"
}

torn_down=0
teardown() {
	[ "$torn_down" = 0 ] || return 0
	torn_down=1
	if [ -n "$stack_pid" ]; then
		wait "$stack_pid" 2>/dev/null || true
	fi
	tools/stack.sh down "$DIR" >/dev/null 2>&1 || true
}
on_signal() {
	echo "test: interrupted"
	teardown
	exit 130
}
trap teardown EXIT
trap on_signal INT TERM

start=$(date +%s)

# 1. The stack starts in the background (MariaDB initialisation is most of
# the time) while the static checks run.
tools/stack.sh up "$DIR" --asan >"$LOG/stack-up.log" 2>&1 &
stack_pid=$!

# 2. Format.
echo "test: format-check"
if ! make --no-print-directory format-check; then
	step_fail format-check
fi

# 2b. Layers: every #include against lib/LAYERS, lib/db.h and SQL only in
# the data layer; a file that no layer names fails too.
echo "test: layers"
if /usr/bin/python3 tools/layers.py; then
	passed=$((passed + 1))
else
	step_fail layers
fi

# 3. Unit tests.
echo "test: unit"
shopt -s nullglob
units=(build/asan/bin/test_*)
shopt -u nullglob
unit_out=$(ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 tools/unit.sh "${units[@]}" 2>&1)
unit_rc=$?
printf '%s\n' "$unit_out"
line=$(printf '%s\n' "$unit_out" | grep -E '^unit: [0-9]+ passed, [0-9]+ failed$' | tail -1)
if [ -n "$line" ]; then
	passed=$((passed + $(sed -E 's/unit: ([0-9]+) passed.*/\1/' <<<"$line")))
	failed=$((failed + $(sed -E 's/.*, ([0-9]+) failed/\1/' <<<"$line")))
elif [ "$unit_rc" != 0 ]; then
	step_fail unit
fi

# 3b. Fuzzing smoke: each libFuzzer driver for a few seconds (FUZZ_SECONDS).
# First the worst-case seeds of tests/fuzz/seeds.py are run once each, the
# most expensive inputs that fit under each cap (issue 8: the quadratic
# duplicate-key check took 24 s on one of them; they now cost
# milliseconds); then the driver fuzzes its own corpus.  Both with
# -max_len at the largest input the parser can get (a request body, 1 MiB,
# for JSON; the request line or a header line, nginx's
# large_client_header_buffers of 8 KiB, for URLs and tokens) and
# -timeout=FUZZ_TIMEOUT (3 s of wall time, wide headroom on a loaded
# machine), so that a slow input is a failure.  The seeds are not put in
# the fuzzing corpus: mutating megabyte inputs runs ~1,000 inputs in 5 s
# instead of ~400,000.  Crash and timeout inputs are written next to the
# corpus, not into the work tree.
echo "test: fuzz"
shopt -s nullglob
for f in build/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	case "$name" in
	fuzz_json) max_len=1048576 ;;
	*) max_len=8192 ;;
	esac
	opts=(-max_len="$max_len" -timeout="${FUZZ_TIMEOUT:-3}"
		-artifact_prefix="$DIR/fuzz/$name-")
	seeds=$DIR/fuzz/seed-$name
	mkdir -p "$DIR/fuzz/$name"
	/usr/bin/python3 tests/fuzz/seeds.py "$name" "$seeds"
	seed_files=("$seeds"/*)
	if { [ ${#seed_files[@]} = 0 ] ||
		"$f" "${opts[@]}" "${seed_files[@]}" >"$LOG/$name-seeds.log" 2>&1; } &&
		"$f" "${opts[@]}" -max_total_time="${FUZZ_SECONDS:-5}" \
			-print_final_stats=0 "$DIR/fuzz/$name" >"$LOG/$name.log" 2>&1; then
		passed=$((passed + 1))
		echo "fuzz: $name ok (${#seed_files[@]} worst-case seeds, $(grep -oE 'Done [0-9]+ runs' "$LOG/$name.log"))"
	else
		tail -30 "$LOG/$name-seeds.log" "$LOG/$name.log" 2>/dev/null
		step_fail "fuzz $name"
	fi
done
shopt -u nullglob

# 4. OpenAPI lint.
if [ -f docs/openapi.yaml ]; then
	echo "test: openapi lint"
	# redocly.yaml turns invalid examples and unused components into
	# errors; named here so that a missing file cannot pass unnoticed.
	if ! node_modules/.bin/redocly lint --config redocly.yaml \
		--format=stylish docs/openapi.yaml; then
		step_fail openapi-lint
	fi
else
	echo "test: openapi lint skipped (no docs/openapi.yaml yet)"
fi
# 4b. AsyncAPI 3 validation of the WebSocket events (redocly knows both).
echo "test: asyncapi lint"
if ! node_modules/.bin/redocly lint --format=stylish docs/asyncapi.yaml; then
	step_fail asyncapi-lint
fi

# 5. End-to-end tests.
echo "test: waiting for the stack"
if wait "$stack_pid"; then
	stack_pid=
	echo "test: e2e"
	pytest_out=$LOG/pytest.log
	(
		# shellcheck disable=SC1091
		. "$DIR/stack.env"
		# A CA bundle from the environment would override the tests'
		# verify=False for the stack's self-signed certificate.
		unset REQUESTS_CA_BUNDLE CURL_CA_BUNDLE
		# PYTEST_ARGS is shell words: -k "a or b" stays one argument.
		eval "set -- ${PYTEST_ARGS:-}"
		/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e "$@"
	) 2>&1 | tee "$pytest_out"
	# "3 passed, 1 failed, 1 error in 2.01s" (any order, any subset).
	summary=$(grep -E '^=*[ ]*[0-9]+ (passed|failed|error|errors|skipped|deselected)' "$pytest_out" | tail -1)
	p=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' || true)
	f=0
	for n in $(grep -oE '[0-9]+ (failed|errors?)' <<<"$summary" | grep -oE '^[0-9]+'); do
		f=$((f + n))
	done
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ -z "$summary" ] || { [ "${p:-0}" = 0 ] && [ "${f:-0}" = 0 ]; }; then
		step_fail "e2e (no test ran; see $pytest_out)"
	fi
else
	stack_pid=
	cat "$LOG/stack-up.log"
	step_fail "stack up"
fi

# 6. Teardown, then sanitizer reports: a leak shows when a process exits.
echo "test: teardown"
teardown
shopt -s nullglob
reports=("$LOG"/asan.* "$LOG"/ubsan.*)
shopt -u nullglob
if [ ${#reports[@]} -gt 0 ]; then
	for r in "${reports[@]}"; do
		echo "==== $r"
		head -60 "$r"
	done
	step_fail "sanitizer reports (${#reports[@]})"
fi

secs=$(($(date +%s) - start))
if [ "$failed" = 0 ]; then
	rm -rf "$DIR"
else
	# Keep the logs for reading, not the database files.
	rm -rf "$DIR/mysql" "$DIR"/mysql-bin.*
	echo "test: failed steps: ${steps_failed[*]:-(tests)}; logs in $LOG"
fi
echo "test: done in ${secs}s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
