#!/usr/bin/env bash
# perf/bench_crl.sh: a full CRL of N revoked certificates of one CA (default 10^6): `crlgen --once` (build from
# the store, sign, verify, publish) against `openssl ca -gencrl` on an index.txt with the same entries, both
# under /usr/bin/time -v (wall time, peak RSS); then a delta CRL after 100 revocations (`crlgen --once --delta`),
# whose time must not grow with N. Both sign with the same file key (one signature: the key's home does not
# matter here). Appends "crl ..." lines to $OUT/results.txt.
# Env: CRL_BENCH_N="100000 1000000" (sizes to run).
. "$(dirname "$0")/lib.sh"
[ -x "$BIN/crlgen" ] && [ -x "$BIN/vactl" ] || make -C "$VA_TOP" --no-print-directory all >/dev/null
P="$W/pki"
VA_PKI_QUIET=1 VA_PKI_KEYTYPE=rsa "$VA_TOP/scripts/pki.sh" "$P" >/dev/null
export SOFTHSM2_CONF="$P/softhsm2.conf"

# field FILE NAME: a value from /usr/bin/time -v output.
field() { awk -F': ' -v k="$2" 'index($0, k) { print $2 }' "$1" | tail -1; }
secs() { # "m:ss.cc" or "h:mm:ss" -> seconds
	awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }' <<<"$1"
}

for N in ${CRL_BENCH_N:-100000 1000000}; do
	D="$W/n$N"
	mkdir -p "$D"
	cp "$P/cafile.pem" "$P/cafile.key" "$D/"
	cat >"$D/va.conf" <<CONF
log = { level = "warning"; syslog = false; };
store = { path = "store"; map_size_mb = 4096; };
signers = ( { name = "cafile"; type = "file"; key = "cafile.key"; cert = "cafile.pem"; } );
crlgen = { publish_dir = "crl"; interval = 3600; change_delay = 60;
  crls = ( { name = "bench"; issuer = "cafile"; signer = "cafile"; validity = 604800; delta = true;
             delta_validity = 86400; retention = -1; ready_margin = 3600; } ); };
CONF
	# N revoked entries, serials from 0x100000, every usual reason, one in 16 with an invalidity date.
	awk -v n="$N" 'BEGIN {
		split("keyCompromise superseded cessationOfOperation affiliationChanged CACompromise unspecified", r, " ");
		for (i = 0; i < n; i++) {
			reason = r[i % 6 + 1];
			rev = (reason == "unspecified") ? "260101000000Z" : "260101000000Z," reason;
			if (i % 16 == 0) rev = "260101000000Z,keyTime,20251231000000Z";
			printf "R\t300101000000Z\t%s\t%X\tunknown\t/CN=bench%d\n", rev, 1048576 + i, i;
		}
	}' >"$D/index.txt"
	t0=$(date +%s.%N)
	"$BIN/vactl" -q -c "$D/va.conf" init
	"$BIN/vactl" -q -c "$D/va.conf" ca add cafile "$D/cafile.pem"
	"$BIN/vactl" -q -c "$D/va.conf" import cafile --index "$D/index.txt"
	t1=$(date +%s.%N)

	/usr/bin/time -v "$BIN/crlgen" -c "$D/va.conf" --once 2>"$D/crlgen.time" >/dev/null
	cg_s=$(secs "$(field "$D/crlgen.time" 'Elapsed (wall clock)')")
	cg_kb=$(field "$D/crlgen.time" 'Maximum resident set size')
	size=$(stat -c %s "$D/crl/bench.crl")

	# openssl ca -gencrl on the same entries and key.
	mkdir -p "$D/ossl"
	cp "$D/index.txt" "$D/ossl/index.txt"
	echo 1000 >"$D/ossl/crlnumber"
	cat >"$D/ossl/ca.cnf" <<CNF
[ ca ]
default_ca = bench
[ bench ]
dir = $D/ossl
database = \$dir/index.txt
crlnumber = \$dir/crlnumber
new_certs_dir = \$dir
serial = \$dir/serial
certificate = $D/cafile.pem
private_key = $D/cafile.key
default_md = sha256
default_crl_days = 7
unique_subject = no
crl_extensions = crl_ext
[ crl_ext ]
authorityKeyIdentifier = keyid:always
CNF
	/usr/bin/time -v openssl ca -config "$D/ossl/ca.cnf" -gencrl -out "$D/ossl/openssl.crl" 2>"$D/ossl.time" >/dev/null
	os_s=$(secs "$(field "$D/ossl.time" 'Elapsed (wall clock)')")
	os_kb=$(field "$D/ossl.time" 'Maximum resident set size')
	osize=$(stat -c %s "$D/ossl/openssl.crl")

	# Same entries in both (serials), and ours verifies with openssl.
	openssl crl -inform DER -in "$D/crl/bench.crl" -CAfile "$D/cafile.pem" -noout -verify 2>&1 | grep -q 'verify OK' ||
		echo "crl N=$N: WARNING: crlgen's CRL does not verify" | tee -a "$OUT/results.txt"
	ours=$(openssl crl -inform DER -in "$D/crl/bench.crl" -noout -text | grep -c 'Serial Number')
	theirs=$(openssl crl -in "$D/ossl/openssl.crl" -noout -text | grep -c 'Serial Number')

	# Delta after 100 revocations of freshly recorded certificates.
	for ((i = 0; i < 100; i++)); do printf 'V\t300101000000Z\t\t%X\tunknown\t/CN=new%d\n' $((16777216 + i)) "$i"; done \
		>"$D/new.txt"
	"$BIN/vactl" -q -c "$D/va.conf" import cafile --index "$D/new.txt"
	for ((i = 0; i < 100; i++)); do
		"$BIN/vactl" -q -c "$D/va.conf" revoke cafile "$(printf '%X' $((16777216 + i)))" --reason keyCompromise
	done
	/usr/bin/time -v "$BIN/crlgen" -c "$D/va.conf" --once --delta 2>"$D/delta.time" >/dev/null
	dl_s=$(secs "$(field "$D/delta.time" 'Elapsed (wall clock)')")
	dl_kb=$(field "$D/delta.time" 'Maximum resident set size')
	dents=$(openssl crl -inform DER -in "$D/crl/bench-delta.crl" -noout -text | grep -c 'Serial Number')

	speed=$(awk -v a="$os_s" -v b="$cg_s" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
	line="crl entries=$N import_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
	line+=" crlgen_s=$cg_s crlgen_maxrss_mib=$((cg_kb / 1024)) crl_bytes=$size crlgen_entries=$ours"
	line+=" openssl_s=$os_s openssl_maxrss_mib=$((os_kb / 1024)) openssl_bytes=$osize openssl_entries=$theirs"
	line+=" speedup=${speed}x delta100_s=$dl_s delta100_maxrss_mib=$((dl_kb / 1024)) delta_entries=$dents"
	echo "$line" | tee -a "$OUT/results.txt"
	rm -rf "$D"
done
