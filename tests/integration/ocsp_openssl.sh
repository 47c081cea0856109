#!/usr/bin/env bash
# ocspd against `openssl ocsp`: every leaf of ca1/ca2 (status, reason, verified signature, validity window),
# every CertID hash, nonce on and off, several certificates per request, unknown serials and issuers, and the
# start-up refusal of a signer certificate that may not sign for its CA.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ocsp_lib.bash"

ocsp_env
"$BIN/ocspd" -n -c "$CONF" >/dev/null || fail "ocspd -n on a good config"
ocsp_start

# Every leaf, with its expected status from the PKI's summary (expired ones are still in the store: good).
for ca in ca1 ca2; do
	tail -n +2 "$PKI/$ca/leaves.tsv" | while IFS=$'\t' read -r serial name status reason; do
		ocsp_q "$ca" "$serial"
		grep -q "Response verify OK" "$T/q.out" || fail "$ca $serial: signature"
		case $status in
		good | expired) want=good ;;
		hold) want=revoked; reason=certificateHold ;;
		*) want=$status ;;
		esac
		grep -q "^0x$serial: $want" "$T/q.out" || { cat "$T/q.out"; fail "$ca $serial ($name): want $want"; }
		if [ "$want" = revoked ] && [ "$reason" != - ] && [ "$reason" != unspecified ]; then
			grep -q "Reason: $reason" "$T/q.out" || { cat "$T/q.out"; fail "$ca $serial: reason $reason"; }
		fi
		if [ "$reason" = unspecified ]; then
			! grep -q "Reason:" "$T/q.out" || fail "$ca $serial: unspecified reason must be absent"
		fi
	done
done
ok "every leaf of ca1 and ca2: status and reason, signature verified"

# Validity window: thisUpdate now-ish, nextUpdate = thisUpdate + validity (86400).
ocsp_q ca1 1004 -resp_text
tu=$(sed -n 's/^ *This Update: //p' "$T/q.out" | head -1)
nu=$(sed -n 's/^ *Next Update: //p' "$T/q.out" | head -1)
d=$(($(date -d "$nu" +%s) - $(date -d "$tu" +%s)))
expect_eq 86400 "$d" "nextUpdate - thisUpdate = validity"
age=$(($(date +%s) - $(date -d "$tu" +%s)))
[ "$age" -ge -5 ] && [ "$age" -le 120 ] || fail "thisUpdate $tu is not current"
grep -q "Invalidity Date" "$T/q.out" && fail "no invalidity date on a good certificate"
ocsp_q ca1 100A -resp_text
grep -A1 "Invalidity Date" "$T/q.out" | grep 2024 >/dev/null || fail "invalidity date of 100A"
ok "validity window and invalidity date"

# Every CertID hash; the response CertID uses the request's algorithm (openssl matches it).
for h in sha1 sha256 sha384 sha512; do
	ocsp_q ca1 1006 -"$h" -resp_text
	grep -q "^0x1006: revoked" "$T/q.out" || fail "$h: status"
	grep -q "Hash Algorithm: $h" "$T/q.out" || fail "$h: response CertID algorithm"
done
ok "CertID hashes sha1 sha256 sha384 sha512"

# Nonce echoed (openssl checks it) ; without one, a cached answer.
ocsp_q ca1 1005 -resp_text
grep -q "OCSP Nonce" "$T/q.out" || fail "nonce not echoed"
grep -qi "nonce verify error" "$T/q.out" && fail "nonce mismatch"
ocsp_q ca1 1005 -no_nonce -resp_text
grep -q "OCSP Nonce" "$T/q.out" && fail "nonce in a nonce-less answer"
grep -q "^0x1005: good" "$T/q.out" || fail "1005 good without nonce"
ok "nonce on and off"

# Several certificates in one request, answered in order, both CAs' certificates of one CA.
openssl ocsp -issuer "$PKI/ca1.pem" -serial 0x1004 -serial 0x1006 -serial 0x1009 -serial 0x7777 -url "$URL" \
	-CAfile "$PKI/root.pem" -verify_other "$PKI/ca1.pem" -resp_text >"$T/multi.out" 2>&1 || fail "multi"
grep -q "Response verify OK" "$T/multi.out" || fail "multi: verify"
grep -q "^0x1004: good" "$T/multi.out" && grep -q "^0x1006: revoked" "$T/multi.out" &&
	grep -q "^0x1009: revoked" "$T/multi.out" && grep -q "^0x7777: unknown" "$T/multi.out" || {
	cat "$T/multi.out"
	fail "multi: statuses"
}
expect_eq "1004 1006 1009 7777" "$(sed -n 's/^ *Serial Number: //p' "$T/multi.out" | head -4 | tr '\n' ' ' | sed 's/ $//')" \
	"several CertIDs answered in order"
# Over max_certids (8): malformedRequest.
args=()
for i in $(seq 1 9); do args+=(-serial "0x100$i"); done
openssl ocsp -issuer "$PKI/ca1.pem" "${args[@]}" -url "$URL" -noverify >"$T/many.out" 2>&1 || true
expect_grep "malformedrequest" "$T/many.out" "9 CertIDs: malformedRequest"

# Unknown serial: unknown (default policy). Issuer in the store but not served (cafile): unauthorized.
ocsp_q ca1 DEAD
grep -q "^0xDEAD: unknown" "$T/q.out" || fail "unknown serial"
openssl ocsp -issuer "$PKI/cafile.pem" -serial 0x1000 -url "$URL" -noverify >"$T/unauth.out" 2>&1 || true
expect_grep "unauthorized" "$T/unauth.out" "unserved issuer: unauthorized"
# A CertID of ca2 is signed by ca2's delegated responder (responder id by name).
ocsp_q ca2 1006 -resp_text
grep -q "Responder Id: C *=.*ocsp2\|Responder Id: .*CN *= *.*" "$T/q.out" || fail "ca2: responder id by name"
ok "unknown serial, unserved issuer, second CA"
daemon_stop ocspd || fail "ocspd exit status on SIGTERM"

# Policies: unknown_serial = "revoked" (RFC 6960 4.4.8), unknown_issuer = "unknown".
OCSP_EXTRA='unknown_serial = "revoked"; unknown_issuer = "unknown";'
ocsp_conf
ocsp_start
ocsp_q ca1 DEAD -resp_text
grep -q "^0xDEAD: revoked" "$T/q.out" || fail "unknown_serial revoked"
grep -q "Reason: certificateHold" "$T/q.out" || fail "4.4.8: certificateHold"
grep -q "Revocation Time: Jan  1 00:00:00 1970 GMT" "$T/q.out" || fail "4.4.8: 1970-01-01"
# OpenSSL names id-pkix-ocsp-extended-revoke (1.3.6.1.5.5.7.48.1.9) "valid".
grep -A4 "Response Extensions" "$T/q.out" | grep "^ *valid: *$" >/dev/null || fail "4.4.8: extended revoke extension"
openssl ocsp -issuer "$PKI/cafile.pem" -serial 0x1000 -url "$URL" -noverify >"$T/unk.out" 2>&1 || true
expect_grep "^0x1000: unknown" "$T/unk.out" "unknown_issuer = unknown"
daemon_stop ocspd || true

# The CA signing for itself, responder id by name, no certificate included: verified with the CA as signer.
OCSP_EXTRA="" OCSP_CAS='{ issuer = "ca1"; signer = "ca1"; responder_id = "name"; include_cert = false; }'
ocsp_conf
ocsp_start
ocsp_q ca1 1006 -VAfile "$PKI/ca1.pem"
grep -q "^0x1006: revoked" "$T/q.out" || fail "CA-signed response"
ok "CA as its own responder"
daemon_stop ocspd || true

# Start-up refusals: a signer without id-kp-OCSPSigning (the TSA cert), and one of another CA (ocsp2 for ca1).
for bad in tsa ocsp2; do
	OCSP_CAS="{ issuer = \"ca1\"; signer = \"$bad\"; }"
	ocsp_conf
	if "$BIN/ocspd" -c "$CONF" >"$T/bad.log" 2>&1; then fail "ocspd started with signer $bad for ca1"; fi
	expect_grep "refused" "$T/bad.log" "signer $bad refused at start"
done
expect_grep "OCSPSigning|not issued" "$T/bad.log" "refusal names the reason"

# Configuration errors: unknown key, bad policy value, validity out of the BR's range.
for bad in 'bogus = 1;' 'nonce_policy = "sometimes";' 'validity = 3600;' 'unknown_serial = "good";'; do
	OCSP_CAS='{ issuer = "ca1"; signer = "ocsp1"; }' OCSP_EXTRA=$bad
	ocsp_conf
	if "$BIN/ocspd" -n -c "$CONF" >"$T/n.log" 2>&1; then fail "ocspd -n accepted: $bad"; fi
	grep -q "va.conf" "$T/n.log" || fail "error names the file: $bad"
done
for cas in '{ issuer = "ca1"; signer = "nosuch"; }' '{ issuer = "ca1"; signer = "ocsp1"; }, { issuer = "ca1"; signer = "ocsp1"; }' \
	'{ issuer = "ca1"; }' '{ issuer = "ca1"; signer = "ocsp1"; responder_id = "hash"; }' '{ issuer = "ca1"; signer = "ocsp1"; extra = 1; }'; do
	OCSP_EXTRA="" OCSP_CAS=$cas
	ocsp_conf
	if "$BIN/ocspd" -n -c "$CONF" >"$T/n.log" 2>&1; then fail "ocspd -n accepted cas: $cas"; fi
	grep -q "ocspd.cas\|va.conf" "$T/n.log" || { cat "$T/n.log"; fail "no location for: $cas"; }
done
ok "ocspd -n rejects bad configurations"
# A CA that is not in the store: refused at start, with the command that fixes it.
OCSP_CAS='{ issuer = "nosuchca"; signer = "ocsp1"; }'
ocsp_conf
"$BIN/ocspd" -n -c "$CONF" >/dev/null || fail "-n checks the file only"
if "$BIN/ocspd" -c "$CONF" >"$T/nostore.log" 2>&1; then fail "ocspd started for a CA missing from the store"; fi
expect_grep "not in the store" "$T/nostore.log" "unknown CA refused at start"
done_ok
