#!/usr/bin/env bash
# Regression: ocspd_try_later_total did not count the tryLater answers sent because the deferred queue was full
# (the HTTP layer's overflow answer). Every tryLater a client receives must be counted exactly once, whatever
# its cause: the queue full (the only worker held in a signature: ocsp1's key behind the test PKCS#11 module
# whose C_Sign hangs on demand, tests/tools/p11_hang.c) and the signer down (token removed). Checked through
# /metrics against what the clients received.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ocsp_lib.bash"

ocsp_env
# ca1's signer through the test module; one worker and a queue of one, so that a third request overflows.
p11_hang_conf "$CONF" "timeout = 5; body_max = 16384;" "workers = 1; defer_queue = 1;"
export VA_TEST_P11_HANG="$T/hang"
ocsp_start

metric() { curl -s --max-time 5 "$URL/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
resp_status() {
	openssl ocsp -respin "$1" -resp_text -noverify 2>&1 |
		sed -n 's/^ *OCSP Response Status: \([a-zA-Z]*\).*/\1/p; s/^Responder Error: \([a-zA-Z]*\).*/\1/p' | head -1
}
post() { # DER-request OUT: prints the HTTP status
	curl -s -o "$2" -w '%{http_code}' --max-time 20 -H 'Content-Type: application/ocsp-request' \
		--data-binary @"$1" "$URL/"
}
# A nonce request always needs a signature, so it always goes to the worker queue.
openssl ocsp -issuer "$PKI/ca1.pem" -serial 0x1005 -nonce -reqout "$T/n.req" >/dev/null 2>&1

# Pre-production signs every certificate of both CAs at start: let it finish before the token hangs.
want=$(($(wc -l <"$PKI/ca1/index.txt") + $(wc -l <"$PKI/ca2/index.txt")))
for ((i = 0; i < 300; i++)); do
	[ "$(metric ocspd_signatures_total)" -ge "$want" ] 2>/dev/null && break
	sleep 0.1
done
[ "$(metric ocspd_signatures_total)" -ge "$want" ] || fail "pre-production did not finish ($want certificates)"
expect_eq 0 "$(metric ocspd_try_later_total)" "no tryLater yet"

# Queue full: A holds the worker (C_Sign hangs), B waits in the queue, C1..C3 overflow.
touch "$T/hang"
post "$T/n.req" "$T/a.der" >"$T/a.code" &
pa=$!
for ((i = 0; i < 100; i++)); do [ -e "$T/hang.entered" ] && break; sleep 0.1; done
[ -e "$T/hang.entered" ] || fail "request A never reached C_Sign"
post "$T/n.req" "$T/b.der" >"$T/b.code" &
pb=$!
for ((i = 0; i < 100; i++)); do [ "$(metric ocspd_http_defer_queue_depth)" = 1 ] && break; sleep 0.1; done
expect_eq 1 "$(metric ocspd_http_defer_queue_depth)" "request B queued"
got=0
for c in 1 2 3; do
	expect_eq 200 "$(post "$T/n.req" "$T/c$c.der")" "C$c: HTTP 200"
	[ "$(resp_status "$T/c$c.der")" = trylater ] && got=$((got + 1))
done
expect_eq 3 "$got" "queue full: three tryLater answers received"
expect_eq 3 "$(metric ocspd_http_deferred_overflow_total)" "three overflow answers (HTTP layer)"
expect_eq 3 "$(metric ocspd_try_later_total)" "queue full: each tryLater counted once"
expect_eq 3 "$(metric 'ocspd_http_requests_total{route="/",result="busy"}')" "three 'busy' results"

# The HSM answers again: A and B are signed, nothing more is counted.
rm -f "$T/hang"
wait "$pa" "$pb"
expect_eq "200 200" "$(cat "$T/a.code") $(cat "$T/b.code")" "A and B answered"
expect_eq "successful successful" "$(resp_status "$T/a.der") $(resp_status "$T/b.der")" "A and B signed"
expect_eq 3 "$(metric ocspd_try_later_total)" "signed answers are not counted"

# Signer down: the responder's own tryLater, counted once too.
tokdir=$(sed -n 's/^directories.tokendir *= *//p' "$PKI/softhsm2.conf")
[ -d "$tokdir" ] || fail "token directory $tokdir"
mv "$tokdir" "$tokdir.gone"
expect_eq 200 "$(post "$T/n.req" "$T/d.der")" "token away: HTTP 200"
expect_eq trylater "$(resp_status "$T/d.der")" "token away: tryLater"
expect_eq 4 "$(metric ocspd_try_later_total)" "signer down: counted once"
mv "$tokdir.gone" "$tokdir"
daemon_stop ocspd || fail "ocspd exit status on SIGTERM"
done_ok
