#!/usr/bin/env bash
# tsad against Java's jarsigner (OpenJDK 17): `jarsigner -tsa URL` timestamps a jar signature through tsad with
# SHA-256/384/512 imprints and a requested policy; `jarsigner -verify -verbose -certs -strict` against a keystore
# holding only the demo root must show the timestamp, validate the TSA certificate chain (tsa -> ca1 -> root) and
# report a time within the seconds around the signing. Negative checks: without the root the same verification
# must warn that the TSA chain is invalid, and a jar altered after signing must not verify.
# TSA_KEYTYPE=rsa|ec selects the PKI's key type (tsa_jarsigner_ec.sh runs the EC variant: ECDSA tokens).
. "$VA_TOP/tests/lib.sh"
. "$VA_TOP/tests/integration/tsa_lib.bash"

for c in java jar jarsigner keytool; do need_cmd "$c" openjdk-17-jdk-headless; done

KT=${TSA_KEYTYPE:-rsa}
case $KT in rsa) SIGALG=SHA256withRSA ;; ec) SIGALG=SHA256withECDSA ;; *) fail "TSA_KEYTYPE=$KT" ;; esac
tsa_setup "$KT"
port=$(free_port)
url="http://127.0.0.1:$port/"
tsa_conf "$PKI/tsa.conf" "$port" 'accuracy_ms = 1500; tsa_name = true;'
tsa_start tsad "$PKI/tsa.conf" "$port"
wait_http "${url}readyz"

# English month names and UTC in jarsigner's output, whatever the machine's locale and zone.
JOPT=(-J-Duser.language=en -J-Duser.country=US -J-Duser.timezone=UTC)
PASS=va-test-pass   # a throw-away keystore of this test's temp dir

# A code-signing certificate from ca1 (so the signer's chain validates too), its key in a PKCS#12 keystore.
cat >"$T/cs.ext" <<'EOX'
[cs]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOX
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/cs.key" \
	-subj "/O=VA Demo/CN=VA Test Code Signer" -out "$T/cs.csr" 2>/dev/null
pki_ca ca1 -in "$T/cs.csr" -extfile "$T/cs.ext" -extensions cs -notext -out "$T/cs.pem" >"$T/ca.out" 2>&1 ||
	{ cat "$T/ca.out"; fail "issuing the code-signing certificate"; }
openssl pkcs12 -export -in "$T/cs.pem" -inkey "$T/cs.key" -certfile "$PKI/ca1.pem" -name signer \
	-passout "pass:$PASS" -out "$T/signer.p12" || fail "openssl pkcs12 -export"
# The root is trusted by the signing keystore (jarsigner validates both chains when it signs) and, alone, by the
# keystore the verifications use.
for ks in signer trust; do
	keytool -importcert -noprompt -alias varoot -file "$PKI/root.pem" -keystore "$T/$ks.p12" -storetype PKCS12 \
		-storepass "$PASS" >/dev/null 2>&1 || fail "keytool -importcert root into $ks.p12"
done
# A keystore that trusts one certificate, not the root (for the negative check).
keytool -importcert -noprompt -alias other -file "$PKI/ocsp2.pem" -keystore "$T/untrusted.p12" -storetype PKCS12 \
	-storepass "$PASS" >/dev/null 2>&1 || fail "keytool -importcert other"

mkdir -p "$T/content/va"
head -c 20000 /dev/urandom >"$T/content/va/data.bin"
echo "hello from the tsad test" >"$T/content/va/hello.txt"
(cd "$T/content" && jar cf "$T/plain.jar" va) || fail "jar cf"

# sign NAME [jarsigner options]: $T/NAME.jar signed and timestamped; the wall clock before and after in
# $T/NAME.t0 / $T/NAME.t1 (epoch seconds).
sign() {
	local name=$1; shift
	date +%s >"$T/$name.t0"
	jarsigner "${JOPT[@]}" -keystore "$T/signer.p12" -storetype PKCS12 -storepass "$PASS" -tsa "$url" "$@" \
		-signedjar "$T/$name.jar" "$T/plain.jar" signer >"$T/$name.sign" 2>&1 ||
		{ cat "$T/$name.sign"; cat "$T/tsad.log"; fail "jarsigner -tsa ($name $*)"; }
	date +%s >"$T/$name.t1"
	grep -qi "warning\|error" "$T/$name.sign" && { cat "$T/$name.sign"; fail "jarsigner $name: warnings when signing"; }
	ok "jarsigner -tsa $name $*"
}

# verify NAME: `jarsigner -verify -strict` against the root only; checks the timestamp's signer, chain and time.
verify() {
	local name=$1 out="$T/$1.verify" line ts t0 t1
	jarsigner "${JOPT[@]}" -verify -verbose -certs -strict -keystore "$T/trust.p12" -storetype PKCS12 \
		-storepass "$PASS" "$T/$name.jar" >"$out" 2>&1 || { cat "$out"; fail "jarsigner -verify -strict $name"; }
	expect_grep "^jar verified\.$" "$out" "$name: jar verified"
	if grep -qi "warning" "$out"; then cat "$out"; fail "$name: warnings in a strict verification"; fi
	ok "$name: no warnings (signer and TSA chains validated against the root)"
	expect_grep 'Timestamped by "CN=VA Demo TSA, O=VA Demo, C=XX" on ' "$out" "$name: timestamped by the demo TSA"
	expect_grep "^ +Timestamp signature algorithm: $SIGALG," "$out" "$name: token signed $SIGALG"
	# -certs shows, per entry, the TSA's certificate path as jarsigner validated it: TSA, ca1, the trusted root.
	awk '/>>> TSA/ { f = 1; next } f && /X\.509, / { sub(/^ *X\.509, /, ""); print } f && /trusted certificate/ { exit }' \
		"$out" >"$T/$name.tschain"
	expect_eq "CN=VA Demo TSA, O=VA Demo, C=XX|CN=VA Demo Issuing CA ca1, O=VA Demo, C=XX|CN=VA Demo Root CA, O=VA Demo, C=XX (varoot)" \
		"$(paste -sd'|' "$T/$name.tschain")" "$name: TSA chain tsa -> ca1 -> trusted root"
	line=$(grep -m1 -o 'Timestamped by "[^"]*" on .*' "$out")
	ts=${line##* on }
	ts=$(date -u -d "$ts" +%s) || fail "$name: cannot read the timestamp time '$line'"
	t0=$(cat "$T/$name.t0") t1=$(cat "$T/$name.t1")
	# jarsigner prints whole seconds (the token holds milliseconds).
	[ "$ts" -ge $((t0 - 1)) ] && [ "$ts" -le $((t1 + 1)) ] ||
		fail "$name: timestamp time $ts outside the signing window [$t0, $t1]"
	ok "$name: timestamp time $(date -u -d "@$ts" +%FT%TZ) within the signing window"
}

sign sha256
verify sha256
sign sha384 -tsadigestalg SHA-384
verify sha384
sign sha512 -tsadigestalg SHA-512 -tsapolicyid "$TSA_POLICY2"
verify sha512

# The token in the signature block, as openssl reads it: imprint algorithm and policy as requested by jarsigner.
token_text() { # NAME: openssl's text of the timeStampToken (unsigned attribute of the jar's signer info)
	local blk="$T/x/META-INF/SIGNER.EC" off len
	rm -rf "$T/x" && mkdir "$T/x" && (cd "$T/x" && jar xf "$T/$1.jar" META-INF/SIGNER.EC)
	[ -s "$blk" ] || fail "$1: no META-INF/SIGNER.EC in the jar"
	# The attribute's value is the SEQUENCE (a ContentInfo) after its OID and SET headers.
	read -r off len < <(openssl asn1parse -inform DER -in "$blk" |
		awk '/:id-smime-aa-timeStampToken/ { f = 1; next }
		     f && /SEQUENCE/ { split($0, a, ":"); h = $2; l = $3; sub("hl=", "", h); sub("l=", "", l);
		                       print a[1] + 0, h + l; exit }')
	[ -n "${off:-}" ] || fail "$1: no timeStampToken attribute in the signature block"
	tail -c +$((off + 1)) "$blk" | head -c "$len" >"$T/x/tok.der"
	openssl ts -reply -token_in -in "$T/x/tok.der" -text 2>/dev/null
}
token_text sha256 >"$T/tok256.txt"
expect_grep "^Hash Algorithm: sha256$" "$T/tok256.txt" "sha256: imprint algorithm in the token"
expect_grep "^Policy OID: $TSA_POLICY$" "$T/tok256.txt" "sha256: default policy in the token"
token_text sha384 >"$T/tok384.txt"
expect_grep "^Hash Algorithm: sha384$" "$T/tok384.txt" "sha384: imprint algorithm in the token"
token_text sha512 >"$T/tok512.txt"
expect_grep "^Hash Algorithm: sha512$" "$T/tok512.txt" "sha512: imprint algorithm in the token"
expect_grep "^Policy OID: $TSA_POLICY2$" "$T/tok512.txt" "sha512: requested policy in the token"

# Negative: the same jar against a keystore without the demo root: the TSA chain cannot be validated.
jarsigner "${JOPT[@]}" -verify -verbose -certs -keystore "$T/untrusted.p12" -storetype PKCS12 -storepass "$PASS" \
	"$T/sha256.jar" >"$T/untrusted.out" 2>&1 || true
expect_grep "TSA certificate chain is invalid" "$T/untrusted.out" "without the root, jarsigner warns about the TSA chain"
if jarsigner "${JOPT[@]}" -verify -strict -keystore "$T/untrusted.p12" -storetype PKCS12 -storepass "$PASS" \
	"$T/sha256.jar" >/dev/null 2>&1; then fail "strict verification passed without a trusted root"; fi
ok "strict verification fails without the root"

# Negative: content changed after signing.
cp "$T/sha256.jar" "$T/tampered.jar"
echo "changed" >"$T/content/va/hello.txt"
(cd "$T/content" && jar uf "$T/tampered.jar" va/hello.txt) || fail "jar uf"
if jarsigner "${JOPT[@]}" -verify -strict -keystore "$T/trust.p12" -storetype PKCS12 -storepass "$PASS" \
	"$T/tampered.jar" >"$T/tampered.out" 2>&1; then cat "$T/tampered.out"; fail "a tampered jar verified"; fi
ok "a jar changed after signing does not verify"
done_ok
