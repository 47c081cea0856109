#!/usr/bin/env bash
# crl_daemon: the crlgen daemon end to end. Serves what it published (ETag, Last-Modified, Cache-Control,
# 304 on If-None-Match / If-Modified-Since, HEAD, 404); a `vactl revoke` shows up in the next full and delta
# CRL within change_delay and `openssl verify -crl_check` then rejects the certificate; with full_on_change =
# false only a delta is published on a change; numbers keep increasing across a restart.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/crl_lib.bash"

crl_env rsa
CRL_PORT=$(free_port)
crl_conf
URL="http://127.0.0.1:$CRL_PORT"
daemon_start crlgen "$BIN/crlgen" -c "$CONF"
wait_http "$URL/readyz"
ok "ready after the first publication"

# What is served is what was published.
curl -fsS -D "$T/h1" -o "$T/got.crl" "$URL/crl/ca1.crl"
cmp -s "$T/got.crl" "$PKI/crl/ca1.crl" || fail "served bytes differ from the published file"
expect_grep '^Content-Type: application/pkix-crl' "$T/h1" "Content-Type application/pkix-crl"
expect_grep '^ETag: "' "$T/h1" "ETag"
expect_grep '^Last-Modified: [A-Z][a-z][a-z], [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT' "$T/h1" "Last-Modified"
expect_grep '^Cache-Control: public, max-age=3600, no-transform' "$T/h1" "Cache-Control max-age: the interval, before nextUpdate"
expect_grep '^Expires: ' "$T/h1" "Expires"
etag=$(awk 'tolower($1) == "etag:" { print $2 }' "$T/h1" | tr -d '\r')
lm=$(awk -F': ' 'tolower($1) == "last-modified" { print $2 }' "$T/h1" | tr -d '\r')
expect_eq 304 "$(http_code GET "$URL/crl/ca1.crl" -H "If-None-Match: $etag")" "If-None-Match gives 304"
expect_eq 304 "$(http_code GET "$URL/crl/ca1.crl" -H "If-None-Match: \"x\", W/$etag")" "weak tag in a list: 304"
expect_eq 200 "$(http_code GET "$URL/crl/ca1.crl" -H 'If-None-Match: "other"')" "other ETag gives 200"
expect_eq 304 "$(http_code GET "$URL/crl/ca1.crl" -H "If-Modified-Since: $lm")" "If-Modified-Since gives 304"
expect_eq 200 "$(http_code GET "$URL/crl/ca1.crl" -H 'If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT')" \
	"older If-Modified-Since gives 200"
expect_eq 200 "$(http_code GET "$URL/crl/ca1.crl" -H 'If-Modified-Since: yesterday')" "bad date ignored"
expect_eq 304 "$(http_code GET "$URL/crl/ca1.crl" -H "If-None-Match: *")" "If-None-Match * gives 304"
curl -fsS -I "$URL/crl/ca1.crl" >"$T/head" || fail "HEAD"
expect_grep "^Content-Length: $(stat -c %s "$PKI/crl/ca1.crl")" "$T/head" "HEAD gives the length"
expect_eq 404 "$(http_code GET "$URL/crl/nosuch.crl")" "unknown CRL: 404"
expect_eq 404 "$(http_code GET "$URL/crl/ca1-delta.crl")" "no delta before a base exists: 404"
expect_eq 404 "$(http_code GET "$URL/crl/cafile-delta.crl")" "delta of a scope without deltas: 404"
expect_eq 404 "$(http_code GET "$URL/crl/../va.conf")" "no path traversal"
expect_eq 405 "$(http_code POST "$URL/crl/ca1.crl" -d x)" "POST: 405"
n1=$(crl_number "$T/got.crl")

# wait_number URL N: until the CRL served at URL has a number >= N (bounded: 15 s).
wait_number() {
	local i n
	for ((i = 0; i < 150; i++)); do
		if curl -fsS -o "$T/w.crl" "$1" 2>/dev/null; then
			n=$(crl_number "$T/w.crl")
			[ -n "$n" ] && [ "$n" -ge "$2" ] && return 0
		fi
		sleep 0.1
	done
	fail "$1 did not reach CRL number $2 (last: ${n:-none})"
}

# A revocation reaches the full and delta CRLs within change_delay (1 s here; the loop allows 15 s).
t0=$(date +%s)
VACTL revoke ca1 1004 --reason keyCompromise
wait_number "$URL/crl/ca1.crl" $((n1 + 1))
t1=$(date +%s)
[ $((t1 - t0)) -le 8 ] || fail "publication took $((t1 - t0)) s with change_delay 1 (tick 1 s)"
ok "revocation published in $((t1 - t0)) s"
curl -fsS -o "$T/full.crl" "$URL/crl/ca1.crl"
curl -fsS -o "$T/delta.crl" "$URL/crl/ca1-delta.crl"
openssl crl -inform DER -in "$T/full.crl" -noout -text | grep -A4 'Serial Number: 1004' >"$T/e" || fail "1004 not in full"
expect_grep 'Key Compromise' "$T/e" "1004 in the full CRL with its reason"
openssl crl -inform DER -in "$T/delta.crl" -noout -text >"$T/d.txt"
expect_grep 'Serial Number: 1004' "$T/d.txt" "1004 in the delta CRL"
expect_eq "$n1" "$(crl_field "$T/delta.crl" 'X509v3 Delta CRL Indicator')" "delta based on the previous full CRL"
[ "$(grep -c 'Serial Number' "$T/d.txt")" = 1 ] || fail "delta lists more than the change"
new_etag=$(curl -fsS -D - -o /dev/null "$URL/crl/ca1.crl" | awk 'tolower($1) == "etag:" { print $2 }' | tr -d '\r')
[ "$new_etag" != "$etag" ] || fail "ETag unchanged after a new CRL"
expect_eq 200 "$(http_code GET "$URL/crl/ca1.crl" -H "If-None-Match: $etag")" "old ETag gives 200 after a change"
openssl crl -inform DER -in "$T/full.crl" -out "$T/full.pem"
cat "$PKI/root.pem" "$PKI/ca1.pem" >"$T/trust.pem"
if openssl verify -crl_check -CAfile "$T/trust.pem" -CRLfile "$T/full.pem" "$PKI/ca1/certs/1004.pem" >"$T/v" 2>&1; then
	fail "openssl verify accepted revoked 1004"
fi
expect_grep 'certificate revoked' "$T/v" "openssl verify -crl_check rejects 1004 with the served CRL"
# Other scopes are not republished for a change of ca1.
curl -fsS -o "$T/ca2.crl" "$URL/crl/ca2.crl"
expect_eq 1 "$(crl_number "$T/ca2.crl")" "ca2 untouched by a change of ca1"
curl -fsS "$URL/metrics" >"$T/metrics"
expect_grep 'crlgen_publications_total\{crl="ca1",result="ok"\} [2-9]' "$T/metrics" "metrics count publications"

# Restart with full_on_change = false: numbers continue; a change publishes only a delta.
daemon_stop crlgen || fail "crlgen did not exit 0 on SIGTERM"
n2=$(crl_number "$PKI/crl/ca1.crl")
CRL_FULL_ON_CHANGE=false
crl_conf
daemon_start crlgen2 "$BIN/crlgen" -c "$CONF"
wait_http "$URL/readyz"
curl -fsS -o "$T/r.crl" "$URL/crl/ca1.crl"
expect_eq "$n2" "$(crl_number "$T/r.crl")" "no republication at restart when nothing is due"
VACTL hold ca1 1005
wait_number "$URL/crl/ca1-delta.crl" $((n2 + 1))
curl -fsS -o "$T/delta2.crl" "$URL/crl/ca1-delta.crl"
expect_eq "$n2" "$(crl_field "$T/delta2.crl" 'X509v3 Delta CRL Indicator')" "delta-only publication on base $n2"
openssl crl -inform DER -in "$T/delta2.crl" -noout -text >"$T/d2.txt"
expect_grep 'Serial Number: 1005' "$T/d2.txt" "held 1005 in the delta"
expect_grep 'Certificate Hold' "$T/d2.txt" "with certificateHold"
expect_eq "$n2" "$(crl_number "$PKI/crl/ca1.crl")" "full CRL not rebuilt for a change"
openssl crl -inform DER -in "$T/delta2.crl" -CAfile "$PKI/chain1.pem" -noout -verify 2>&1 | grep -q 'verify OK' ||
	fail "delta does not verify"
ok "delta verifies"
# SIGHUP: a new validity is applied and everything is republished at once.
CRL_VALIDITY=172800
crl_conf
kill -HUP "$crlgen2_pid"
wait_number "$URL/crl/ca1.crl" $((n2 + 2))
ok "SIGHUP republished the full CRL"
this=$(openssl crl -inform DER -in "$T/w.crl" -noout -lastupdate | cut -d= -f2)
next=$(openssl crl -inform DER -in "$T/w.crl" -noout -nextupdate | cut -d= -f2)
expect_eq 172800 $(($(date -d "$next" +%s) - $(date -d "$this" +%s))) "reloaded validity applied"
# A change that needs a restart is refused; the daemon keeps running with what it had.
sed -i 's/name = "ca2"; issuer = "ca2"/name = "ca2x"; issuer = "ca2"/' "$CONF"
kill -HUP "$crlgen2_pid"
for ((i = 0; i < 50; i++)); do grep -q 'restart crlgen to apply it' "$T/crlgen2.log" && break; sleep 0.1; done
expect_grep 'restart crlgen to apply it' "$T/crlgen2.log" "structural change refused on reload"
expect_eq 200 "$(http_code GET "$URL/crl/ca2.crl")" "still serving the running configuration"
# Nor may a reload change a CRL's scope under the base of its next delta (RFC 5280 5.2.4).
sed -i 's/name = "ca2x"; issuer = "ca2"/name = "ca2"; issuer = "ca2"/; s#idp = "http://127.0.0.1:8082/crl/ca1.crl"#idp = "http://127.0.0.1:8082/crl/ca1-other.crl"#' "$CONF"
grep -q 'ca1-other.crl' "$CONF" || fail "configuration not edited"
kill -HUP "$crlgen2_pid"
for ((i = 0; i < 50; i++)); do grep -q "a CRL's scope" "$T/crlgen2.log" && break; sleep 0.1; done
expect_grep "reload: a CRL's scope .idp, serial_from, serial_to. changed: restart crlgen" "$T/crlgen2.log" \
	"scope change refused on reload"
daemon_stop crlgen2 || fail "crlgen did not exit 0 on SIGTERM"
done_ok
