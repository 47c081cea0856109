#!/usr/bin/env bash
# tsad with an EC key in SoftHSM2 (pki_setup ec): ECDSA tokens (ecdsa-with-SHA256, DER Ecdsa-Sig-Value from the
# token) verified by openssl ts for every digest, with verify_tokens on.
. "$VA_TOP/tests/lib.sh"
. "$VA_TOP/tests/integration/tsa_lib.bash"

tsa_setup ec
openssl x509 -in "$PKI/tsa.pem" -noout -text | grep -q "id-ecPublicKey" || fail "the ec PKI's TSA key is not EC"
port=$(free_port)
url="http://127.0.0.1:$port/"
tsa_conf "$PKI/tsa.conf" "$port" 'verify_tokens = true;'
tsa_start tsad "$PKI/tsa.conf" "$port"
wait_http "${url}readyz"
for md in sha256 sha384 sha512; do
	openssl ts -query -data "$T/data" -$md -cert -out "$T/$md.tsq" 2>/dev/null
	expect_eq 200 "$(tsa_post "$url" "$T/$md.tsq" "$T/$md.tsr")" "$md: HTTP 200"
	expect_grep "^Status: Granted" <(tsa_text "$T/$md.tsr") "$md: granted"
	openssl ts -verify -queryfile "$T/$md.tsq" -in "$T/$md.tsr" -CAfile "$PKI/chain1.pem" >"$T/v.out" 2>&1 ||
		{ cat "$T/v.out"; fail "$md: ECDSA token does not verify"; }
	ok "$md: ECDSA token verifies"
done
openssl ts -reply -in "$T/sha256.tsr" -token_out -out "$T/tok.der" 2>/dev/null
openssl asn1parse -inform DER -in "$T/tok.der" >"$T/tok.asn1"
expect_grep "ecdsa-with-SHA256" "$T/tok.asn1" "signatureAlgorithm ecdsa-with-SHA256"
daemon_stop tsad || fail "exit status on SIGTERM"
done_ok
