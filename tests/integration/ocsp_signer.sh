#!/usr/bin/env bash
# The HSM token goes away while ocspd runs: requests that need a signature get tryLater (an OCSP response, not an
# HTTP error), /readyz turns 503, cached answers keep being served; when the token comes back, ocspd recovers
# without a restart. Also nonce_policy = "ignore": nonce requests answered from the cache, without the nonce.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ocsp_lib.bash"

ocsp_env
ocsp_start
resp_status() {
	openssl ocsp -respin "$1" -resp_text -noverify 2>&1 |
		sed -n 's/^ *OCSP Response Status: \([a-zA-Z]*\).*/\1/p; s/^Responder Error: \([a-zA-Z]*\).*/\1/p' | head -1
}
post() { # DER-request OUT
	curl -s -o "$2" -w '%{http_code}' -H 'Content-Type: application/ocsp-request' --data-binary @"$1" "$URL/"
}
openssl ocsp -issuer "$PKI/ca1.pem" -serial 0x1004 -no_nonce -reqout "$T/cached.req" >/dev/null 2>&1
openssl ocsp -issuer "$PKI/ca1.pem" -serial 0x1005 -nonce -reqout "$T/nonce.req" >/dev/null 2>&1
expect_eq 200 "$(post "$T/cached.req" "$T/c0.der")" "cached request before"
expect_eq successful "$(resp_status "$T/c0.der")" "cached answer before"
expect_eq successful "$(post "$T/nonce.req" "$T/n0.der" >/dev/null; resp_status "$T/n0.der")" "nonce answer before"

tokdir=$(sed -n 's/^directories.tokendir *= *//p' "$PKI/softhsm2.conf")
[ -d "$tokdir" ] || fail "token directory $tokdir"
mv "$tokdir" "$tokdir.gone"
expect_eq 200 "$(post "$T/nonce.req" "$T/n1.der")" "HTTP 200 while the token is away"
expect_eq trylater "$(resp_status "$T/n1.der")" "signature needed, token away: tryLater"
for _ in $(seq 30); do
	[ "$(http_code GET "$URL/readyz")" = 503 ] && break
	sleep 0.1
done
expect_eq 503 "$(http_code GET "$URL/readyz")" "/readyz fails while the signer is down"
post "$T/cached.req" "$T/c1.der" >/dev/null
cmp -s "$T/c0.der" "$T/c1.der" || fail "cached answer not served while the token is away"
ok "cached answer still served"

mv "$tokdir.gone" "$tokdir"
for _ in $(seq 50); do
	post "$T/nonce.req" "$T/n2.der" >/dev/null
	[ "$(resp_status "$T/n2.der")" = successful ] && break
	sleep 0.1
done
expect_eq successful "$(resp_status "$T/n2.der")" "signing again once the token is back"
wait_http "$URL/readyz" 10
ok "ready again without a restart"
daemon_stop ocspd || fail "SIGTERM exit status"

# nonce_policy = "ignore": the nonce request gets the cached (nonce-less) answer.
OCSP_EXTRA='nonce_policy = "ignore";'
ocsp_conf
ocsp_start
openssl ocsp -issuer "$PKI/ca1.pem" -serial 0x1004 -nonce -url "$URL" -CAfile "$PKI/root.pem" \
	-verify_other "$PKI/ca1.pem" >"$T/ig.out" 2>&1 || { cat "$T/ig.out"; fail "nonce ignore query"; }
expect_grep "WARNING: no nonce in response" "$T/ig.out" "ignore: answered without the nonce"
expect_grep "^0x1004: good" "$T/ig.out" "ignore: status"
openssl ocsp -issuer "$PKI/ca1.pem" -serial 0x1004 -nonce -reqout "$T/ig.req" >/dev/null 2>&1
post "$T/ig.req" "$T/ig1.der" >/dev/null
post "$T/cached.req" "$T/ig2.der" >/dev/null
cmp -s "$T/ig1.der" "$T/ig2.der" || fail "ignore: not the cached answer"
ok "ignore: the nonce request got the cached answer"
done_ok
