#!/usr/bin/env bash
# Regression: SIGTERM never ended a daemon whose signature hung in the HSM (http_stop waited for the worker
# without limit). tsad's key is reached through a test-only PKCS#11 module over SoftHSM2
# ($BUILD/tests/libp11hang.so, tests/tools/p11_hang.c) whose C_Sign blocks while a file exists. With a request
# stuck there, SIGTERM must end tsad within http.drain_timeout (2 s here), exit status 1, the stuck request named
# in the log. Without a hang the same daemon answers through the module and drains to exit 0.
. "$VA_TOP/tests/lib.sh"
. "$VA_TOP/tests/integration/tsa_lib.bash"

tsa_setup
port=$(free_port)
url="http://127.0.0.1:$port/"
tsa_conf "$PKI/tsa.conf" "$port"
p11_hang_conf "$PKI/tsa.conf" "timeout = 10;" "drain_timeout = 2; workers = 1;"
export VA_TEST_P11_HANG="$T/hang"
openssl ts -query -data "$T/data" -sha256 -cert -out "$T/q.tsq" 2>/dev/null

# No hang: tokens come through the module, SIGTERM drains and exits 0.
tsa_start tsad "$PKI/tsa.conf" "$port"
wait_http "${url}readyz"
expect_eq 200 "$(tsa_post "$url" "$T/q.tsq" "$T/r.tsr")" "token through the test module"
tsa_text "$T/r.tsr" | grep -q "^Status: Granted" || fail "token through the test module: not granted"
daemon_stop tsad || fail "exit status on SIGTERM without a hang"
ok "no hang: exit 0 on SIGTERM"

# A signature that never returns.
tsa_start tsad "$PKI/tsa.conf" "$port"
wait_http "${url}readyz"
touch "$T/hang"
tsa_post "$url" "$T/q.tsq" "$T/stuck.tsr" >"$T/stuck.code" 2>&1 &
client=$!
for ((i = 0; i < 100; i++)); do [ -e "$T/hang.entered" ] && break; sleep 0.1; done
[ -e "$T/hang.entered" ] || fail "the request never reached C_Sign"
t0=$EPOCHREALTIME
kill -TERM "$tsad_pid"
# Not a bare wait: the bug was a process that never exits. Past 10 s it is killed and the test fails.
for ((i = 0; i < 1000; i++)); do kill -0 "$tsad_pid" 2>/dev/null || break; sleep 0.01; done
t1=$EPOCHREALTIME
if kill -0 "$tsad_pid" 2>/dev/null; then
	kill -9 "$tsad_pid"
	fail "tsad still running 10 s after SIGTERM"
fi
rc=0
wait "$tsad_pid" || rc=$?
ms=$(((${t1/./} - ${t0/./}) / 1000))
echo "SIGTERM to exit: $ms ms (drain_timeout 2 s), status $rc"
expect_eq 1 "$rc" "exit status with a signature hung in the HSM"
[ "$ms" -ge 1900 ] || fail "exited after $ms ms: did not wait for the request"
[ "$ms" -le 3500 ] || fail "exited after $ms ms: past drain_timeout (2 s)"
ok "SIGTERM ended tsad within drain_timeout ($ms ms)"
expect_grep "error: http: still running on worker 0 after [0-9.]+ s: POST / \(route /\)" "$T/tsad.log" \
	"the stuck request is named"
expect_grep "error: http: drain_timeout \(2 s\) reached with 1 deferred job\(s\) running" "$T/tsad.log" \
	"the drain timeout is logged at error level"
expect_grep "tsad: exiting with a request still running" "$T/tsad.log" "tsad says why it exits"
# The client lost its connection with the process; it got no answer.
wait "$client" || true
[ "$(cat "$T/stuck.code")" != 200 ] || fail "the stuck request was answered"
rm -f "$T/hang"
done_ok
