#!/usr/bin/env bash
# Regression: SIGTERM was never acted on while crlgen's main thread (its signal loop, which also publishes the
# CRLs) hung in the HSM signing a CRL. ca1's key goes through the test PKCS#11 module whose C_Sign blocks while a
# file exists (tests/tools/p11_hang.c); SIGHUP republishes every CRL at once, so the tick signs ca1's CRL and
# hangs. The shutdown watchdog must end crlgen within drain_timeout (2 s) + the 2 s grace, status 1, the main
# thread's phase logged, and the CRL published before stays served until then and intact after.
# Without a hang, SIGHUP republishes as before and SIGTERM exits 0 at once.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/crl_lib.bash"

p11_hang_shim
crl_env rsa
CRL_PORT=$(free_port)
crl_conf
URL="http://127.0.0.1:$CRL_PORT"
# ca1's signer only (the first module line); ca2 stays on SoftHSM2 itself.
sed -i -e "0,/module = \"\/usr\/lib\/softhsm\/libsofthsm2.so\"/s##module = \"$shim\"#" \
	-e "s#timeout = 5; };#timeout = 5; drain_timeout = 2; };#" "$CONF"
[ "$(grep -c "libp11hang.so" "$CONF")" = 1 ] && grep -q "drain_timeout = 2" "$CONF" || fail "configuration not edited"
export VA_TEST_P11_HANG="$T/hang" VA_TEST_P11_HANG_THREAD=main

# No hang: SIGHUP republishes (a higher CRL number, signed through the module), SIGTERM exits 0 at once.
daemon_start crlgen "$BIN/crlgen" -c "$CONF"
wait_http "$URL/readyz"
curl -fsS -o "$T/a.crl" "$URL/crl/ca1.crl" || fail "first CRL"
n1=$(crl_number "$T/a.crl")
kill -HUP "$crlgen_pid"
for ((i = 0; i < 100; i++)); do
	curl -fsS -o "$T/b.crl" "$URL/crl/ca1.crl" 2>/dev/null && [ "$(crl_number "$T/b.crl")" -gt "$n1" ] && break
	sleep 0.1
done
[ "$(crl_number "$T/b.crl")" -gt "$n1" ] || fail "SIGHUP did not republish ca1's CRL"
ok "SIGHUP republishes"
term_timed crlgen
expect_eq 0 "$term_rc" "exit status without a hang"
[ "$term_ms" -le 1500 ] || fail "no hang, yet SIGTERM took $term_ms ms"
ok "no hang: exit 0, $term_ms ms after SIGTERM"

# The tick's CRL signature hangs.
daemon_start crlgen "$BIN/crlgen" -c "$CONF"
wait_http "$URL/readyz"
cp "$PKI/crl/ca1.crl" "$T/before.crl"
touch "$T/hang"
kill -HUP "$crlgen_pid"
wait_lines "$T/hang.entered" 1
expect_eq main "$(cat "$T/hang.entered")" "the CRL signature blocks the main thread"
curl -fsS -o "$T/during.crl" "$URL/crl/ca1.crl" || fail "CRL not served while the tick is stuck"
cmp -s "$T/during.crl" "$T/before.crl" || fail "served CRL changed while its successor was stuck"
ok "the previous CRL is served while the tick is stuck"
term_timed crlgen
expect_eq 1 "$term_rc" "exit status with the main thread stuck"
[ "$term_ms" -ge 3900 ] || fail "exited after $term_ms ms: before drain_timeout + grace (4 s)"
[ "$term_ms" -le 5500 ] || fail "exited after $term_ms ms: past drain_timeout + grace (4 s)"
ok "tick stuck: SIGTERM ended crlgen in $term_ms ms"
expect_grep "error: shutdown: still running 4\.0 s after SIGTERM; the main thread is in phase \"tick: CRL publication\"" \
	"$T/crlgen.log" "the watchdog names the main thread's phase"
cmp -s "$PKI/crl/ca1.crl" "$T/before.crl" || fail "the published CRL changed"
openssl crl -inform DER -in "$PKI/crl/ca1.crl" -noout -CAfile "$PKI/chain1.pem" 2>&1 | grep -q "verify OK" ||
	fail "the published CRL no longer verifies"
ok "the published CRL is intact"
rm -f "$T/hang"
done_ok
