#!/usr/bin/env bash
# tsad's clock checks end to end. (1) require_clock_sync against this machine's real kernel state (read here with
# adjtimex(2) too): unsynchronised or too large an error -> rejection/timeNotAvailable and /readyz 503, else
# tokens. (2) The wall clock driven from outside through libfaketime (when installed): a step back beyond the
# accuracy -> timeNotAvailable and not ready until the clock catches up; a step within the accuracy is fine;
# genTime follows the clock the daemon reads. The per-case logic is unit-tested through the seams
# (test_tsa_clock); this checks the daemon's wiring.
. "$VA_TOP/tests/lib.sh"
. "$VA_TOP/tests/integration/tsa_lib.bash"

tsa_setup
openssl ts -query -data "$T/data" -sha256 -cert -out "$T/q.tsq" 2>/dev/null

# --- 1: the real kernel clock state ------------------------------------------------------------------------------
port=$(free_port)
url="http://127.0.0.1:$port/"
TSA_SIGNER=tsafile tsa_conf "$PKI/sync.conf" "$port" 'require_clock_sync = true; accuracy_ms = 1000;'
state=$($PY - <<'PYEOF'
import ctypes
class Timex(ctypes.Structure):
    _fields_ = [('modes', ctypes.c_uint), ('offset', ctypes.c_long), ('freq', ctypes.c_long),
                ('maxerror', ctypes.c_long), ('esterror', ctypes.c_long), ('status', ctypes.c_int),
                ('rest', ctypes.c_long * 40)]
t = Timex()
r = ctypes.CDLL(None, use_errno=True).adjtimex(ctypes.byref(t))
bad = r in (-1, 5, 4) or (t.status & 0x40) or t.maxerror > 1000000 or t.esterror > 1000000  # TIME_ERROR, TIME_OOP, STA_UNSYNC
print('bad' if bad else 'good')
PYEOF
)
tsa_start sync "$PKI/sync.conf" "$port"
curl -s -o "$T/ready.txt" -w '%{http_code}' "${url}readyz" >"$T/ready.code" || true
expect_eq 200 "$(http_code GET "${url}healthz")" "alive whatever the clock"
tsa_post "$url" "$T/q.tsq" "$T/sync.tsr" >/dev/null
tsa_text "$T/sync.tsr" >"$T/sync.txt"
if [ "$state" = bad ]; then
	expect_eq 503 "$(cat "$T/ready.code")" "kernel clock unsynchronised here: /readyz 503"
	expect_grep "clock" "$T/ready.txt" "/readyz says why"
	expect_grep "^Status: Rejected" "$T/sync.txt" "unsynchronised: rejected"
	expect_grep "^Failure info: the TSA's time source is not available" "$T/sync.txt" "failInfo timeNotAvailable"
	expect_grep "not synchronised|error larger" "$T/sync.txt" "status text says why"
else
	expect_eq 200 "$(cat "$T/ready.code")" "kernel clock synchronised here: ready"
	expect_grep "^Status: Granted" "$T/sync.txt" "synchronised: granted"
fi
daemon_stop sync || fail "exit status on SIGTERM"
# without the requirement the same machine issues tokens
TSA_SIGNER=tsafile tsa_conf "$PKI/nosync.conf" "$port" 'require_clock_sync = false;'
tsa_start nosync "$PKI/nosync.conf" "$port"
wait_http "${url}readyz"
tsa_post "$url" "$T/q.tsq" "$T/nosync.tsr" >/dev/null
expect_grep "^Status: Granted" <(tsa_text "$T/nosync.tsr") "require_clock_sync = false: granted"
daemon_stop nosync || fail "exit status on SIGTERM"

# --- 2: the wall clock stepped from outside ---------------------------------------------------------------------
lib=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1 || true)
if [ -z "$lib" ]; then
	echo "libfaketime (Debian package faketime) not installed: skipping the stepped-clock part"
	done_ok
	exit 0
fi
port=$(free_port)
url="http://127.0.0.1:$port/"
TSA_SIGNER=tsafile tsa_conf "$PKI/step.conf" "$port" 'accuracy_ms = 2000;'
echo "+0" >"$T/offset"
daemon_start step env LD_PRELOAD="$lib" FAKETIME_TIMESTAMP_FILE="$T/offset" FAKETIME_NO_CACHE=1 \
	FAKETIME_DONT_FAKE_MONOTONIC=1 ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
	"$BIN/tsad" -c "$PKI/step.conf"
wait_http "${url}readyz" 30
granted() { # what
	tsa_post "$url" "$T/q.tsq" "$T/s.tsr" >/dev/null
	tsa_text "$T/s.tsr" >"$T/s.txt"
	expect_grep "^Status: Granted" "$T/s.txt" "$1"
}
granted "faked clock at +0: granted"
echo "+3600" >"$T/offset"
granted "one hour ahead: granted"
tok=$(date -u -d "$(sed -n 's/^Time stamp: //p' "$T/s.txt")" +%s)
now=$(date -u +%s)
d=$((tok - now))
[ $d -ge 3590 ] && [ $d -le 3610 ] || fail "genTime is $d s from now, expected the faked +3600"
ok "genTime comes from the clock the daemon reads (+${d}s)"
echo "+3599" >"$T/offset"
granted "back 1 s, within the 2 s accuracy: granted"
echo "+3000" >"$T/offset"
tsa_post "$url" "$T/q.tsq" "$T/s.tsr" >/dev/null
tsa_text "$T/s.tsr" >"$T/s.txt"
expect_grep "^Failure info: the TSA's time source is not available" "$T/s.txt" "back 10 min: timeNotAvailable"
expect_grep "stepped backwards" "$T/s.txt" "status text: stepped backwards"
expect_eq 503 "$(http_code GET "${url}readyz")" "back 10 min: not ready"
echo "+3601" >"$T/offset"
wait_http "${url}readyz" 10
granted "clock caught up: granted again"
daemon_stop step || fail "exit status on SIGTERM"
done_ok
