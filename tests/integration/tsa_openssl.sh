#!/usr/bin/env bash
# tsad against openssl ts: -query / -reply / -verify with -queryfile and -data (imprint), nonce, -CAfile chain,
# SHA-256/384/512, certReq true and false, ESSCertIDv2 (RFC 5816) in the token, the SoftHSM2 key; then the
# negative set (MD5 and SHA-1 imprints, wrong imprint length, hash parameters, unknown policy, unknown critical
# extension, version 2, garbage, empty body, huge body, GET, wrong content type) and the start-up refusals.
. "$VA_TOP/tests/lib.sh"
. "$VA_TOP/tests/integration/tsa_lib.bash"

tsa_setup
port=$(free_port)
url="http://127.0.0.1:$port/"
tsa_conf "$PKI/tsa.conf" "$port" 'tsa_name = true; accuracy_ms = 1500; verify_tokens = true;'
"$BIN/tsad" -n -c "$PKI/tsa.conf" >"$T/n.out" 2>&1 || { cat "$T/n.out"; fail "tsad -n on a good config"; }
ok "tsad -n accepts the configuration"
tsa_start tsad "$PKI/tsa.conf" "$port"
wait_http "${url}readyz"
cat "$PKI/tsa.pem" "$PKI/ca1.pem" >"$T/untrusted.pem"

# --- real clients, every digest, with and without certificates -------------------------------------------------
n=0
for md in sha256 sha384 sha512; do
	for cert in yes no; do
		n=$((n + 1))
		q="$T/q$n.tsq" r="$T/r$n.tsr"
		if [ $cert = yes ]; then
			openssl ts -query -data "$T/data" -$md -cert -out "$q" 2>/dev/null
		else
			openssl ts -query -data "$T/data" -$md -out "$q" 2>/dev/null
		fi
		expect_eq 200 "$(tsa_post "$url" "$q" "$r")" "$md cert=$cert: HTTP 200"
		tsa_text "$r" >"$T/r$n.txt"
		expect_grep "^Status: Granted" "$T/r$n.txt" "$md cert=$cert: granted"
		expect_grep "^Hash Algorithm: $md" "$T/r$n.txt" "$md cert=$cert: imprint algorithm copied"
		expect_grep "^Policy OID: $TSA_POLICY\$" "$T/r$n.txt" "$md cert=$cert: default policy"
		expect_grep "^Accuracy: 0x01 seconds, 0x01F4 millis" "$T/r$n.txt" "$md cert=$cert: accuracy 1.5 s"
		expect_grep "^TSA: DirName:.*CN ?= ?" "$T/r$n.txt" "$md cert=$cert: tsa name"
		qn=$(openssl ts -query -in "$q" -text | sed -n 's/^Nonce: //p')
		rn=$(sed -n 's/^Nonce: //p' "$T/r$n.txt")
		[ -n "$qn" ] || fail "query has no nonce"
		expect_eq "$qn" "$rn" "$md cert=$cert: nonce echoed"
		if [ $cert = yes ]; then
			openssl ts -verify -queryfile "$q" -in "$r" -CAfile "$PKI/chain1.pem" >"$T/v.out" 2>&1 ||
				{ cat "$T/v.out"; fail "$md: openssl ts -verify -queryfile"; }
			openssl ts -verify -data "$T/data" -in "$r" -CAfile "$PKI/chain1.pem" >"$T/v.out" 2>&1 ||
				{ cat "$T/v.out"; fail "$md: openssl ts -verify -data"; }
			ok "$md cert=yes: verifies (query file and data) against the chain"
			openssl ts -reply -in "$r" -token_out -out "$T/tok.der" 2>/dev/null
			certs=$(openssl pkcs7 -inform DER -in "$T/tok.der" -print_certs 2>/dev/null | grep -c '^subject=' || true)
			expect_eq 3 "$certs" "$md cert=yes: TSA certificate and chain in the token"
		else
			if openssl ts -verify -queryfile "$q" -in "$r" -CAfile "$PKI/chain1.pem" >/dev/null 2>&1; then
				fail "$md cert=no: verified without the TSA certificate: it must not be in the token"
			fi
			openssl ts -verify -queryfile "$q" -in "$r" -CAfile "$PKI/chain1.pem" -untrusted "$T/untrusted.pem" \
				>"$T/v.out" 2>&1 || { cat "$T/v.out"; fail "$md cert=no: verify with -untrusted"; }
			ok "$md cert=no: no certificates in the token, verifies with -untrusted"
		fi
		# a different document must not verify against this token
		head -c 1000 /dev/urandom >"$T/other"
		if openssl ts -verify -data "$T/other" -in "$r" -CAfile "$PKI/chain1.pem" -untrusted "$T/untrusted.pem" \
			>/dev/null 2>&1; then
			fail "$md: token verified for another document"
		fi
	done
done

# RFC 5816: ESSCertIDv2 (signingCertificateV2) in the signed attributes, never the SHA-1 ESSCertID.
openssl ts -reply -in "$T/r1.tsr" -token_out -out "$T/tok.der" 2>/dev/null
openssl asn1parse -inform DER -in "$T/tok.der" >"$T/tok.asn1"
expect_grep "id-smime-aa-signingCertificateV2" "$T/tok.asn1" "signingCertificateV2 present"
if grep -qE "id-smime-aa-signingCertificate *\$|:id-smime-aa-signingCertificate\$" "$T/tok.asn1"; then
	fail "SHA-1 signingCertificate present"
fi
ok "no SHA-1 signingCertificate"
expect_grep "id-smime-ct-TSTInfo" "$T/tok.asn1" "eContentType id-ct-TSTInfo"

# serial numbers distinct across the tokens above
for i in 1 2 3 4 5 6; do sed -n 's/^Serial number: //p' "$T/r$i.txt"; done | sort | uniq -d >"$T/dups"
expect_eq "" "$(cat "$T/dups")" "six tokens, six serial numbers"

# the second accepted policy
openssl ts -query -data "$T/data" -sha256 -tspolicy "$TSA_POLICY2" -cert -out "$T/p2.tsq" 2>/dev/null
tsa_post "$url" "$T/p2.tsq" "$T/p2.tsr" >/dev/null
tsa_text "$T/p2.tsr" >"$T/p2.txt"
expect_grep "^Policy OID: $TSA_POLICY2\$" "$T/p2.txt" "requested accepted policy used"
openssl ts -verify -queryfile "$T/p2.tsq" -in "$T/p2.tsr" -CAfile "$PKI/chain1.pem" >/dev/null 2>&1 ||
	fail "verify with requested policy"

# no nonce
openssl ts -query -data "$T/data" -sha512 -no_nonce -cert -out "$T/nn.tsq" 2>/dev/null
tsa_post "$url" "$T/nn.tsq" "$T/nn.tsr" >/dev/null
tsa_text "$T/nn.tsr" >"$T/nn.txt"
expect_grep "^Nonce: unspecified" "$T/nn.txt" "no nonce asked, none given"
openssl ts -verify -queryfile "$T/nn.tsq" -in "$T/nn.tsr" -CAfile "$PKI/chain1.pem" >/dev/null 2>&1 ||
	fail "verify without nonce"

# --- negative set -------------------------------------------------------------------------------------------
$PY - "$T" <<'PYEOF'
import os, sys
d = sys.argv[1]
def tlv(tag, body):
    n = len(body)
    if n < 0x80: l = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, 'big'); l = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + l + body
def oid(dotted):
    a = [int(x) for x in dotted.split('.')]
    out = bytes([40 * a[0] + a[1]])
    for v in a[2:]:
        enc = [v & 0x7f]; v >>= 7
        while v: enc.append(0x80 | (v & 0x7f)); v >>= 7
        out += bytes(reversed(enc))
    return tlv(0x06, out)
SHA256, SHA1, MD5 = '2.16.840.1.101.3.4.2.1', '1.3.14.3.2.26', '1.2.840.113549.2.5'
def req(alg=SHA256, hlen=32, version=1, params=b'\x05\x00', policy=None, nonce=None, ext=None):
    mi = tlv(0x30, tlv(0x30, oid(alg) + params) + tlv(0x04, os.urandom(hlen)))
    body = tlv(0x02, bytes([version])) + mi
    if policy: body += oid(policy)
    if nonce: body += tlv(0x02, nonce)
    body += tlv(0x01, b'\xff')
    if ext: body += ext
    return tlv(0x30, body)
def ext(critical):
    e = oid('1.2.3.4.5') + (tlv(0x01, b'\xff') if critical else b'') + tlv(0x04, b'\x05\x00')
    return tlv(0xa0, tlv(0x30, e))
cases = {
    'md5': req(MD5, 16), 'sha1': req(SHA1, 20), 'short': req(SHA256, 20), 'long': req(SHA256, 33),
    'params': req(params=b'\x02\x01\x05'), 'policy': req(policy='1.2.3.4.5.6'), 'crit': req(ext=ext(True)),
    'noncrit': req(ext=ext(False), nonce=b'\x01\x02'), 'v2': req(version=2), 'bignonce': req(nonce=b'\x11' * 65),
    'garbage': os.urandom(300), 'trailing': req() + b'\x00', 'empty': b'',
}
for k, v in cases.items():
    open(os.path.join(d, 'neg-%s.tsq' % k), 'wb').write(v)
PYEOF

neg() { # case expected-failure-text
	local code
	code=$(tsa_post "$url" "$T/neg-$1.tsq" "$T/neg-$1.tsr")
	expect_eq 200 "$code" "$1: HTTP 200 with a TimeStampResp"
	tsa_text "$T/neg-$1.tsr" >"$T/neg-$1.txt"
	expect_grep "^Status: Rejected" "$T/neg-$1.txt" "$1: status rejection"
	expect_grep "^Failure info: $2" "$T/neg-$1.txt" "$1: failInfo"
}
neg md5 "unrecognized or unsupported algorithm identifier"
neg sha1 "unrecognized or unsupported algorithm identifier"
neg short "unrecognized or unsupported algorithm identifier"
neg long "unrecognized or unsupported algorithm identifier"
neg params "unrecognized or unsupported algorithm identifier"
neg policy "the requested TSA policy is not supported by the TSA"
neg crit "the requested extension is not supported by the TSA"
neg v2 "transaction not permitted or supported"
neg bignonce "transaction not permitted or supported"
neg garbage "the data submitted has the wrong format"
neg trailing "the data submitted has the wrong format"
neg empty "the data submitted has the wrong format"
# a non-critical unknown extension is ignored
expect_eq 200 "$(tsa_post "$url" "$T/neg-noncrit.tsq" "$T/neg-noncrit.tsr")" "non-critical extension: HTTP 200"
expect_grep "^Status: Granted" <(tsa_text "$T/neg-noncrit.tsr") "non-critical extension: granted"

# openssl's own MD5 query, if this openssl still builds one
if openssl ts -query -data "$T/data" -md5 -out "$T/md5o.tsq" 2>/dev/null; then
	tsa_post "$url" "$T/md5o.tsq" "$T/md5o.tsr" >/dev/null
	expect_grep "^Failure info: unrecognized or unsupported algorithm identifier" <(tsa_text "$T/md5o.tsr") \
		"openssl -md5 query: badAlg"
fi

head -c 20000 /dev/zero >"$T/huge"
expect_eq 413 "$(tsa_post "$url" "$T/huge" "$T/huge.out")" "huge body: 413"
expect_eq 405 "$(http_code GET "$url")" "GET: 405"
expect_eq 405 "$(http_code PUT "$url" --data-binary "@$T/q1.tsq")" "PUT: 405"
expect_eq 415 "$(http_code POST "$url" -H 'Content-Type: text/plain' --data-binary "@$T/q1.tsq")" \
	"wrong content type: 415"
curl -s -D "$T/hdr" -o /dev/null -H 'Content-Type: application/timestamp-query' --data-binary "@$T/q1.tsq" "$url"
expect_grep "^Content-Type: application/timestamp-reply" "$T/hdr" "reply content type"

curl -s "${url}metrics" >"$T/metrics"
expect_grep '^tsad_responses_total\{result="granted"\} (9|[1-9][0-9]+)' "$T/metrics" "metrics: granted"
expect_grep '^tsad_responses_total\{result="bad_alg"\} [1-9]' "$T/metrics" "metrics: bad_alg"
expect_grep '^tsad_serial_reservations_total [1-9]' "$T/metrics" "metrics: reservations"

daemon_stop tsad || fail "tsad did not exit 0 on SIGTERM"
ok "SIGTERM: exit 0"

# --- start-up refusals: RFC 3161 2.3 certificate rules, bad configuration --------------------------------------
TSA_SIGNER=ocspfile tsa_conf "$PKI/bad-eku.conf" "$port"
if "$BIN/tsad" -n -c "$PKI/bad-eku.conf" >"$T/bad.out" 2>&1; then fail "tsad -n accepted an OCSP certificate"; fi
expect_grep "extended key usage other than id-kp-timeStamping" "$T/bad.out" "-n: EKU not timeStamping refused"
if timeout 20 "$BIN/tsad" -c "$PKI/bad-eku.conf" >"$T/bad.out" 2>&1; then fail "tsad started with an OCSP cert"; fi
expect_grep "refusing to start: the TSA certificate .* extended key usage" "$T/bad.out" "start refused: EKU"

# a TSA certificate whose timeStamping EKU is not critical, and an expired one (file keys, signed by ca1's twin)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/nc.key" -subj "/CN=nc" \
	-out "$T/nc.csr" 2>/dev/null
printf 'extendedKeyUsage = timeStamping\n' >"$T/nc.ext"
openssl x509 -req -in "$T/nc.csr" -CA "$PKI/cafile.pem" -CAkey "$PKI/cafile.key" -set_serial 77 -days 30 \
	-extfile "$T/nc.ext" -out "$PKI/nc.pem" 2>/dev/null
printf 'extendedKeyUsage = critical,timeStamping\n' >"$T/ex.ext"
openssl x509 -req -in "$T/nc.csr" -CA "$PKI/cafile.pem" -CAkey "$PKI/cafile.key" -set_serial 78 \
	-not_before 20200101000000Z -not_after 20210101000000Z -extfile "$T/ex.ext" -out "$PKI/ex.pem" 2>/dev/null ||
	openssl x509 -req -in "$T/nc.csr" -CA "$PKI/cafile.pem" -CAkey "$PKI/cafile.key" -set_serial 78 -days -1 \
		-extfile "$T/ex.ext" -out "$PKI/ex.pem" 2>/dev/null
for c in nc ex; do
	tsa_conf "$PKI/$c.conf" "$port"
	sed -i "s|{ name = \"ocspfile\";|{ name = \"$c\"; type = \"file\"; key = \"nc.key\"; cert = \"$c.pem\"; },\n\t&|; s|signer = \"tsa\";|signer = \"$c\";|" "$PKI/$c.conf"
	if "$BIN/tsad" -n -c "$PKI/$c.conf" >"$T/$c.out" 2>&1; then cat "$T/$c.out"; fail "$c: tsad -n accepted it"; fi
done
expect_grep "non-critical extended key usage" "$T/nc.out" "-n: non-critical EKU refused"
expect_grep "has expired" "$T/ex.out" "-n: expired certificate refused"

# configuration errors with file and line
tsa_conf "$PKI/unk.conf" "$port" 'no_such_key = 1;'
if "$BIN/tsad" -n -c "$PKI/unk.conf" >"$T/unk.out" 2>&1; then fail "unknown key accepted"; fi
expect_grep "unk.conf:[0-9]+" "$T/unk.out" "unknown key reported with file and line"
sed 's|digests = \[ "sha256", "sha384", "sha512" \];|digests = [ "sha256", "md5" ];|' "$PKI/tsa.conf" >"$PKI/pol.conf"
if "$BIN/tsad" -n -c "$PKI/pol.conf" >"$T/pol.out" 2>&1; then fail "md5 accepted as a digest"; fi
expect_grep "digests" "$T/pol.out" "md5 refused in digests"
sed "s|policy = \"$TSA_POLICY\";|policy = \"not.an.oid\";|" "$PKI/tsa.conf" >"$PKI/oid.conf"
if "$BIN/tsad" -n -c "$PKI/oid.conf" >"$T/oid.out" 2>&1; then fail "bad policy OID accepted"; fi
expect_grep "tsad.policy must be a dotted OID" "$T/oid.out" "bad policy OID refused"
sed 's|path = "store";|path = "nostore";|' "$PKI/tsa.conf" >"$PKI/nostore.conf"
if timeout 20 "$BIN/tsad" -c "$PKI/nostore.conf" >"$T/nostore.out" 2>&1; then fail "started without a store"; fi
expect_grep "vactl init" "$T/nostore.out" "a missing store is not created behind the operator's back"
done_ok
