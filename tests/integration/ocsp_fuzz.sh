#!/usr/bin/env bash
# The request path (POST body parser, RFC 5019 GET decoder) under libFuzzer with ASan/UBSan for ~20 s, from a seed
# corpus of real requests (openssl: every hash, nonces, several CertIDs; python3-cryptography) in both forms.
# Skipped in the asan pass ($SAN = 1): the fuzzer is its own sanitizer build.
. "$(dirname "$0")/../lib.sh"

if [ "${SAN:-}" = 1 ]; then
	echo "skipped under SAN=1 (the fuzz target is built with its own sanitizers)"
	done_ok
	exit 0
fi
command -v clang >/dev/null || fail "clang is not installed"
# The target needs only the request code: build it here (seconds) rather than the whole fuzz tree.
clang -std=c17 -g -O1 -D_GNU_SOURCE -iquote "$VA_TOP/common" -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -o "$T/fuzz_ocsp_request" "$VA_TOP/tests/fuzz/fuzz_ocsp_request.c" \
	"$VA_TOP/common/der.c" "$VA_TOP/common/store_serial.c" "$VA_TOP/common/store_codec.c" \
	"$VA_TOP/ocsp/request.c" || fail "building the fuzz target"

# Seeds: first octet 0 = POST body, 1 = GET path.
mkdir -p "$T/corpus" "$T/keys"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/keys/ca.key" -subj "/CN=Fuzz CA" \
	-days 2 -out "$T/keys/ca.pem" 2>/dev/null
i=0
add_seed() { # DER-FILE
	i=$((i + 1))
	{ printf '\0'; cat "$1"; } >"$T/corpus/post$i"
	{ printf '\1/'; base64 -w0 "$1"; } >"$T/corpus/get$i"
	{ printf '\1/'; base64 -w0 "$1" | sed 's|/|%2F|g; s|+|%2B|g; s|=|%3D|g'; } >"$T/corpus/pct$i"
}
for h in sha1 sha256 sha384 sha512; do
	for nonce in -no_nonce -nonce; do
		openssl ocsp -issuer "$T/keys/ca.pem" -$h -serial 0x1004 -serial 0x00ff $nonce -reqout "$T/r.der" 2>/dev/null
		add_seed "$T/r.der"
		openssl ocsp -issuer "$T/keys/ca.pem" -$h -serial 0x7f $nonce -reqout "$T/r.der" 2>/dev/null
		add_seed "$T/r.der"
	done
done
printf '\x30\x03\x0a\x01\x01' >"$T/r.der"
add_seed "$T/r.der"
n=$(ls "$T/corpus" | wc -l)
[ "$n" -ge 40 ] || fail "seed corpus too small ($n)"

# Seeds alone first (must all pass), then ~20 s of fuzzing.
"$T/fuzz_ocsp_request" -runs=0 "$T/corpus" >"$T/seeds.log" 2>&1 || { tail -30 "$T/seeds.log"; fail "a seed crashed"; }
"$T/fuzz_ocsp_request" -max_total_time=20 -max_len=4096 -timeout=5 -rss_limit_mb=1024 \
	-artifact_prefix="$T/" "$T/corpus" >"$T/fuzz.log" 2>&1 || { tail -40 "$T/fuzz.log"; fail "fuzzer found a crash"; }
expect_grep "Done [0-9]+ runs" "$T/fuzz.log" "fuzzed the request path for 20 s from $n seeds"
done_ok
