#!/usr/bin/env bash
# ocspd's HTTP side: RFC 5019 GET in every path encoding, caching headers (Cache-Control, Last-Modified,
# Expires, ETag, 304), and every malformed input: truncated, garbage, empty, wrong content type, oversize (413),
# other methods (405), bad nonce lengths; errors are OCSP responses. /healthz, /readyz, /metrics.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ocsp_lib.bash"

ocsp_env
ocsp_start

# verify_resp FILE SERIAL STATUS: the DER in FILE is a verified answer with that status.
verify_resp() {
	openssl ocsp -respin "$1" -issuer "$PKI/ca1.pem" -no_nonce -"${hash:-sha1}" -serial "0x$2" -CAfile "$PKI/root.pem" \
		-verify_other "$PKI/ca1.pem" >"$T/v.out" 2>&1 || { cat "$T/v.out"; fail "verify $1"; }
	grep -q "Response verify OK" "$T/v.out" || fail "$1: signature"
	grep -q "^0x$2: $3" "$T/v.out" || { cat "$T/v.out"; fail "$1: want $3"; }
}
# resp_status FILE: the OCSPResponseStatus name openssl prints.
resp_status() {
	openssl ocsp -respin "$1" -resp_text -noverify 2>&1 | sed -n 's/^ *OCSP Response Status: \([a-zA-Z]*\).*/\1/p; s/^Responder Error: \([a-zA-Z]*\).*/\1/p' | head -1
}

# Find a request whose base64 has '/', '+' and '=' (the serial varies the bytes), so every encoding is tried.
b64=""
for s in 1004 1005 1006 1007 1008 1009 100A 100B 100C 100D 100E; do
	for h in sha1 sha256 sha384 sha512; do
		x=$(ocsp_req_b64 ca1 $s -no_nonce -$h)
		if [[ $x == */* && $x == *+* && $x == *= ]]; then b64=$x serial=$s hash=$h; break 2; fi
		if [[ $x == */* && $h == sha1 && -z ${alt:-} ]]; then alt=$x alts=$s; fi
	done
done
if [ -z "$b64" ]; then b64=$alt serial=$alts hash=sha1; fi
[ -n "$b64" ] || fail "no request with / in its base64"
case $(grep "^$serial" "$PKI/ca1/leaves.tsv" | cut -f3) in good | expired) st=good ;; *) st=revoked ;; esac
pct=$(printf '%s' "$b64" | sed 's|/|%2F|g; s|+|%2B|g; s|=|%3D|g')
lower=$(printf '%s' "$pct" | sed 's|%2F|%2f|g; s|%2B|%2b|g; s|%3D|%3d|g')
i=0
for path in "/$b64" "//$b64" "/$pct" "/$lower" "/${b64%%=*}" "/ocsp/$b64" "/a/b/$pct"; do
	i=$((i + 1))
	code=$(curl -s -o "$T/get$i.der" -w '%{http_code}' --path-as-is "$URL$path")
	expect_eq 200 "$code" "GET encoding $i status"
	verify_resp "$T/get$i.der" "$serial" "$st"
done
ok "GET with raw, percent-encoded, lower-case escapes, extra leading slash, unpadded base64, path prefix ($serial, $st)"


# RFC 5019 6.2 headers on GET; If-None-Match answers 304.
curl -s -D "$T/h.txt" -o /dev/null "$URL/$b64"
expect_grep "^Cache-Control: max-age=[0-9]+, public, no-transform, must-revalidate" "$T/h.txt" "Cache-Control"
expect_grep "^Last-Modified: [A-Z][a-z]{2}, " "$T/h.txt" "Last-Modified"
expect_grep "^Expires: [A-Z][a-z]{2}, " "$T/h.txt" "Expires"
expect_grep '^ETag: "[0-9a-f]+"' "$T/h.txt" "ETag"
expect_grep "^Content-Type: application/ocsp-response" "$T/h.txt" "Content-Type"
maxage=$(sed -n 's/^Cache-Control: max-age=\([0-9]*\).*/\1/p' "$T/h.txt")
exp=$(date -d "$(sed -n 's/^Expires: //p' "$T/h.txt" | tr -d '\r')" +%s)
lm=$(date -d "$(sed -n 's/^Last-Modified: //p' "$T/h.txt" | tr -d '\r')" +%s)
expect_eq 86400 $((exp - lm)) "Expires - Last-Modified = validity"
[ $(($(date +%s) + maxage)) -le $((exp + 2)) ] || fail "max-age runs past nextUpdate"
etag=$(sed -n 's/^ETag: //p' "$T/h.txt" | tr -d '\r')
expect_eq 304 "$(http_code GET "$URL/$b64" -H "If-None-Match: $etag")" "If-None-Match -> 304"
expect_eq 200 "$(http_code GET "$URL/$b64" -H 'If-None-Match: "other"')" "other ETag -> 200"
# POST answers are the same bytes as GET (one cached entry), without caching headers.
openssl ocsp -issuer "$PKI/ca1.pem" -no_nonce -$hash -serial 0x$serial -reqout "$T/p.req" >/dev/null 2>&1
curl -s -D "$T/ph.txt" -o "$T/p.der" -H 'Content-Type: application/ocsp-request' --data-binary @"$T/p.req" "$URL/"
cmp -s "$T/p.der" "$T/get1.der" || fail "POST and GET of the same CertID differ"
grep -q "^ETag" "$T/ph.txt" && fail "ETag on POST"
ok "RFC 5019 caching headers, 304, POST = GET bytes"

# Malformed inputs: each an OCSP malformedRequest (HTTP 200), never HTML.
openssl ocsp -issuer "$PKI/ca1.pem" -serial 0x1004 -serial 0x1005 -reqout "$T/good.req" >/dev/null 2>&1
len=$(stat -c %s "$T/good.req")
head -c $((len - 3)) "$T/good.req" >"$T/trunc.req"
head -c 1 "$T/good.req" >"$T/one.req"
printf 'hello, this is not DER' >"$T/garbage.req"
(cat "$T/good.req"; printf '\0') >"$T/trail.req"
: >"$T/empty.req"
for f in trunc one garbage trail empty; do
	code=$(curl -s -o "$T/$f.resp" -w '%{http_code}' -H 'Content-Type: application/ocsp-request' \
		--data-binary @"$T/$f.req" "$URL/")
	expect_eq 200 "$code" "$f: HTTP status"
	expect_eq malformedrequest "$(resp_status "$T/$f.resp")" "$f: malformedRequest"
done
for path in /not-base64! /TUlJ /%zz /; do
	curl -s -o "$T/g.resp" --path-as-is "$URL$path"
	expect_eq malformedrequest "$(resp_status "$T/g.resp")" "GET $path: malformedRequest"
done
# Nonce lengths outside 1..32 (RFC 8954): malformedRequest.
python_nonce() { # LEN: a request with a nonce of LEN octets, made by python3-cryptography
	$PY - "$PKI/ca1.pem" "$PKI/ca1/certs/1004.pem" "$1" "$T/n.req" <<'PYEOF'
import sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
ca = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())
leaf = x509.load_pem_x509_certificate(open(sys.argv[2], 'rb').read())
req = ocsp.OCSPRequestBuilder().add_certificate(leaf, ca, hashes.SHA1())
req = req.add_extension(x509.OCSPNonce(b'\x42' * int(sys.argv[3])), critical=False).build()
open(sys.argv[4], 'wb').write(req.public_bytes(serialization.Encoding.DER))
PYEOF
}
for n in 33 128; do
	python_nonce $n
	curl -s -o "$T/n.resp" -H 'Content-Type: application/ocsp-request' --data-binary @"$T/n.req" "$URL/"
	expect_eq malformedrequest "$(resp_status "$T/n.resp")" "nonce of $n octets: malformedRequest"
done
for n in 1 32; do
	python_nonce $n
	curl -s -o "$T/n.resp" -H 'Content-Type: application/ocsp-request' --data-binary @"$T/n.req" "$URL/"
	expect_eq successful "$(resp_status "$T/n.resp")" "nonce of $n octets: answered"
done

# Wrong content type: 415; oversize body: 413; other methods: 405.
expect_eq 415 "$(http_code POST "$URL/" -H 'Content-Type: text/plain' --data-binary @"$T/good.req")" "text/plain -> 415"
expect_eq 415 "$(http_code POST "$URL/" -H 'Content-Type: application/ocsp-requestXYZ' --data-binary @"$T/good.req")" "a type that only starts with application/ocsp-request -> 415"
expect_eq 200 "$(http_code POST "$URL/" -H 'Content-Type: application/ocsp-request; charset=binary' --data-binary @"$T/good.req")" "application/ocsp-request with a parameter -> 200"
head -c 20000 /dev/zero >"$T/big.req"
expect_eq 413 "$(http_code POST "$URL/" -H 'Content-Type: application/ocsp-request' --data-binary @"$T/big.req")" \
	"body over body_max -> 413"
expect_eq 405 "$(http_code PUT "$URL/" --data-binary @"$T/good.req")" "PUT -> 405"
expect_eq 405 "$(http_code DELETE "$URL/")" "DELETE -> 405"
# HTTP/1.0 and keep-alive (two requests on one connection).
expect_eq 200 "$(http_code GET "$URL/$b64" --http1.0)" "HTTP/1.0"
curl -s -o /dev/null -o /dev/null -w '%{num_connects}\n' "$URL/$b64" "$URL/$b64" >"$T/conns.txt"
expect_eq "1 0" "$(tr '\n' ' ' <"$T/conns.txt" | sed 's/ $//')" "keep-alive reuses the connection"

# Operations endpoints and metrics.
expect_eq 200 "$(http_code GET "$URL/healthz")" "/healthz"
expect_eq 200 "$(http_code GET "$URL/readyz")" "/readyz"
curl -s "$URL/metrics" >"$T/metrics.txt"
expect_grep "^ocspd_cache_hits_total [1-9]" "$T/metrics.txt" "metrics: cache hits"
expect_grep "^ocspd_malformed_total [1-9]" "$T/metrics.txt" "metrics: malformed"
expect_grep "^ocspd_signatures_total [1-9]" "$T/metrics.txt" "metrics: signatures"
daemon_stop ocspd || fail "SIGTERM exit status"
done_ok
