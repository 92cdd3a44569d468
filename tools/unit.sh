#!/usr/bin/env bash
# Runs Check unit-test programs (tests/unit/test_*.c, built with ASan and
# UBSan by `make asan`) one after another and prints a line per program
# plus a total.  Check's fork mode stays on so that one crashing test does
# not hide the others; LeakSanitizer is on.
#
#   tools/unit.sh build/asan/bin/test_*      exit 0 when every check passed
#
# The last line is always "unit: N passed, N failed" (tools/test.sh reads
# it).
set -uo pipefail

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
for t in "$@"; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	out=$("$t" 2>&1)
	rc=$?
	# Check's summary: "100%: Checks: 5, Failures: 0, Errors: 0".
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: [0-9]+' | tail -1)
	if [ -n "$line" ]; then
		checks=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
		fails=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
		errs=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
		f=$((fails + errs))
		p=$((checks - f))
	else
		p=0
		f=1
	fi
	# A crash or a sanitizer report after the summary fails the program.
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" = 0 ]; then
		printf 'unit: %-28s ok (%d checks)\n' "$name" "$p"
	else
		printf 'unit: %-28s FAILED (%d passed, %d failed, exit %d)\n' \
			"$name" "$p" "$f" "$rc"
		printf '%s\n' "$out" | tail -40 | sed 's/^/    /'
	fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" = 0 ]
