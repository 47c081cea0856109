#!/usr/bin/env bash
# perf/bench_signer.sh: the signer's raw rate (signatures/s) on the project's SoftHSM2 token, RSA-2048 and
# EC P-256, 1 and 2 threads, and a PEM-file key for comparison. The OCSP and TSA figures are read against it.
# Appends "signer ..." lines to $OUT/results.txt. Env: DURATION (s per run), SERVER_CPU (unused: both cores).
. "$(dirname "$0")/lib.sh"
BENCH=${BENCH_SIGNER:-$VA_TOP/build/perf/bench_signer}
[ -x "$BENCH" ] || make -C "$VA_TOP" --no-print-directory benches >/dev/null
for kt in rsa ec; do
	P="$W/pki-$kt"
	VA_PKI_QUIET=1 VA_PKI_KEYTYPE=$kt "$VA_TOP/scripts/pki.sh" "$P" >/dev/null
	cat >"$P/bench.conf" <<CONF
signers = (
  { name = "ocsp1"; type = "pkcs11"; uri = "pkcs11:token=va;object=ocsp1;type=private"; pin_file = "pin";
    cert = "ocsp1.pem"; },
  { name = "ocsp1-file"; type = "file"; key = "ocsp1-file.key"; cert = "ocsp1-file.pem"; }
);
CONF
	for s in ocsp1 ocsp1-file; do
		for t in 1 2; do
			line=$(SOFTHSM2_CONF="$P/softhsm2.conf" "$BENCH" -c "$P/bench.conf" -s "$s" -t "$t" \
				-d "$DURATION" | grep '^bench=signer')
			echo "signer keytype=$kt ${line#bench=signer }" | tee -a "$OUT/results.txt"
		done
	done
done
