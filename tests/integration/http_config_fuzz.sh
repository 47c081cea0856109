#!/usr/bin/env bash
# The configuration loader (common/config.c over libconfig) and the common readers under libFuzzer with
# ASan/UBSan for ~15 s, seeded with conf/va.conf and small good and bad files. Skipped in the asan pass
# ($SAN = 1): the fuzz target is its own sanitizer build.
. "$(dirname "$0")/../lib.sh"

if [ "${SAN:-}" = 1 ]; then
	echo "skipped under SAN=1 (the fuzz target is built with its own sanitizers)"
	done_ok
	exit 0
fi
command -v clang >/dev/null || fail "clang is not installed"
# Built here from the few sources it needs (seconds) rather than the whole fuzz tree.
# shellcheck disable=SC2046
clang -std=c17 -g -O1 -D_GNU_SOURCE -iquote "$VA_TOP/common" -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -o "$T/fuzz_config" "$VA_TOP/tests/fuzz/fuzz_config.c" \
	"$VA_TOP/common/config.c" "$VA_TOP/common/http.c" "$VA_TOP/common/metrics.c" "$VA_TOP/common/log.c" \
	"$VA_TOP/common/err.c" $(pkg-config --cflags --libs libconfig libmicrohttpd openssl) -lpthread \
	|| fail "building the fuzz target"

mkdir -p "$T/corpus"
cp "$VA_TOP/conf/va.conf" "$T/corpus/va.conf"
printf 'store = { path = "s"; map_size_mb = 4294967297; };\n' >"$T/corpus/wrap"
printf 'signers = ( { name = "a"; type = "pkcs11"; uri = "pkcs11:object=a"; pin = "1"; cert = "c"; } );\n' \
	>"$T/corpus/pin"
printf 'ocspd = { http = { listen = "::1"; port = 0; threads = 4; conn_limit = 3; }; };\n' >"$T/corpus/http"
printf 'log = { level = "warn"; syslog = 1; };\n/* c */ # c\n// c\nx = [ 1, 2L, 0x10, 1.5e3, "s\\"" ];\n' \
	>"$T/corpus/lex"

# libconfig 1.5 leaks a string buffer on some syntax errors: not ours.
printf 'leak:libconfig.so\n' >"$T/lsan.supp"
if ! LSAN_OPTIONS="suppressions=$T/lsan.supp" "$T/fuzz_config" -max_total_time=15 -max_len=4096 -timeout=5 \
	-artifact_prefix="$T/" "$T/corpus" >"$T/fuzz.log" 2>&1; then
	grep -v ' error: ' "$T/fuzz.log" | tail -40 >&2
	fail "fuzz_config found a crash (artifact in $T)"
fi
grep -q '^Done [0-9]* runs' "$T/fuzz.log" || { tail -20 "$T/fuzz.log" >&2; fail "fuzzer did not finish"; }
ok "fuzz_config: $(grep -o '^Done [0-9]* runs' "$T/fuzz.log")"
done_ok
