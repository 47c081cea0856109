#!/usr/bin/env bash
# Bounded libFuzzer run (about 15 s) of vactl's index.txt parser (tests/fuzz/fuzz_vactl_index.c): parse, write
# back, parse again must agree, under ASan/UBSan. Seeds: one line of each form `openssl ca` writes. Skipped in
# the asan pass (SAN=1): the fuzz build is already instrumented.
. "$(dirname "$0")/../lib.sh"

if [ "${SAN:-}" = 1 ]; then
	echo "skipped under SAN=1"
	done_ok
	exit 0
fi
command -v clang >/dev/null || fail "clang is needed for the fuzz build"
# Built through the Makefile's fuzz rule (the target alone, with its objects and libva), as the other fuzz tests.
FZ="$VA_TOP/build/fuzz/fuzz/fuzz_vactl_index"
make -s -C "$VA_TOP" -j2 SAN=fuzz BUILD=build/fuzz build/fuzz/fuzz/fuzz_vactl_index >"$T/build.log" 2>&1 ||
	{ tail -20 "$T/build.log" >&2; fail "fuzz build"; }
[ -x "$FZ" ] || fail "fuzz target not built"

mkdir -p "$T/corpus"
i=0
seed() { i=$((i + 1)); printf '%b' "$1" >"$T/corpus/seed$i"; }
seed 'V\t301231235959Z\t\t1000\tunknown\t/C=XX/O=VA Demo/CN=alice\n'
seed 'E\t20210101000000Z\t\t00\tunknown\t/CN=old\n'
seed 'R\t301231235959Z\t261123015624Z,keyCompromise\t1006\tunknown\t/CN=kc\n'
seed 'R\t301231235959Z\t261123015624Z,keyTime,20240301120000Z\t100A\tunknown\t/CN=kt\n'
seed 'R\t301231235959Z\t261123015624Z,CAkeyTime,20240301120000Z\t100B\tunknown\t/CN=ckt\n'
seed 'R\t301231235959Z\t261123015624Z,holdInstruction,holdInstructionCallIssuer\t1009\tunknown\t/CN=h\n'
seed 'R\t301231235959Z\t261123015624Z\t7A11223344556677889900AABBCCDDEEFF001100\tunknown\t/CN=a\\\tb\n'
seed '# comment\n\n2026-11-23T01:02:03Z\n'

"$FZ" -max_total_time=15 -max_len=2048 -timeout=5 -rss_limit_mb=1024 "$T/corpus" >"$T/fuzz.log" 2>&1 ||
	{ tail -30 "$T/fuzz.log" >&2; fail "fuzzer found a failure"; }
grep -q "Done [0-9]* runs" "$T/fuzz.log" || { tail -5 "$T/fuzz.log" >&2; fail "fuzzer did not run"; }
ok "$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$T/fuzz.log")"
done_ok
