#!/usr/bin/env bash
# Regression: SIGTERM was never acted on while ocspd's main thread (its signal loop) hung in the HSM during a
# SIGHUP reload. ca1's signer goes through the test PKCS#11 module whose C_Sign blocks while a file exists
# (tests/tools/p11_hang.c). The shutdown watchdog must end ocspd within drain_timeout (2 s) + the 2 s grace,
# status 1, the main thread's phase logged:
# 1. the reload's test signature blocks (the hang only on the main thread: no request, no pre-production stuck);
# 2. the reload waits for the old pre-production thread, which is stuck in C_Sign (the hang only off the main
#    thread: the reload's own test signatures go through).
# Without a hang, SIGHUP reloads as before and SIGTERM exits 0 at once.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ocsp_lib.bash"

ocsp_env
p11_hang_conf "$CONF" "timeout = 5; body_max = 16384;" "drain_timeout = 2;"
export VA_TEST_P11_HANG="$T/hang"

# expect_watchdog PHASE: the last SIGTERM ended ocspd through the watchdog, at drain_timeout + grace.
expect_watchdog() {
	expect_eq 1 "$term_rc" "exit status with the main thread stuck"
	[ "$term_ms" -ge 3900 ] || fail "exited after $term_ms ms: before drain_timeout + grace (4 s)"
	[ "$term_ms" -le 5500 ] || fail "exited after $term_ms ms: past drain_timeout + grace (4 s)"
	ok "SIGTERM ended ocspd in $term_ms ms"
	expect_grep "error: shutdown: still running 4\.0 s after SIGTERM; the main thread is in phase \"$1\"" \
		"$T/ocspd.log" "the watchdog names the main thread's phase ($1)"
}

# No hang: SIGHUP reloads through the test module, answers go on, SIGTERM exits 0 at once.
ocsp_start
kill -HUP "$ocspd_pid"
for ((i = 0; i < 100; i++)); do grep -q "ocspd: configuration reloaded" "$T/ocspd.log" && break; sleep 0.1; done
expect_grep "ocspd: configuration reloaded" "$T/ocspd.log" "SIGHUP reloads"
ocsp_q ca1 1005
grep -q "^0x1005: good" "$T/q.out" || fail "answer after the reload"
term_timed ocspd
expect_eq 0 "$term_rc" "exit status without a hang"
[ "$term_ms" -le 1500 ] || fail "no hang, yet SIGTERM took $term_ms ms"
ok "no hang: exit 0, $term_ms ms after SIGTERM"

# 1. The reload's test signature hangs on the main thread.
VA_TEST_P11_HANG_THREAD=main ocsp_start
touch "$T/hang"
kill -HUP "$ocspd_pid"
wait_lines "$T/hang.entered" 1
expect_eq main "$(cat "$T/hang.entered")" "the reload's test signature blocks the main thread"
term_timed ocspd
expect_watchdog "reload: opening signers"
rm -f "$T/hang" "$T/hang.entered"

# 2. Pre-production stuck from the start (it signs on its own thread; the start-up checks run on the main one),
#    then a reload: its new pre-production blocks too (second line), and it waits for the old one for ever.
touch "$T/hang"
VA_TEST_P11_HANG_THREAD=other ocsp_start
wait_lines "$T/hang.entered" 1
kill -HUP "$ocspd_pid"
wait_lines "$T/hang.entered" 2
expect_eq "other other" "$(echo $(cat "$T/hang.entered"))" "only pre-production threads are blocked"
term_timed ocspd
expect_watchdog "reload: stopping the old pre-production thread"
rm -f "$T/hang" "$T/hang.entered"
done_ok
