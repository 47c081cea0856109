#!/usr/bin/env bash
# The tsad request path under libFuzzer with ASan/UBSan for ~20 s (tests/fuzz/fuzz_tsa_request.c), from a seed
# corpus of real openssl queries and hand-made hostile ones. Skipped in the asan pass (SAN=1): the fuzz build is
# itself sanitised.
. "$VA_TOP/tests/lib.sh"

if [ "${SAN:-}" = 1 ]; then
	echo "SAN=1: the fuzz target runs in the plain pass"
	done_ok
	exit 0
fi
command -v clang >/dev/null || fail "clang not installed"
fz="$VA_TOP/build/fuzz/fuzz/fuzz_tsa_request"
make -s -C "$VA_TOP" -j2 SAN=fuzz BUILD=build/fuzz build/fuzz/fuzz/fuzz_tsa_request >"$T/build.log" 2>&1 ||
	{ tail -20 "$T/build.log"; fail "building the fuzz target"; }
[ -x "$fz" ] || fail "no $fz"

mkdir -p "$T/seeds" "$T/corpus" "$T/art"
head -c 4096 /dev/urandom >"$T/data"
i=0
for md in sha256 sha384 sha512 sha1 md5; do
	for opt in -cert -no_nonce "-tspolicy 1.3.6.1.4.1.55555.1.2" "-tspolicy 1.2.3.4"; do
		i=$((i + 1))
		# shellcheck disable=SC2086
		openssl ts -query -data "$T/data" -$md $opt -out "$T/seeds/q$i" 2>/dev/null || true
	done
done
$PY - "$T/seeds" <<'PYEOF'
import os, sys
d = sys.argv[1]
def tlv(tag, body):
    n = len(body)
    l = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([tag]) + l + body
alg = bytes.fromhex('300d06096086480165030402010500')
ext = tlv(0xa0, tlv(0x30, bytes.fromhex('06032a0304') + tlv(0x01, b'\xff') + tlv(0x04, b'\x05\x00')))
seeds = {
    'crit-ext': tlv(0x30, tlv(0x02, b'\x01') + tlv(0x30, alg + tlv(0x04, os.urandom(32))) + ext),
    'long-nonce': tlv(0x30, tlv(0x02, b'\x01') + tlv(0x30, alg + tlv(0x04, os.urandom(32))) + tlv(0x02, b'\x7f' * 70)),
    'neg-nonce': tlv(0x30, tlv(0x02, b'\x01') + tlv(0x30, alg + tlv(0x04, os.urandom(32))) + tlv(0x02, b'\x80\x01')),
    'short-hash': tlv(0x30, tlv(0x02, b'\x01') + tlv(0x30, alg + tlv(0x04, os.urandom(31)))),
    'indefinite': bytes.fromhex('3080020101') + b'\x00\x00',
    'huge-len': bytes.fromhex('3084ffffffff020101'),
}
for k, v in seeds.items():
    open(os.path.join(d, k), 'wb').write(v)
PYEOF
[ "$(ls "$T/seeds" | wc -l)" -ge 20 ] || fail "seed corpus too small"

secs=${TSA_FUZZ_SECONDS:-20}
"$fz" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$T/art/" "$T/corpus" "$T/seeds" >"$T/fuzz.log" 2>&1 || {
	tail -40 "$T/fuzz.log"
	fail "fuzz_tsa_request found a problem"
}
expect_grep "^Done [0-9]+ runs" "$T/fuzz.log" "fuzzer ran ${secs}s without a finding"
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/fuzz.log")
[ "${runs:-0}" -gt 1000 ] || fail "only ${runs:-0} executions"
ok "$runs executions"
[ -z "$(ls "$T/art")" ] || fail "crash artifacts left: $(ls "$T/art")"
done_ok
