#!/usr/bin/env bash
# Cache invalidation through the store's change log: a certificate revoked, held or released with vactl is
# answered with its new status within one second, by GET (cached path) and POST; SIGHUP reloads the
# configuration (policies, CAs) without dropping the listener.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ocsp_lib.bash"

ocsp_env
ocsp_start

# get_status SERIAL: status of a nonce-less GET (the cached path), signature verified.
get_status() {
	local b64
	b64=$(ocsp_req_b64 ca1 "$1" -no_nonce)
	curl -s -o "$T/s.der" "$URL/$b64"
	openssl ocsp -respin "$T/s.der" -issuer "$PKI/ca1.pem" -no_nonce -serial "0x$1" -CAfile "$PKI/root.pem" \
		-verify_other "$PKI/ca1.pem" >"$T/s.out" 2>&1 || { cat "$T/s.out" >&2; fail "verify $1"; }
	grep -q "Response verify OK" "$T/s.out" || fail "signature of $1"
	sed -n "s/^0x$1: \([a-z]*\).*/\1/p" "$T/s.out"
}
# ms since the epoch
now_ms() { date +%s%3N; }
# change_then_expect SERIAL WANT vactl-args...: apply the change, then poll until WANT; the whole must take < 1 s.
change_then_expect() {
	local serial=$1 want=$2 t0 t1 st
	shift 2
	VACTL "$@"
	t0=$(now_ms)
	while :; do
		st=$(get_status "$serial")
		t1=$(now_ms)
		[ "$st" = "$want" ] && break
		[ $((t1 - t0)) -lt 3000 ] || fail "$serial still $st after $((t1 - t0)) ms ($*)"
		sleep 0.05
	done
	[ $((t1 - t0)) -le 1000 ] || fail "$serial became $want only after $((t1 - t0)) ms ($*)"
	ok "$*: $serial $want after $((t1 - t0)) ms"
}

metric() { curl -s -o "$T/m.txt" "$URL/metrics"; sed -n "s/^ocspd_$1 //p" "$T/m.txt"; }
# Pre-production: every certificate of both CAs gets its SHA-1 answer signed in the background.
ncerts=$(VACTL list | wc -l)
for _ in $(seq 100); do
	[ "$(metric cache_entries)" = "$ncerts" ] && break
	sleep 0.1
done
expect_eq "$ncerts" "$(metric cache_entries)" "pre-produced answers for every certificate"
# Single flight: 16 simultaneous first requests for one certificate (SHA-512: not pre-produced) cost 1 signature.
sig0=$(metric signatures_total)
b=$(ocsp_req_b64 ca1 1006 -no_nonce -sha512)
sfp=()
for i in $(seq 16); do
	curl -s --max-time 20 -o "$T/sf$i.der" "$URL/$b" &
	sfp+=($!)
done
wait "${sfp[@]}"
sig1=$(metric signatures_total)
expect_eq 1 $((sig1 - sig0)) "16 concurrent misses, one signature"
for i in $(seq 16); do cmp -s "$T/sf1.der" "$T/sf$i.der" || fail "single flight: answer $i differs"; done
openssl ocsp -respin "$T/sf1.der" -issuer "$PKI/ca1.pem" -sha512 -no_nonce -serial 0x1006 -noverify >"$T/sf.out" 2>&1 || true
expect_grep "^0x1006: revoked" "$T/sf.out" "single-flight answer"

expect_eq good "$(get_status 1005)" "1005 good (cached)"
expect_eq good "$(get_status 1005)" "1005 good again (cache hit)"
curl -s -o "$T/m.txt" "$URL/metrics"
grep -q "^ocspd_cache_hits_total [1-9]" "$T/m.txt" || fail "no cache hit recorded"
change_then_expect 1005 revoked revoke ca1 1005 --reason keyCompromise
openssl ocsp -respin "$T/s.der" -resp_text -noverify >"$T/rt.out" 2>&1 || true
grep -q "Revocation Reason: keyCompromise" "$T/rt.out" || fail "reason after revoke"
# The other hash algorithms' cached answers were dropped too.
b=$(ocsp_req_b64 ca1 1005 -no_nonce -sha256)
curl -s -o "$T/s256.der" "$URL/$b"
openssl ocsp -respin "$T/s256.der" -issuer "$PKI/ca1.pem" -sha256 -no_nonce -serial 0x1005 -noverify >"$T/s256.out" 2>&1 || true
grep -q "^0x1005: revoked" "$T/s256.out" || fail "sha256 answer after revoke"
ok "every hash algorithm's entry replaced"

expect_eq good "$(get_status 1004)" "1004 good before hold"
change_then_expect 1004 revoked hold ca1 1004
openssl ocsp -respin "$T/s.der" -resp_text -noverify >"$T/rt.out" 2>&1 || true
grep -q "Revocation Reason: certificateHold" "$T/rt.out" || fail "hold reason"
change_then_expect 1004 good release ca1 1004

# POST with nonce sees the change at once (never cached).
openssl ocsp -issuer "$PKI/ca1.pem" -serial 0x1005 -url "$URL" -CAfile "$PKI/root.pem" -verify_other "$PKI/ca1.pem" \
	>"$T/n.out" 2>&1
expect_grep "^0x1005: revoked" "$T/n.out" "POST with nonce: revoked"

# SIGHUP: switch unknown serials to "revoked" (RFC 6960 4.4.8); the listener stays, cached answers are rebuilt.
expect_eq unknown "$(get_status ABCD)" "unknown serial before reload"
OCSP_EXTRA='unknown_serial = "revoked";'
ocsp_conf
kill -HUP "$ocspd_pid"
for _ in $(seq 50); do
	grep -q "configuration reloaded" "$T/ocspd.log" && break
	sleep 0.1
done
expect_grep "configuration reloaded" "$T/ocspd.log" "SIGHUP reload"
expect_eq revoked "$(get_status ABCD)" "unknown serial after reload: revoked"
expect_eq revoked "$(get_status 1005)" "revoked stays revoked after reload"
# A broken configuration on SIGHUP keeps the running one.
echo 'ocspd = { bogus' >>"$CONF"
kill -HUP "$ocspd_pid"
for _ in $(seq 50); do
	[ "$(grep -c "reload" "$T/ocspd.log")" -ge 2 ] && break
	sleep 0.1
done
expect_eq revoked "$(get_status ABCD)" "still serving after a failed reload"
expect_eq 200 "$(http_code GET "$URL/readyz")" "ready after a failed reload"
daemon_stop ocspd || fail "SIGTERM exit status"
done_ok
