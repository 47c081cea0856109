#!/usr/bin/env bash
# An import killed with SIGKILL in the middle of its writes leaves a consistent store holding whole batches
# only; running the same import again completes it, and a third run is a no-op.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/vactl_lib.bash"

V="$BIN/vactl"
N=600000
BATCH=10000   # LIM_STORE_BATCH (common/va_limits.h)
vca_init "$T/ca" tca
S=$T/store
"$V" -q -s "$S" init && "$V" -q -s "$S" ca add tca "$T/ca/tca.pem" || fail "setup"
$PY - "$T/big.txt" "$N" <<'PYEOF'
import sys
n = int(sys.argv[2])
with open(sys.argv[1], "w") as f:
    for i in range(n):
        s = "%X" % (0x100000 + i)
        if i % 7 == 0:
            f.write("R\t301231235959Z\t261101000000Z,superseded\t%s\tunknown\t/CN=c%d\n" % (s, i))
        else:
            f.write("V\t301231235959Z\t\t%s\tunknown\t/CN=c%d\n" % (s, i))
PYEOF

killed=0
for attempt in 1 2 3; do
	"$V" -q -s "$S" import tca --index "$T/big.txt" >"$T/imp.out" 2>&1 &
	pid=$!
	# Entries are written in serial order: the lowest serial is in the first batch to commit.
	until "$V" -q -s "$S" status tca 100000 >/dev/null 2>&1; do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	kill -9 "$pid" 2>/dev/null || true
	rc=0
	wait "$pid" || rc=$?
	if [ "$rc" = 137 ]; then
		killed=1
		break
	fi
	# It finished first: start over with an empty store.
	rm -rf "$S"
	"$V" -q -s "$S" init && "$V" -q -s "$S" ca add tca "$T/ca/tca.pem" || fail "setup again"
done
[ "$killed" = 1 ] || fail "the import always finished before SIGKILL (3 attempts)"
ok "import killed with SIGKILL mid-way"

"$V" -s "$S" check 2>"$T/check.err" || { cat "$T/check.err" >&2; fail "store inconsistent after SIGKILL"; }
ok "store consistent after the kill"
have=$("$V" -s "$S" stats | awk '$1 == "certificates" { print $2 }')
[ "$have" -gt 0 ] && [ "$have" -lt "$N" ] || fail "expected a partial import, have $have of $N"
expect_eq 0 "$((have % BATCH))" "only whole batches committed ($have)"
changes=$("$V" -s "$S" stats | awk '$1 == "changes" { print $2 }')
expect_eq "$((have + 1))" "$changes" "one change per record, in the same transactions"

# On a terminal (script(1) gives it one) the import shows a progress line.
script -qec "'$V' -s '$S' import tca --index '$T/big.txt'; echo exit=\$?" /dev/null >"$T/imp2.out" </dev/null ||
	fail "second import"
tr '\r' '\n' <"$T/imp2.out" >"$T/imp2.lines"
expect_grep "^exit=0" "$T/imp2.lines" "second import succeeds"
expect_grep "$N entries: $((N - have)) added, 0 updated, $have unchanged" "$T/imp2.lines" "second import completes"
expect_grep "^vactl: writing $((N - have))/$((N - have)) \(100%\)" "$T/imp2.lines" "progress line on a terminal"
expect_grep "^vactl: reading \(bytes\) [0-9]+/[0-9]+ \([0-9]+%\)" "$T/imp2.lines" "reading progress"
"$V" -s "$S" import tca --index "$T/big.txt" >"$T/imp3.out" 2>"$T/imp3.err" || fail "third import"
expect_grep "$N entries: 0 added, 0 updated, $N unchanged" "$T/imp3.out" "third import is a no-op"
grep -q "checking\|reading" "$T/imp3.err" && fail "progress line written to a file"
ok "no progress line when stderr is not a terminal"
"$V" -s "$S" stats >"$T/stats"
expect_grep "^certificates	$N$" "$T/stats" "every certificate there"
expect_grep "^revoked	$(((N + 6) / 7))$" "$T/stats" "every revocation there"
"$V" -s "$S" check 2>/dev/null || fail "check after completion"
ok "check after completion"
done_ok
