#!/usr/bin/env bash
# crl_clients: CRLs published by `crlgen --once` read by real clients (openssl crl/verify, GnuTLS certtool,
# python3-cryptography): every reason, hold, invalidity date, numbers increasing across runs, delta CRLs with
# removeFromCRL, `openssl verify -crl_check` rejecting revoked certificates; config checks and start-up errors.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/crl_lib.bash"

text() { openssl crl -inform DER -in "$1" -noout -text; }
serials() { text "$1" | awk '/Serial Number:/ { print $3 }' | sort; }
to_pem() { openssl crl -inform DER -in "$1" -out "$2"; }

check_keytype() {
	local kt=$1 d
	crl_env "$kt"
	d="$PKI/crl"
	CRLGEN -n >"$T/n.out" 2>&1 || { cat "$T/n.out"; fail "$kt: -n on a good config"; }
	CRLGEN --once 2>"$T/once1.log" || { cat "$T/once1.log"; fail "$kt: first --once"; }
	for n in ca1 ca2 cafile; do
		[ -s "$d/$n.crl" ] || fail "$kt: $n.crl not published"
		expect_eq 644 "$(stat -c %a "$d/$n.crl")" "$kt: $n.crl is world-readable"
	done
	[ ! -e "$d/ca1-delta.crl" ] || fail "$kt: a delta without a base CRL"

	# openssl: signature with the CA certificate, structure, every reason as the CA recorded it.
	openssl crl -inform DER -in "$d/ca1.crl" -CAfile "$PKI/chain1.pem" -noout -verify 2>"$T/v.out" ||
		{ cat "$T/v.out"; fail "$kt: openssl crl -verify"; }
	expect_grep 'verify OK' "$T/v.out" "$kt: openssl crl -verify ca1"
	openssl crl -inform DER -in "$d/cafile.crl" -CAfile "$PKI/chainfile.pem" -noout -verify 2>&1 |
		grep -q 'verify OK' || fail "$kt: cafile CRL (file key) does not verify"
	text "$d/ca1.crl" >"$T/ca1.txt"
	for r in 'Key Compromise' 'Superseded' 'Cessation Of Operation' 'Certificate Hold' 'Affiliation Changed' \
		'Invalidity Date' 'Version 2' 'X509v3 Authority Key Identifier' 'Issuing Distribution Point: critical' \
		'Freshest CRL' 'URI:http://127.0.0.1:8082/crl/ca1-delta.crl'; do
		expect_grep "$r" "$T/ca1.txt" "$kt: ca1 CRL shows $r"
	done
	expect_eq 1 "$(crl_number "$d/ca1.crl")" "$kt: first CRL number"
	! grep -q 'Delta CRL Indicator' "$T/ca1.txt" || fail "$kt: full CRL marked delta"
	# The same revoked serials as `openssl ca -gencrl` on the same index.txt.
	openssl crl -in "$PKI/ca1/openssl.crl" -noout -text | awk '/Serial Number:/ { print $3 }' | sort >"$T/want"
	serials "$d/ca1.crl" >"$T/got"
	diff "$T/want" "$T/got" || fail "$kt: entries differ from openssl ca -gencrl"
	ok "$kt: same $(wc -l <"$T/got") entries as openssl ca -gencrl"
	# The issuer's certificate and key identifier, and the right signature algorithm.
	openssl x509 -in "$PKI/ca1.pem" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' ' >"$T/ski"
	grep -A1 'Authority Key Identifier' "$T/ca1.txt" | tail -1 | tr -d ' ' | grep -qFf "$T/ski" ||
		fail "$kt: AKI is not the CA's SKI"
	if [ "$kt" = ec ]; then expect_grep 'ecdsa-with-SHA256' "$T/ca1.txt" "$kt: ECDSA signature"; fi

	# python3-cryptography: loader, signature, reason of each entry, no reason for "unspecified".
	$PY - "$d/ca1.crl" "$PKI/ca1.pem" <<'PYEOF' >"$T/py.out" || { cat "$T/py.out"; fail "$kt: python check"; }
import sys
from cryptography import x509
crl = x509.load_der_x509_crl(open(sys.argv[1], 'rb').read())
ca = x509.load_pem_x509_certificate(open(sys.argv[2], 'rb').read())
assert crl.is_signature_valid(ca.public_key()), "bad signature"
assert crl.issuer == ca.subject
want = {0x1006: 'key_compromise', 0x1007: 'superseded', 0x1008: 'cessation_of_operation',
        0x1009: 'certificate_hold', 0x100a: 'key_compromise', 0x100b: None, 0x100d: 'key_compromise',
        0x100e: 'affiliation_changed'}
got = {}
for r in crl:
    try:
        got[r.serial_number] = r.extensions.get_extension_for_class(x509.CRLReason).value.reason.name
    except x509.ExtensionNotFound:
        got[r.serial_number] = None
    if r.serial_number == 0x100a:
        inv = r.extensions.get_extension_for_class(x509.InvalidityDate).value.invalidity_date
        assert inv.strftime('%Y%m%d%H%M%S') == '20240301120000', inv
assert got == want, got
print("python ok", len(got))
PYEOF
	expect_grep 'python ok 8' "$T/py.out" "$kt: python3-cryptography reads and verifies ca1"

	# GnuTLS certtool.
	certtool --crl-info --inder --infile "$d/ca1.crl" >"$T/ct.out" 2>&1 || fail "$kt: certtool --crl-info"
	expect_grep 'Revoked certificates \(8\)' "$T/ct.out" "$kt: certtool counts 8 entries"
	to_pem "$d/ca1.crl" "$T/ca1.crl.pem"
	certtool --verify-crl --infile "$T/ca1.crl.pem" --load-ca-certificate "$PKI/ca1.pem" >"$T/ctv.out" 2>&1 ||
		{ cat "$T/ctv.out"; fail "$kt: certtool --verify-crl"; }
	expect_grep 'Verified' "$T/ctv.out" "$kt: certtool --verify-crl"
	# ... and refuses it against another CA.
	if certtool --verify-crl --infile "$T/ca1.crl.pem" --load-ca-certificate "$PKI/ca2.pem" >/dev/null 2>&1; then
		fail "$kt: certtool accepted ca1's CRL with ca2"
	fi

	# openssl verify -crl_check: revoked leaves rejected, good ones accepted.
	cat "$PKI/root.pem" "$PKI/ca1.pem" >"$T/trust.pem"
	if openssl verify -crl_check -CAfile "$T/trust.pem" -CRLfile "$T/ca1.crl.pem" "$PKI/ca1/certs/1006.pem" \
		>"$T/ver.out" 2>&1; then fail "$kt: revoked 1006 accepted"; fi
	expect_grep 'certificate revoked' "$T/ver.out" "$kt: openssl verify -crl_check rejects 1006"
	openssl verify -crl_check -CAfile "$T/trust.pem" -CRLfile "$T/ca1.crl.pem" "$PKI/ca1/certs/1004.pem" \
		>"$T/ver.out" 2>&1 || { cat "$T/ver.out"; fail "$kt: good 1004 rejected"; }
	ok "$kt: openssl verify -crl_check accepts good 1004"

	# Second run ("restart"): number 2, the previous CRL kept, a delta on base 1.
	cp "$d/ca1.crl" "$T/ca1.1.crl"
	CRLGEN --once 2>"$T/once2.log" || { cat "$T/once2.log"; fail "$kt: second --once"; }
	expect_eq 2 "$(crl_number "$d/ca1.crl")" "$kt: number increases across runs"
	cmp -s "$T/ca1.1.crl" "$d/ca1.crl.prev" || fail "$kt: previous CRL not kept as ca1.crl.prev"
	[ -s "$d/ca1-delta.crl" ] || fail "$kt: no delta CRL on the second run"
	[ ! -e "$d/cafile-delta.crl" ] || fail "$kt: delta published with delta = false"
	expect_eq 2 "$(crl_number "$d/ca1-delta.crl")" "$kt: delta carries the full CRL's number"
	expect_eq 1 "$(crl_field "$d/ca1-delta.crl" 'X509v3 Delta CRL Indicator')" "$kt: delta names base 1"
	text "$d/ca1-delta.crl" >"$T/delta.txt"
	expect_grep 'Delta CRL Indicator: critical' "$T/delta.txt" "$kt: deltaCRLIndicator is critical"
	! grep -q 'Freshest CRL' "$T/delta.txt" || fail "$kt: freshestCRL in a delta (RFC 5280 5.2.6)"
	! grep -q 'Serial Number' "$T/delta.txt" || fail "$kt: changes in a delta with none"

	# Changes: revoke, hold, release; the next delta lists exactly those.
	VACTL revoke ca1 1004 --reason CACompromise
	VACTL hold ca1 1005
	VACTL release ca1 1009
	CRLGEN --once 2>"$T/once3.log" || { cat "$T/once3.log"; fail "$kt: third --once"; }
	expect_eq 3 "$(crl_number "$d/ca1-delta.crl")" "$kt: delta number 3"
	expect_eq 2 "$(crl_field "$d/ca1-delta.crl" 'X509v3 Delta CRL Indicator')" "$kt: delta names base 2"
	openssl crl -inform DER -in "$d/ca1-delta.crl" -CAfile "$PKI/chain1.pem" -noout -verify 2>&1 |
		grep -q 'verify OK' || fail "$kt: delta CRL does not verify"
	$PY - "$d/ca1-delta.crl" "$d/ca1.crl" "$PKI/ca1.pem" <<'PYEOF' >"$T/pyd.out" || { cat "$T/pyd.out"; fail "$kt: python delta"; }
import sys
from cryptography import x509
delta = x509.load_der_x509_crl(open(sys.argv[1], 'rb').read())
full = x509.load_der_x509_crl(open(sys.argv[2], 'rb').read())
ca = x509.load_pem_x509_certificate(open(sys.argv[3], 'rb').read())
assert delta.is_signature_valid(ca.public_key())
assert delta.extensions.get_extension_for_class(x509.DeltaCRLIndicator).value.crl_number == 2
r = {e.serial_number: e.extensions.get_extension_for_class(x509.CRLReason).value.reason.name for e in delta}
assert r == {0x1004: 'ca_compromise', 0x1005: 'certificate_hold', 0x1009: 'remove_from_crl'}, r
f = {e.serial_number for e in full}
assert 0x1004 in f and 0x1005 in f and 0x1009 not in f, f
print("delta ok")
PYEOF
	expect_grep 'delta ok' "$T/pyd.out" "$kt: delta lists revoke, hold and removeFromCRL; full CRL agrees"
	certtool --crl-info --inder --infile "$d/ca1-delta.crl" >"$T/ctd.out" 2>&1 || fail "$kt: certtool delta"
	expect_grep 'Revoked certificates \(3\)' "$T/ctd.out" "$kt: certtool reads the delta"
	to_pem "$d/ca1.crl" "$T/ca1.crl.pem"
	if openssl verify -crl_check -CAfile "$T/trust.pem" -CRLfile "$T/ca1.crl.pem" "$PKI/ca1/certs/1004.pem" \
		>"$T/ver.out" 2>&1; then fail "$kt: newly revoked 1004 accepted"; fi
	expect_grep 'certificate revoked' "$T/ver.out" "$kt: newly revoked 1004 rejected with the new CRL"
	openssl verify -crl_check -CAfile "$T/trust.pem" -CRLfile "$T/ca1.crl.pem" "$PKI/ca1/certs/1009.pem" \
		>/dev/null 2>&1 || fail "$kt: released 1009 still rejected"
	ok "$kt: released hold 1009 accepted again"
}

check_keytype rsa
check_keytype ec

# Configuration problems: each reported with its line, non-zero exit.
bad() { # what sed-expression
	cp "$CONF" "$T/bad.conf"
	sed -i "$2" "$T/bad.conf"
	if "$BIN/crlgen" -c "$T/bad.conf" -n >"$T/bad.out" 2>&1; then fail "-n accepted: $1"; fi
	expect_grep "$3" "$T/bad.out" "-n rejects $1"
}
crl_conf
bad 'an unknown key' 's/publish_dir = /bogus = 1; publish_dir = /' "bad.conf:[0-9]+: unknown key 'bogus'"
bad 'retention below interval (RFC 5280 3.3)' '0,/retention = -1/s//retention = 60/' 'bad.conf:[0-9]+: .*retention'
bad 'an unknown signer' '0,/signer = "ca1"/s//signer = "nope"/' "signer 'nope' is not in the signers list"
bad 'a name with a slash' '0,/name = "ca1"; issuer/s//name = "a\/b"; issuer/' 'name must be'
bad 'a name ending in -delta' '0,/name = "ca1"; issuer/s//name = "x-delta"; issuer/' 'name must be'
bad 'a duplicate issuer' 's/issuer = "ca2"/issuer = "ca1"/' 'must be unique'
bad 'validity not above interval' "s/validity = $CRL_VALIDITY/validity = 3600/" 'validity must be longer'
bad 'a non-URI idp' 's#idp = "http://127.0.0.1:8082/crl/ca1.crl"#idp = "no uri"#' 'idp must be a URI'
bad 'a wrong type' 's/interval = 3600/interval = "hour"/' 'interval must be'
bad 'a missing crls list' 's/crls = (/crlz = (/' "unknown key 'crlz'"

# Start-up errors: an issuer the store does not know, a signer without the CA's key.
sed 's/issuer = "ca2"/issuer = "nosuch"/' "$CONF" >"$PKI/unk.conf"
if "$BIN/crlgen" -c "$PKI/unk.conf" --once >"$T/unk.out" 2>&1; then fail "unknown issuer accepted"; fi
expect_grep "issuer 'nosuch' not in the store" "$T/unk.out" "unknown issuer refused"
sed 's/signer = "ca2"/signer = "ca1"/' "$CONF" >"$PKI/mis.conf"
if "$BIN/crlgen" -c "$PKI/mis.conf" --once >"$T/mis.out" 2>&1; then fail "foreign signer accepted"; fi
expect_grep "does not hold the key of issuer 'ca2'" "$T/mis.out" "a signer without the CA's key refused"
if "$BIN/crlgen" >/dev/null 2>&1; then fail "no -c accepted"; fi
ok "usage error without -c"
done_ok
