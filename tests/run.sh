#!/usr/bin/env bash
# Runs every unit test program given as argument (from $BUILD/tests) and every integration test
# (tests/integration/*.sh, which find the binaries in $BIN). Prints one line per test and a closing
# "N passed, N failed" line; exits non-zero if anything failed. A test that exits 77 was skipped (tests/lib.sh skip:
# its client is not installed): SKIP with the reason, not counted as a failure.
# ONLY=regex limits which tests run (e.g. ONLY=store).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=${BIN:-bin}
export BUILD BIN
export VA_TOP="$PWD"
pass=0; fail=0; skipped=0; failed=()
logdir=$(mktemp -d "${TMPDIR:-/tmp}/va-testlog.XXXXXX")

run_one() { # name cmd...
	local name=$1; shift
	if [ -n "${ONLY:-}" ] && ! [[ $name =~ $ONLY ]]; then return; fi
	local t0=$SECONDS log="$logdir/${name//\//_}.log"
	local rc=0
	"$@" >"$log" 2>&1 || rc=$?
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); printf 'PASS %-40s %3ds\n' "$name" $((SECONDS - t0))
	elif [ $rc -eq 77 ] && [[ $name == integration/* ]]; then   # cmocka's exit status counts failures
		skipped=$((skipped + 1)); printf 'SKIP %-40s %3ds  %s\n' "$name" $((SECONDS - t0)) \
			"$(sed -n 's/^SKIP: //p' "$log" | tail -n 1)"
	else
		fail=$((fail + 1)); failed+=("$name"); printf 'FAIL %-40s %3ds\n' "$name" $((SECONDS - t0))
		tail -n 40 "$log" | sed 's/^/    | /'
	fi
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# libp11/SoftHSM2 keep some allocations until exit that are not ours.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}

for t in "$@"; do
	run_one "unit/$t" "$BUILD/tests/$t"
done
for s in tests/integration/*.sh; do
	[ -e "$s" ] || continue
	n=$(basename "$s" .sh)
	run_one "integration/$n" bash "$s"
done

echo "logs: $logdir"
[ $fail -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skipped skipped"
[ $fail -eq 0 ]
