#!/usr/bin/env bash
# signer_pki: the signer on the project's demo PKI (scripts/pki.sh token, config read by common/config), driven
# through bench_signer: PKCS#11 and file keys sign from 2 threads and every checked signature verifies; a wrong
# PIN and a key that is not in the token are refused with the right messages.
. "$VA_TOP/tests/lib.sh"
BENCH="$VA_TOP/${BUILD:-build}/perf/bench_signer"
case "$BUILD" in /*) BENCH="$BUILD/perf/bench_signer" ;; esac
[ -x "$BENCH" ] || fail "$BENCH not built (make benches)"
pki_setup rsa
echo 0000 >"$T/badpin"
cat >"$PKI/va.conf" <<CONF
signers = (
  { name = "ocsp1"; type = "pkcs11"; uri = "pkcs11:token=va;object=ocsp1;type=private"; pin_file = "pin";
    cert = "ocsp1.pem"; chain = "chain1.pem"; },
  { name = "tsa"; type = "pkcs11"; uri = "pkcs11:token=va;object=tsa;type=private"; pin_file = "pin";
    cert = "tsa.pem"; },
  { name = "quick"; type = "file"; key = "ocsp1-file.key"; cert = "ocsp1-file.pem"; },
  { name = "badpin"; type = "pkcs11"; uri = "pkcs11:token=va;object=ocsp1;type=private"; pin_file = "$T/badpin";
    cert = "ocsp1.pem"; },
  { name = "nokey"; type = "pkcs11"; uri = "pkcs11:token=va;object=nosuchkey;type=private"; pin_file = "pin";
    cert = "ocsp1.pem"; },
  { name = "mismatch"; type = "pkcs11"; uri = "pkcs11:token=va;object=ocsp2;type=private"; pin_file = "pin";
    cert = "ocsp1.pem"; }
);
CONF
for s in ocsp1 tsa quick; do
	"$BENCH" -c "$PKI/va.conf" -s "$s" -t 2 -d 1 >"$T/$s.out" 2>&1 || { cat "$T/$s.out"; fail "bench $s"; }
	expect_grep "^bench=signer signer=$s threads=2 .* errors=0$" "$T/$s.out" "$s signs from 2 threads"
	n=$(sed -n 's/.* signatures=\([0-9]*\) .*/\1/p' "$T/$s.out")
	[ "$n" -gt 0 ] || fail "$s made no signature"
done
for s in badpin nokey mismatch; do
	if "$BENCH" -c "$PKI/va.conf" -s "$s" -t 1 -d 1 >"$T/$s.out" 2>&1; then fail "$s accepted"; fi
done
expect_grep "login refused" "$T/badpin.out" "wrong PIN refused by the token"
expect_grep "unavailable" "$T/badpin.out" "wrong PIN typed as signer down"
expect_grep "no private key matches" "$T/nokey.out" "missing key reported"
expect_grep "does not match the certificate" "$T/mismatch.out" "key/certificate mismatch refused"
done_ok
