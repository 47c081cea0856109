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
	$PY - "$d/ca1.crl" "$PKI/ca1.pem" "$PKI/ca1/leaves.tsv" <<'PYEOF' >"$T/py.out" || { cat "$T/py.out"; fail "$kt: python check"; }
import sys
from cryptography import x509
crl = x509.load_der_x509_crl(open(sys.argv[1], 'rb').read())
ca = x509.load_pem_x509_certificate(open(sys.argv[2], 'rb').read())
assert crl.is_signature_valid(ca.public_key()), "bad signature"
assert crl.issuer == ca.subject
names = {'keyCompromise': 'key_compromise', 'superseded': 'superseded', 'CACompromise': 'ca_compromise',
         'cessationOfOperation': 'cessation_of_operation', 'certificateHold': 'certificate_hold',
         'affiliationChanged': 'affiliation_changed', 'privilegeWithdrawn': 'privilege_withdrawn',
         'unspecified': None}
want = {}
for line in open(sys.argv[3]).read().splitlines()[1:]:
    serial, name, status, reason = line.split('\t')
    if status in ('revoked', 'hold'):
        want[int(serial, 16)] = names[reason]
got = {}
for r in crl:
    try:
        got[r.serial_number] = r.extensions.get_extension_for_class(x509.CRLReason).value.reason.name
    except x509.ExtensionNotFound:
        got[r.serial_number] = None
    if r.serial_number == 0x100a:
        inv = r.extensions.get_extension_for_class(x509.InvalidityDate).value.invalidity_date
        assert inv.strftime('%Y%m%d%H%M%S') == '20240301120000', inv
assert got == want, (got, want)
assert None in got.values() and 'certificate_hold' in got.values()
print("python ok", len(got))
PYEOF
	nrev=$(awk -F'\t' 'NR > 1 && ($3 == "revoked" || $3 == "hold")' "$PKI/ca1/leaves.tsv" | wc -l)
	expect_grep "python ok $nrev" "$T/py.out" "$kt: python3-cryptography reads and verifies ca1 ($nrev entries)"

	# GnuTLS certtool.
	certtool --crl-info --inder --infile "$d/ca1.crl" >"$T/ct.out" 2>&1 || fail "$kt: certtool --crl-info"
	expect_grep "Revoked certificates \\($nrev\\)" "$T/ct.out" "$kt: certtool counts $nrev entries"
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
bad 'delta_validity not above interval' '0,/delta_validity = 86400/s//delta_validity = 600/' 'delta_validity must be longer'
bad 'a non-URI idp' 's#idp = "http://127.0.0.1:8082/crl/ca1.crl"#idp = "no uri"#' 'idp must be a URI'
bad 'a wrong type' 's/interval = 3600/interval = "hour"/' 'interval must be'
bad 'a missing crls list' 's/crls = (/crlz = (/' "unknown key 'crlz'"

# Partitioned CRLs (a config change): ca1 split by serial range into two scopes, each with its own IDP.
python_part() {
	$PY - "$CONF" "$1" <<'PYEOF'
import re, sys
conf, mode = sys.argv[1], sys.argv[2]
s = open(conf).read()
lo = 'name = "ca1lo"; issuer = "ca1"; signer = "ca1"; validity = 604800; delta = true; serial_to = "1008";'
hi = 'name = "ca1hi"; issuer = "ca1"; signer = "ca1"; validity = 604800; delta = true; serial_from = "1008";'
if mode != 'noidp':
    lo += ' idp = "http://127.0.0.1:8082/crl/ca1lo.crl";'
    hi += ' idp = "http://127.0.0.1:8082/crl/ca1hi.crl";'
if mode == 'overlap':
    hi = hi.replace('serial_from = "1008"', 'serial_from = "1007"')
s = re.sub(r'crls = \(.*\);\s*\};', 'crls = ( { %s }, { %s } );\n};' % (lo, hi), s, flags=re.S)
open(sys.argv[1] + '.' + mode, 'w').write(s)
PYEOF
}
python_part ok
python_part noidp
python_part overlap
"$BIN/crlgen" -c "$CONF.ok" -n >/dev/null 2>&1 || { "$BIN/crlgen" -c "$CONF.ok" -n; fail "partition config refused"; }
if "$BIN/crlgen" -c "$CONF.noidp" -n >"$T/p.out" 2>&1; then fail "partition without idp accepted"; fi
expect_grep 'requires idp' "$T/p.out" "-n rejects a partition without idp (RFC 5280 5.2.5)"
if "$BIN/crlgen" -c "$CONF.overlap" -n >"$T/p.out" 2>&1; then fail "overlapping partitions accepted"; fi
expect_grep 'disjoint partitions' "$T/p.out" "-n rejects overlapping partitions"
"$BIN/crlgen" -c "$CONF.ok" --once 2>"$T/part.log" || { cat "$T/part.log"; fail "partitioned --once"; }
$PY - "$PKI/crl/ca1lo.crl" "$PKI/crl/ca1hi.crl" "$PKI/crl/ca1.crl" <<'PYEOF' >"$T/part.out" || { cat "$T/part.out"; fail "partition contents"; }
import sys
from cryptography import x509
lo, hi, full = ({r.serial_number for r in x509.load_der_x509_crl(open(f, 'rb').read())} for f in sys.argv[1:4])
assert lo and hi and not (lo & hi), (lo, hi)
assert all(s < 0x1008 for s in lo) and all(s >= 0x1008 for s in hi), (lo, hi)
assert lo | hi == full, (lo | hi, full)
print("partition ok", len(lo), len(hi))
PYEOF
expect_grep 'partition ok' "$T/part.out" "each revoked serial in exactly one partition, split at 1008"
for p in ca1lo ca1hi; do
	openssl crl -inform DER -in "$PKI/crl/$p.crl" -CAfile "$PKI/chain1.pem" -noout -verify 2>&1 | grep -q 'verify OK' ||
		fail "$p does not verify"
	text "$PKI/crl/$p.crl" | grep -q "URI:http://127.0.0.1:8082/crl/$p.crl" || fail "$p without its IDP"
done
ok "partitions verify and name themselves in their IDP"
# openssl verify -crl_check uses the partition whose IDP matches the certificate's CRL DP: the demo leaves
# point at ca1.crl, so a partition named otherwise does not cover them (RFC 5280 6.3.3 (b)(2)(i)).
openssl crl -inform DER -in "$PKI/crl/ca1hi.crl" -out "$T/hi.pem"
cat "$PKI/root.pem" "$PKI/ca1.pem" >"$T/trust.pem"
if openssl verify -crl_check -CAfile "$T/trust.pem" -CRLfile "$T/hi.pem" "$PKI/ca1/certs/1008.pem" >"$T/pv" 2>&1; then
	fail "a partition whose IDP does not match the certificate's CRL DP was used"
fi
expect_grep 'different CRL scope' "$T/pv" "openssl checks the partition's IDP against the CRL DP"

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
