#!/usr/bin/env bash
# Regression: SIGTERM was never acted on while tsad's main thread hung in the HSM (its signal loop was that
# thread): a SIGHUP reload opens the signer with a test signature. The key goes through the test PKCS#11 module
# (tests/tools/p11_hang.c) whose C_Sign blocks while a file exists, here only on the main thread, so that no
# request is in flight and only the shutdown watchdog can end the process: within drain_timeout (2 s) + the 2 s grace,
# status 1, the main thread's phase logged. A second SIGTERM a while later ends it at once. Without a hang, a
# reload works as before and SIGTERM exits 0 at once.
. "$VA_TOP/tests/lib.sh"
. "$VA_TOP/tests/integration/tsa_lib.bash"

tsa_setup
port=$(free_port)
url="http://127.0.0.1:$port/"
tsa_conf "$PKI/tsa.conf" "$port"
p11_hang_conf "$PKI/tsa.conf" "timeout = 10;" "drain_timeout = 2;"
export VA_TEST_P11_HANG="$T/hang" VA_TEST_P11_HANG_THREAD=main
openssl ts -query -data "$T/data" -sha256 -cert -out "$T/q.tsq" 2>/dev/null

# reload_stuck: SIGHUP with the hang on, until the reload's test signature blocks on the main thread.
reload_stuck() {
	rm -f "$T/hang.entered"
	touch "$T/hang"
	kill -HUP "$tsad_pid"
	wait_lines "$T/hang.entered" 1
	expect_eq main "$(cat "$T/hang.entered")" "the reload's signature blocks the main thread"
}

# No hang: SIGHUP reloads (the new signer's test signature goes through the module), SIGTERM exits 0 at once.
tsa_start tsad "$PKI/tsa.conf" "$port"
wait_http "${url}readyz"
kill -HUP "$tsad_pid"
for ((i = 0; i < 100; i++)); do grep -q "configuration reloaded" "$T/tsad.log" && break; sleep 0.1; done
expect_grep "tsad: configuration reloaded" "$T/tsad.log" "SIGHUP reloads"
expect_eq 200 "$(tsa_post "$url" "$T/q.tsq" "$T/r.tsr")" "token after the reload"
tsa_text "$T/r.tsr" | grep -q "^Status: Granted" || fail "token after the reload: not granted"
term_timed tsad
expect_eq 0 "$term_rc" "exit status without a hang"
[ "$term_ms" -le 1500 ] || fail "no hang, yet SIGTERM took $term_ms ms"
ok "no hang: exit 0, $term_ms ms after SIGTERM"

# A reload stuck in the HSM, then SIGTERM: the watchdog ends tsad at drain_timeout + grace.
tsa_start tsad "$PKI/tsa.conf" "$port"
wait_http "${url}readyz"
reload_stuck
term_timed tsad
expect_eq 1 "$term_rc" "exit status with the main thread stuck"
[ "$term_ms" -ge 3900 ] || fail "exited after $term_ms ms: before drain_timeout + grace (4 s)"
[ "$term_ms" -le 5500 ] || fail "exited after $term_ms ms: past drain_timeout + grace (4 s)"
ok "reload stuck: SIGTERM ended tsad in $term_ms ms"
expect_grep "error: shutdown: still running 4\.0 s after SIGTERM; the main thread is in phase \"reload: opening the signer\"" \
	"$T/tsad.log" "the watchdog names the main thread's phase"
expect_grep "exiting with status 1 without freeing anything" "$T/tsad.log" "and says it frees nothing"
rm -f "$T/hang"

# The same, and a second SIGTERM 1.3 s after the first: the process ends then, not at the deadline.
tsa_start tsad "$PKI/tsa.conf" "$port"
wait_http "${url}readyz"
reload_stuck
t0=$EPOCHREALTIME
kill -TERM "$tsad_pid"
sleep 1.3
kill -TERM "$tsad_pid"
for ((i = 0; i < 1500; i++)); do kill -0 "$tsad_pid" 2>/dev/null || break; sleep 0.01; done
t1=$EPOCHREALTIME
kill -0 "$tsad_pid" 2>/dev/null && { kill -9 "$tsad_pid"; fail "tsad still running 15 s after SIGTERM"; }
rc=0
wait "$tsad_pid" || rc=$?
ms=$(((${t1/./} - ${t0/./}) / 1000))
echo "first SIGTERM to exit: $ms ms, status $rc"
expect_eq 1 "$rc" "exit status after a second SIGTERM"
[ "$ms" -le 2500 ] || fail "exited $ms ms after the first SIGTERM: the second did not end it"
expect_grep "error: shutdown: SIGTERM repeated 1\.[0-9] s after SIGTERM; the main thread is in phase \"reload: opening the signer\"" \
	"$T/tsad.log" "the second SIGTERM is logged with the phase"
rm -f "$T/hang"
done_ok
