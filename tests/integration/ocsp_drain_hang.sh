#!/usr/bin/env bash
# SIGTERM ends ocspd within http.drain_timeout (2 s here) even when a signature hangs in the HSM: ca1's signer
# goes through the test PKCS#11 module whose C_Sign blocks while a file exists (tests/tools/p11_hang.c).
# 1. pre-production stuck (the hang is there from the start; only the start-up key check gets through): no
#    request in flight, yet ocspd must not wait for that thread for ever: exit 1, "pre-production" logged;
# 2. a request stuck on the worker: exit 1, the request named in the log.
# And without a hang, SIGTERM drains and exits 0.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ocsp_lib.bash"

ocsp_env
p11_hang_conf "$CONF" "timeout = 5; body_max = 16384;" "drain_timeout = 2;"
export VA_TEST_P11_HANG="$T/hang"
metric() { curl -s --max-time 5 "$URL/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }

# term_within EXPECTED_STATUS: SIGTERM, then the exit status and the time it took (killed and failed past 10 s).
term_within() {
	local t0 t1 rc=0 i
	t0=$EPOCHREALTIME
	kill -TERM "$ocspd_pid"
	for ((i = 0; i < 1000; i++)); do kill -0 "$ocspd_pid" 2>/dev/null || break; sleep 0.01; done
	t1=$EPOCHREALTIME
	if kill -0 "$ocspd_pid" 2>/dev/null; then
		kill -9 "$ocspd_pid"
		fail "ocspd still running 10 s after SIGTERM"
	fi
	wait "$ocspd_pid" || rc=$?
	ms=$(((${t1/./} - ${t0/./}) / 1000))
	echo "SIGTERM to exit: $ms ms, status $rc"
	expect_eq "$1" "$rc" "exit status"
}

# No hang: the test module signs, SIGTERM drains and exits 0.
ocsp_start
ocsp_q ca1 1005
grep -q "^0x1005: good" "$T/q.out" || fail "answer through the test module"
term_within 0
ok "no hang: exit 0 ($ms ms)"

# 1. Pre-production stuck from the start (the start-up key check is the process's first C_Sign).
touch "$T/hang"
VA_TEST_P11_HANG_SKIP=1 ocsp_start
for ((i = 0; i < 100; i++)); do [ -e "$T/hang.entered" ] && break; sleep 0.1; done
[ -e "$T/hang.entered" ] || fail "pre-production never reached C_Sign"
expect_eq 1 "$(metric ocspd_http_requests_in_flight)" "no request in flight but this scrape"
term_within 1
[ "$ms" -le 3500 ] || fail "exited after $ms ms: past drain_timeout (2 s)"
ok "pre-production stuck: SIGTERM ended ocspd in $ms ms"
expect_grep "error: ocspd: pre-production still signing when the drain ended" "$T/ocspd.log" "pre-production named"
expect_grep "ocspd: exiting with pre-production still running" "$T/ocspd.log" "ocspd says why it exits"
rm -f "$T/hang" "$T/hang.entered"

# 2. A request stuck on the worker (pre-production finished first: it signs every certificate at start).
ocsp_start
want=$(($(wc -l <"$PKI/ca1/index.txt") + $(wc -l <"$PKI/ca2/index.txt")))
for ((i = 0; i < 300; i++)); do
	[ "$(metric ocspd_signatures_total)" -ge "$want" ] 2>/dev/null && break
	sleep 0.1
done
touch "$T/hang"
openssl ocsp -issuer "$PKI/ca1.pem" -serial 0x1005 -nonce -reqout "$T/n.req" >/dev/null 2>&1
curl -s -o /dev/null --max-time 20 -H 'Content-Type: application/ocsp-request' --data-binary @"$T/n.req" "$URL/" &
client=$!
for ((i = 0; i < 100; i++)); do [ -e "$T/hang.entered" ] && break; sleep 0.1; done
[ -e "$T/hang.entered" ] || fail "the request never reached C_Sign"
term_within 1
[ "$ms" -ge 1900 ] || fail "exited after $ms ms: did not wait for the request"
[ "$ms" -le 3500 ] || fail "exited after $ms ms: past drain_timeout (2 s)"
ok "request stuck: SIGTERM ended ocspd in $ms ms"
expect_grep "error: http: still running on worker [0-9]+ after [0-9.]+ s: POST / \(route /\)" "$T/ocspd.log" \
	"the stuck request is named"
expect_grep "ocspd: exiting with a request still running" "$T/ocspd.log" "ocspd says why it exits"
wait "$client" || true
rm -f "$T/hang"
done_ok
