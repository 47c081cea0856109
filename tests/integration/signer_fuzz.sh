#!/usr/bin/env bash
# signer_fuzz: the RFC 7512 URI parser (tests/fuzz/fuzz_p11_uri.c) under libFuzzer with ASan/UBSan for ~10 s,
# seeded with good URIs and with the kinds of bad ones the unit test refuses. Skipped in the asan pass (SAN=1):
# the fuzz build is itself sanitised. Built without -Werror: clang warns where gcc (the -Werror pass) does not.
. "$(dirname "$0")/../lib.sh"

if [ "${SAN:-}" = 1 ]; then
	echo "SAN=1: the fuzz target runs in the plain pass"
	done_ok
	exit 0
fi
command -v clang >/dev/null || fail "clang not installed"
fz="$VA_TOP/build/fuzz/fuzz/fuzz_p11_uri"
make -s -C "$VA_TOP" -j2 SAN=fuzz BUILD=build/fuzz WERROR= build/fuzz/fuzz/fuzz_p11_uri >"$T/build.log" 2>&1 ||
	{ tail -20 "$T/build.log"; fail "building the fuzz target"; }
[ -x "$fz" ] || fail "no $fz"

mkdir -p "$T/seeds" "$T/corpus" "$T/art"
i=0
for u in 'pkcs11:token=va;object=ocsp1;type=private' 'pkcs11:id=%01%a0;serial=0123' \
	'pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;object=my%20key' \
	'pkcs11:object=x?pin-value=1234' 'pkcs11:object=a;object=b' 'pkcs11:object=%4' 'pkcs11:object=ab%' \
	'pkcs11:;;object=x;' 'pkcs11:foo=bar' 'pkcs11:type=public;id=%00'; do
	printf '%s' "$u" >"$T/seeds/s$i"
	i=$((i + 1))
done
head -c 600 /dev/zero | tr '\0' 'a' | sed 's/^/pkcs11:object=/' >"$T/seeds/long"

secs=${SIGNER_FUZZ_SECONDS:-10}
"$fz" -max_total_time="$secs" -max_len=1024 -timeout=10 -print_final_stats=1 -artifact_prefix="$T/art/" \
	"$T/corpus" "$T/seeds" >"$T/fuzz.log" 2>&1 || {
	tail -40 "$T/fuzz.log"
	fail "fuzz_p11_uri found a problem"
}
expect_grep "^Done [0-9]+ runs" "$T/fuzz.log" "fuzzer ran ${secs}s without a finding"
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/fuzz.log")
[ "${runs:-0}" -gt 1000 ] || fail "only ${runs:-0} executions"
ok "$runs executions"
[ -z "$(ls "$T/art")" ] || fail "crash artifacts left: $(ls "$T/art")"
done_ok
