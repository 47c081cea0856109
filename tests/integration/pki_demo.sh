#!/usr/bin/env bash
# The demo/test PKI (scripts/pki.sh through pki_setup): chains and extensions checked with openssl, the token keys
# sign and are marked non-extractable, the openssl ca databases agree with leaves.tsv and with openssl's own CRL and OCSP
# answers, reruns reuse what exists, the EC variant; conf/va.conf passes the -n check of every binary built so far.
. "$VA_TOP/tests/lib.sh"

pki_setup
cd "$PKI"

# --- files and secrets -------------------------------------------------------------------------------------------
for f in softhsm2.conf pin engine.cnf root.pem root.key ca1.pem ca2.pem ocsp1.pem ocsp2.pem tsa.pem chain1.pem \
	chain2.pem ocsp1-file.pem ocsp1-file.key tsa-file.pem tsa-file.key cafile.pem cafile.key chainfile.pem \
	ca1/index.txt ca2/index.txt cafile/index.txt; do
	[ -s "$f" ] || fail "$f missing or empty"
done
ok "every documented file is there"
expect_eq 600 "$(stat -c %a pin)" "PIN file mode"
grep -q "^directories.tokendir = $PKI/tokens\$" softhsm2.conf || fail "softhsm2.conf does not point into the copy"
ok "softhsm2.conf points at the private copy"
softhsm2-util --show-slots | grep -Eq 'Label:[[:space:]]+va[[:space:]]*$' || fail "token va not found"
ok "token va present"
if grep -rIl --exclude=pin --exclude=so-pin -F "$(cat pin)" . >"$T/leak" 2>/dev/null; then
	fail "the PIN appears in $(cat "$T/leak")"
fi
ok "the PIN is only in the PIN files"

# --- chains, purposes and extensions -----------------------------------------------------------------------------
vfy() { openssl verify -x509_strict -CAfile root.pem "$@" >"$T/vfy" 2>&1; }
vfy ca1.pem ca2.pem cafile.pem || { cat "$T/vfy"; fail "issuing CAs do not chain to root"; }
vfy -untrusted ca1.pem ocsp1.pem tsa.pem ocsp1-file.pem tsa-file.pem || { cat "$T/vfy"; fail "ca1 certificates"; }
vfy -untrusted ca2.pem ocsp2.pem || { cat "$T/vfy"; fail "ocsp2"; }
vfy -untrusted chain1.pem -purpose ocsphelper ocsp1.pem ocsp1-file.pem || { cat "$T/vfy"; fail "ocsp1 purpose"; }
vfy -untrusted chain1.pem -purpose timestampsign tsa.pem tsa-file.pem || { cat "$T/vfy"; fail "tsa purpose"; }
ok "chains and purposes verify"
! vfy -untrusted ca2.pem ocsp1.pem || fail "ocsp1 verified under ca2"
! vfy -untrusted chain1.pem -purpose timestampsign ocsp1.pem || fail "ocsp1 accepted as a TSA"
! vfy ocsp1.pem || fail "ocsp1 verified without its CA"
ok "wrong issuer, wrong purpose and missing CA are refused"

ext() { openssl x509 -in "$1" -noout -ext "$2" 2>/dev/null; }
expect_grep 'critical' <(ext ca1.pem basicConstraints) "ca1 basicConstraints critical"
expect_grep 'CA:TRUE, pathlen:0' <(ext ca1.pem basicConstraints) "ca1 pathlen 0"
expect_grep 'Certificate Sign, CRL Sign' <(ext ca2.pem keyUsage) "ca2 keyCertSign+cRLSign"
for c in ca1 ca2 cafile; do
	ext "$c.pem" subjectKeyIdentifier | grep -q : || fail "$c has no SKI"
	ext "$c.pem" authorityKeyIdentifier | grep -q : || fail "$c has no AKI"
done
ok "issuing CAs carry SKI and AKI"
for c in ocsp1 ocsp2 ocsp1-file; do
	expect_grep 'OCSP Signing' <(ext "$c.pem" extendedKeyUsage) "$c EKU OCSPSigning"
	expect_grep 'OCSP No Check' <(ext "$c.pem" noCheck) "$c id-pkix-ocsp-nocheck"
	expect_grep 'Digital Signature' <(ext "$c.pem" keyUsage) "$c digitalSignature"
done
for c in tsa tsa-file; do
	ext "$c.pem" extendedKeyUsage >"$T/eku"
	expect_grep 'critical' "$T/eku" "$c EKU critical"
	expect_eq "Time Stamping" "$(sed -n '2p' "$T/eku" | sed 's/^ *//')" "$c EKU is timeStamping alone"
	expect_grep 'Digital Signature, Non Repudiation' <(ext "$c.pem" keyUsage) "$c keyUsage"
done
leaf=$(awk -F'\t' '$3 == "good" { print $1; exit }' ca1/leaves.tsv)
expect_grep 'URI:http://127.0.0.1:8080' <(ext "ca1/certs/$leaf.pem" authorityInfoAccess) "leaf AIA OCSP URL"
expect_grep 'URI:http://127.0.0.1:8082/crl/ca1.crl' <(ext "ca1/certs/$leaf.pem" crlDistributionPoints) "leaf CRL DP"
expect_grep 'TLS Web Client Authentication, E-mail Protection' <(ext "ca1/certs/$leaf.pem" extendedKeyUsage) \
	"leaf EKU clientAuth/emailProtection"

# --- token keys sign; they are sensitive and never extractable ---------------------------------------------------------------------
echo "data signed by the token $RANDOM" >"$T/data"
tsign() { # object -> $T/object.sig
	pki_openssl dgst -sha256 -keyform engine -sign "pkcs11:token=va;object=$1;type=private" -out "$T/$1.sig" \
		"$T/data" >/dev/null 2>&1
}
tverify() { # object cert
	openssl x509 -in "$2" -pubkey -noout >"$T/pub.pem"
	openssl dgst -sha256 -verify "$T/pub.pem" -signature "$T/$1.sig" "$T/data" >/dev/null 2>&1
}
for k in ca1:ca1.pem ca2:ca2.pem ocsp1:ocsp1.pem ocsp2:ocsp2.pem tsa:tsa.pem; do
	tsign "${k%%:*}" || fail "token key ${k%%:*} does not sign"
	tverify "${k%%:*}" "${k#*:}" || fail "signature of ${k%%:*} does not verify with ${k#*:}"
done
ok "the five token keys sign and match their certificates"
! tverify ocsp1 ocsp2.pem || fail "ocsp1's signature verified with ocsp2's key"
ok "a signature does not verify with another key"
cp pin "$T/pin.good"
echo 0000 >pin
! tsign ocsp1 || fail "signed with a wrong PIN"
cp "$T/pin.good" pin
ok "a wrong PIN is refused"
expect_eq 5 "$(pki_pkcs11 --list-objects --type privkey 2>/dev/null | grep -c 'label:')" "five private keys in the token"
pki_pkcs11 --list-objects --type privkey 2>/dev/null | grep -A3 'label:[[:space:]]*ocsp1' >"$T/attrs"
expect_grep 'sensitive, always sensitive, never extractable' "$T/attrs" "token keys are sensitive, never extractable"

# --- openssl ca databases ----------------------------------------------------------------------------------------
for ca in ca1 ca2 cafile; do
	n=0
	while IFS=$'\t' read -r serial name status reason; do
		[ "$serial" = serial ] && continue
		n=$((n + 1))
		line=$(awk -F'\t' -v s="$serial" '$4 == s' "$ca/index.txt")
		[ -n "$line" ] || fail "$ca: $serial not in index.txt"
		flag=${line%%$'\t'*}
		case "$status" in
		good | expired) [ "$flag" = V ] || fail "$ca $serial ($name): index flag $flag, want V" ;;
		revoked | hold) [ "$flag" = R ] || fail "$ca $serial ($name): index flag $flag, want R" ;;
		*) fail "$ca: bad status $status in leaves.tsv" ;;
		esac
		crt="$ca/certs/$serial.pem"
		expect_eq "CN=$name" "$(openssl x509 -in "$crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//; s/,.*//')" \
			"$ca $serial subject" >/dev/null
		if [ "$status" = expired ] || [[ $name == *expired* ]]; then
			! openssl x509 -in "$crt" -noout -checkend 0 >/dev/null || fail "$ca $serial should be expired"
		else
			vfy -untrusted "$ca.pem" "$crt" || { cat "$T/vfy"; fail "$ca $serial does not verify"; }
		fi
	done <"$ca/leaves.tsv"
	[ "$n" -ge 10 ] || fail "$ca has only $n leaves"
	# The CRL openssl made from the index lists exactly the R entries.
	openssl crl -in "$ca/openssl.crl" -CAfile "$ca.pem" -noout 2>&1 | grep -q 'verify OK' || fail "$ca CRL signature"
	openssl crl -in "$ca/openssl.crl" -noout -text | awk '/Serial Number:/ { print $3 }' | sort >"$T/crl.serials"
	awk -F'\t' '$1 == "R" { print $4 }' "$ca/index.txt" | sort >"$T/idx.serials"
	cmp -s "$T/crl.serials" "$T/idx.serials" || fail "$ca: CRL serials differ from index.txt R entries"
	ok "$ca: $n leaves match index.txt; openssl CRL lists every revoked one"
done
# The serials documented in scripts/pki.sh (other tests name them): serial, index flag, subject CN.
cat >"$T/want" <<'EOF'
1000 V VA Demo OCSP Signer 1
1001 V VA Demo TSA
1002 V VA Demo OCSP Signer 1 (file key)
1003 V VA Demo TSA (file key)
1004 V ca1-alice
1005 V ca1-bob
1006 R ca1-keycompromise
1007 R ca1-superseded
1008 R ca1-cessation
1009 R ca1-hold
100A R ca1-invalidity
100B R ca1-unspecified
100C V ca1-expired
100D R ca1-expired-revoked
100E R ca1-affiliation
2000 V VA Demo OCSP Signer 2
2001 V ca2-alice
2006 R ca2-hold
200B R ca2-cacompromise
200C R ca2-cacompromise-plain
200D R ca2-hold-plain
3000 V cafile-alice
3005 R cafile-hold
3009 R cafile-expired-revoked
80 V ca1-highbit
7FEEDDCCBBAA99887766554433221100FFEEDD01 R ca1-longserial
EOF
cat ca1/index.txt ca2/index.txt cafile/index.txt ca1x/index.txt |
	awk -F'\t' '{ sub(/.*CN=/, "", $6); print $4, $1, $6 }' >"$T/have"
grep -vxF -f "$T/have" "$T/want" >"$T/missing" && { cat "$T/missing" >&2; fail "serials differ from pki.sh's header"; }
ok "serials as documented in pki.sh"
vfy -untrusted ca1.pem ca1x/certs/80.pem ca1x/certs/7FEEDDCCBBAA99887766554433221100FFEEDD01.pem ||
	{ cat "$T/vfy"; fail "ca1x certificates do not verify under ca1"; }
expect_grep 'INTEGER +:80$' <(openssl asn1parse -in ca1x/certs/80.pem) "serial 80 is encoded 00 80"
expect_grep 'URI:http://127.0.0.1:8082/crl/ca1.crl' <(ext ca1x/certs/80.pem crlDistributionPoints) "ca1x: ca1's CRL DP"
for reason in keyCompromise superseded cessationOfOperation 'holdInstruction,holdInstructionCallIssuer' \
	'keyTime,20240301120000Z'; do
	grep -qF ",$reason" ca1/index.txt || fail "ca1/index.txt has no $reason entry"
done
grep -qE $'^R\t[0-9]+Z\t[0-9]+Z\t' ca1/index.txt || fail "no revocation without a reason"
grep -qF ',CAkeyTime,' ca2/index.txt || fail "ca2 has no CA compromise with invalidity date"
grep -qF $',certificateHold\t' ca2/index.txt || fail "ca2 has no plain certificateHold"
ok "every reason style of openssl ca appears"
openssl crl -in ca1/openssl.crl -noout -text >"$T/crl.txt"
expect_grep 'Invalidity Date' "$T/crl.txt" "an entry with an invalidity date"
expect_grep 'Hold Instruction Call Issuer' "$T/crl.txt" "an entry with a hold instruction"

# openssl's own responder answers from ca1's index with the file-key OCSP signer: good, revoked and unknown.
ocsp_status() { # certificate, or -serial N -> $T/ocsp.out
	local what=(-cert "$1")
	[ "$1" = -serial ] && what=(-serial "$2")
	openssl ocsp -issuer ca1.pem "${what[@]}" -no_nonce -reqout "$T/req.der" >/dev/null 2>&1
	openssl ocsp -index ca1/index.txt -CA ca1.pem -rsigner ocsp1-file.pem -rkey ocsp1-file.key \
		-reqin "$T/req.der" -respout "$T/resp.der" >/dev/null 2>&1
	openssl ocsp -respin "$T/resp.der" -issuer ca1.pem "${what[@]}" -CAfile root.pem -verify_other ca1.pem \
		>"$T/ocsp.out" 2>&1 || true
	grep -q 'Response verify OK' "$T/ocsp.out" || { cat "$T/ocsp.out"; fail "openssl ocsp response for $1"; }
}
revoked=$(awk -F'\t' '$3 == "revoked" { print $1; exit }' ca1/leaves.tsv)
ocsp_status "ca1/certs/$leaf.pem"
expect_grep ": good$" "$T/ocsp.out" "openssl ocsp: good leaf"
ocsp_status "ca1/certs/$revoked.pem"
expect_grep ": revoked$" "$T/ocsp.out" "openssl ocsp: revoked leaf"
ocsp_status -serial 0x7777
expect_grep ": unknown$" "$T/ocsp.out" "openssl ocsp: a serial ca1 never issued is not good"

# pki_ca revokes in the copy (token key) and openssl's CRL then lists it.
pki_ca ca1 -revoke "ca1/certs/$leaf.pem" -crl_reason superseded >/dev/null 2>&1 || fail "pki_ca -revoke"
expect_grep "^R.*,superseded"$'\t'"$leaf"$'\t' ca1/index.txt "pki_ca revoked $leaf in the copy's index"
pki_ca ca1 -gencrl -out "$T/new.crl" >/dev/null 2>&1 || fail "pki_ca -gencrl"
expect_grep "Serial Number: $leaf" <(openssl crl -in "$T/new.crl" -noout -text) "the new CRL lists $leaf"
pki_ca cafile -revoke cafile/certs/3000.pem >/dev/null 2>&1 || fail "pki_ca -revoke with the file CA"
pki_ca ca1x -revoke ca1x/certs/80.pem >/dev/null 2>&1 || fail "pki_ca -revoke in ca1x"
expect_grep $'^R\t.*\t80\t' ca1x/index.txt "pki_ca ca1x revokes with ca1's key"
! pki_ca ca3 -revoke cafile/certs/3001.pem >/dev/null 2>&1 || fail "pki_ca accepted an unknown CA"
! pki_ca ca1 -revoke "ca1/certs/$leaf.pem" >/dev/null 2>&1 || fail "pki_ca revoked a certificate twice"
ok "pki_ca refuses an unknown CA and a second revocation"

# --- reruns reuse what exists --------------------------------------------------------------------------------------
sum_before=$(cat ca1.pem ocsp1.pem tsa.pem ca1/index.txt | sha1sum)
t0=$SECONDS
VA_PKI_QUIET=1 "$VA_TOP/scripts/pki.sh" "$PKI"
[ $((SECONDS - t0)) -le 2 ] || fail "a rerun on a finished PKI is not immediate"
rm .complete ca2/.done
VA_PKI_QUIET=1 "$VA_TOP/scripts/pki.sh" "$PKI"
expect_eq "$sum_before" "$(cat ca1.pem ocsp1.pem tsa.pem ca1/index.txt | sha1sum)" "rerun keeps ca1's certificates"
expect_eq 5 "$(pki_pkcs11 --list-objects --type privkey 2>/dev/null | grep -c 'label:')" "rerun made no new keys"
vfy -untrusted ca2.pem ocsp2.pem ca2/certs/2001.pem || { cat "$T/vfy"; fail "redone ca2 database"; }
tsign ocsp2 && tverify ocsp2 ocsp2.pem || fail "reissued ocsp2 certificate does not match the token key"
ok "an interrupted run is completed with the same keys"
! VA_PKI_KEYTYPE=ec "$VA_TOP/scripts/pki.sh" "$PKI" 2>/dev/null || fail "key type switched on an existing PKI"
ok "a PKI keeps its key type"

# --- conf/va.conf passes every built binary's -n check ----------------------------------------------------------
cp "$VA_TOP/conf/va.conf" "$PKI/va.conf"
sed 's/^\tmap_size_mb = 1024;.*/&\n\tno_such_key = 1;/' "$PKI/va.conf" >"$PKI/bad.conf"
grep -q no_such_key "$PKI/bad.conf" || fail "could not make the bad config"
checked=0
for b in vactl ocspd tsad crlgen; do
	[ -x "$BIN/$b" ] || { echo "skip: $BIN/$b not built"; continue; }
	"$BIN/$b" -n -c "$PKI/va.conf" >"$T/$b.n" 2>&1 || { cat "$T/$b.n"; fail "$b -n rejects conf/va.conf"; }
	ok "$b -n accepts conf/va.conf"
	if "$BIN/$b" -n -c "$PKI/bad.conf" >"$T/$b.bad" 2>&1; then fail "$b -n accepts an unknown key"; fi
	expect_grep 'no_such_key|bad.conf:[0-9]+' "$T/$b.bad" "$b -n names the unknown key"
	if [ "$b" != vactl ]; then
		# An unknown key in the service's own section, and a wrong type there.
		sed "/^$b = {/a\\\tno_such_${b}_key = 1;" "$PKI/va.conf" >"$PKI/bad-$b.conf"
		! "$BIN/$b" -n -c "$PKI/bad-$b.conf" >"$T/$b.bad" 2>&1 || fail "$b -n accepts an unknown key in $b"
		expect_grep "no_such_${b}_key|bad-$b.conf:[0-9]+" "$T/$b.bad" "$b -n names an unknown key of its section"
		sed "/^$b = {/,/^};/s/port = [0-9]*;/port = \"http\";/" "$PKI/va.conf" >"$PKI/type-$b.conf"
		grep -q 'port = "http"' "$PKI/type-$b.conf" || fail "could not make the wrong-type config"
		! "$BIN/$b" -n -c "$PKI/type-$b.conf" >"$T/$b.bad" 2>&1 || fail "$b -n accepts a string port"
		ok "$b -n rejects a wrong type"
	fi
	checked=$((checked + 1))
done
echo "binaries checked: $checked"

# --- EC variant ----------------------------------------------------------------------------------------------------
cd "$T"
pki_setup ec
cd "$PKI"
expect_grep 'id-ecPublicKey' <(openssl x509 -in ca1.pem -noout -text) "EC variant: ca1 key is EC"
expect_grep 'prime256v1|P-256' <(openssl x509 -in ocsp1.pem -noout -text) "EC variant: P-256"
tsign ocsp1 && tverify ocsp1 ocsp1.pem || fail "EC token key does not sign"
vfy -untrusted chain1.pem ocsp1.pem tsa.pem "ca1/certs/$leaf.pem" || { cat "$T/vfy"; fail "EC chains"; }
ok "EC variant signs and verifies"

done_ok
