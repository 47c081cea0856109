#!/usr/bin/env bash
# vactl on the project's demo PKI (scripts/pki.sh through pki_setup): the three `openssl ca` databases are
# imported and every leaf's status and reason compared with the PKI's own summary (leaves.tsv); the certificate
# directories agree with the indexes; another CA's certificates, a PEM bundle, a chain file, revocation by
# certificate file, and a certificate chaining to the root.
. "$(dirname "$0")/../lib.sh"
pki_setup

V="$BIN/vactl"
S=$T/store
"$V" -q -s "$S" init || fail "init"
for ca in ca1 ca2 cafile; do
	"$V" -q -s "$S" ca add "$ca" "$PKI/$ca.pem" || fail "ca add $ca"
	"$V" -s "$S" import "$ca" --index "$PKI/$ca/index.txt" >"$T/imp-$ca.out" || fail "import $ca"
	n=$(wc -l <"$PKI/$ca/index.txt")
	expect_grep "$n entries: $n added" "$T/imp-$ca.out" "$ca: every index line added"

	# Entry by entry against the PKI's summary (serial, name, status, reason).
	checked=0
	while IFS=$'\t' read -r serial name status reason; do
		[ "$serial" = serial ] && continue
		line=$("$V" -s "$S" status "$ca" "$serial") || fail "$ca $name ($serial): status failed"
		got_status=$(cut -f3 <<<"$line")
		got_reason=$(cut -f6 <<<"$line")
		[ "$status" = expired ] && status=good
		[ "$got_status" = "$status" ] || fail "$ca $name: status $got_status, expected $status"
		# Reason names compared without case (leaves.tsv writes cACompromise, OpenSSL CACompromise).
		[ "${got_reason,,}" = "${reason,,}" ] || fail "$ca $name: reason $got_reason, expected $reason"
		checked=$((checked + 1))
	done <"$PKI/$ca/leaves.tsv"
	[ "$checked" -ge 8 ] || fail "$ca: only $checked leaves compared"
	ok "$ca: $checked leaves match leaves.tsv"

	"$V" -s "$S" import "$ca" "$PKI/$ca/certs" >"$T/certs-$ca.out" 2>/dev/null || fail "$ca: certificate import"
	expect_grep "$n entries: 0 added, 0 updated, $n unchanged" "$T/certs-$ca.out" "$ca: certificates agree"
done
inv=$(awk -F'\t' '$2 == "ca1-invalidity" { print $1 }' "$PKI/ca1/leaves.tsv")
expect_eq "2024-03-01T12:00:00Z" "$("$V" -s "$S" status ca1 "$inv" | cut -f7)" "ca1 invalidity date"

# Another CA's certificates are refused, all of them, nothing applied.
before=$("$V" -s "$S" stats | awk '$1 == "changes" { print $2 }')
! "$V" -s "$S" import ca1 "$PKI/ca2/certs" 2>"$T/wrong.err" || fail "ca2 certificates accepted under ca1"
expect_grep "was not issued by 'ca1': its issuer name is not the CA's subject" "$T/wrong.err" "wrong CA named"
expect_eq "$before" "$("$V" -s "$S" stats | awk '$1 == "changes" { print $2 }')" "nothing applied"

# A PEM bundle of many certificates.
cat "$PKI"/ca1/certs/*.pem >"$T/bundle.pem"
"$V" -s "$S" import ca1 "$T/bundle.pem" >"$T/bundle.out" 2>/dev/null || fail "bundle import"
expect_grep "$(ls "$PKI"/ca1/certs/*.pem | wc -l) entries: 0 added" "$T/bundle.out" "PEM bundle read whole"

# A chain file is not one CA certificate; the root is, and ca1 is one of its certificates.
! "$V" -s "$S" ca add chain "$PKI/chain1.pem" 2>"$T/chain.err" || fail "chain accepted as a CA"
expect_grep "holds 2 certificates, expected one" "$T/chain.err" "chain refused"
"$V" -q -s "$S" ca add root "$PKI/root.pem" || fail "ca add root"
"$V" -s "$S" import root "$PKI/ca1.pem" "$PKI/ca2.pem" >"$T/root.out" || fail "import of the CAs under root"
expect_grep "2 entries: 2 added" "$T/root.out" "CA certificates recorded under root"
! "$V" -s "$S" import root "$PKI/ocsp1.pem" 2>/dev/null || fail "ocsp1 (issued by ca1) accepted under root"
ok "ocsp1 refused under root"

# Revoke and query by certificate file.
alice=$(awk -F'\t' '$2 == "ca1-alice" { print $1 }' "$PKI/ca1/leaves.tsv")
"$V" -q -s "$S" revoke ca1 --cert "$PKI/ca1/certs/$alice.pem" --reason keyCompromise || fail "revoke --cert"
expect_eq "revoked keyCompromise" "$("$V" -s "$S" status ca1 --cert "$PKI/ca1/certs/$alice.pem" | cut -f3,6 |
	tr '\t' ' ')" "revoked by certificate file"
! "$V" -s "$S" status ca2 --cert "$PKI/ca1/certs/$alice.pem" 2>/dev/null || fail "status under the wrong CA"
ok "status --cert under the wrong CA refused"
"$V" -s "$S" check 2>/dev/null || fail "check"
ok "check"
done_ok
