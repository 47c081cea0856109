#!/usr/bin/env bash
# crl_fuzz: the CRL walker (tests/fuzz/fuzz_crl_verify.c) under libFuzzer with ASan/UBSan for ~20 s, seeded with
# CRLs from crlgen (full and delta, RSA and EC), from `openssl ca -gencrl`, and hand-made hostile ones. Skipped in
# the asan pass (SAN=1): the fuzz build is itself sanitised.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/crl_lib.bash"

if [ "${SAN:-}" = 1 ]; then
	echo "SAN=1: the fuzz target runs in the plain pass"
	done_ok
	exit 0
fi
command -v clang >/dev/null || fail "clang not installed"
fz="$VA_TOP/build/fuzz/fuzz/fuzz_crl_verify"
make -s -C "$VA_TOP" -j2 SAN=fuzz BUILD=build/fuzz build/fuzz/fuzz/fuzz_crl_verify >"$T/build.log" 2>&1 ||
	{ tail -20 "$T/build.log"; fail "building the fuzz target"; }
[ -x "$fz" ] || fail "no $fz"

mkdir -p "$T/seeds" "$T/corpus" "$T/art"
crl_env ec
CRLGEN --once >"$T/once.log" 2>&1 || { cat "$T/once.log"; fail "crlgen --once"; }
VACTL revoke ca1 1004 --reason keyCompromise
VACTL hold ca1 1005
CRLGEN --once >"$T/once.log" 2>&1 || { cat "$T/once.log"; fail "crlgen --once"; }
cp "$PKI/crl/ca1.crl" "$T/seeds/full-ec"
cp "$PKI/crl/ca1-delta.crl" "$T/seeds/delta-ec"
cp "$PKI/crl/cafile.crl" "$T/seeds/empty"
openssl crl -in "$PKI/ca1/openssl.crl" -outform DER -out "$T/seeds/openssl" || fail "openssl crl"
$PY - "$T/seeds" <<'PYEOF'
import os, sys
d = sys.argv[1]
full = open(os.path.join(d, 'full-ec'), 'rb').read()
seeds = {
    'truncated': full[:len(full) // 2],
    'trailing': full + b'\x00',
    'indefinite': b'\x30\x80' + full[2:],
    'huge-len': bytes.fromhex('3084ffffffff') + full[6:],
    'nested-huge': full[:4] + bytes.fromhex('3084fffffff0') + full[10:],
    'tiny': bytes.fromhex('3000'),
}
for k, v in seeds.items():
    open(os.path.join(d, k), 'wb').write(v)
PYEOF
[ "$(ls "$T/seeds" | wc -l)" -ge 8 ] || fail "seed corpus too small"

secs=${CRL_FUZZ_SECONDS:-20}
"$fz" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$T/art/" "$T/corpus" "$T/seeds" >"$T/fuzz.log" 2>&1 || {
	tail -40 "$T/fuzz.log"
	fail "fuzz_crl_verify found a problem"
}
expect_grep "^Done [0-9]+ runs" "$T/fuzz.log" "fuzzer ran ${secs}s without a finding"
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/fuzz.log")
[ "${runs:-0}" -gt 1000 ] || fail "only ${runs:-0} executions"
ok "$runs executions"
[ -z "$(ls "$T/art")" ] || fail "crash artifacts left: $(ls "$T/art")"
done_ok
