#!/usr/bin/env bash
# perf/bench_crl.sh: a full CRL of N revoked certificates of one CA (default 10^6): `crlgen --once` (build from
# the store, sign, verify, publish) against `openssl ca -gencrl` on an index.txt with the same entries, both
# under /usr/bin/time -v (wall time, peak RSS); then a delta CRL after 100 revocations (`crlgen --once --delta`),
# whose time must not grow with N. Both sign with the same file key (one signature: the key's home does not
# matter here). Then three more full CRLs timed to the millisecond (and, with CRL_BENCH_BASE_BIN, the other
# build's three on its own store of the same entries). Appends "crl ..." lines to $OUT/results.txt.
# Then mixed stores, G good and R revoked certificates of one CA (revoked ones spread evenly over the serials):
# the case the store's revoked index is for, where a full CRL should cost R and not G + R. crlgen runs three
# times on each store (each publication is a new CRL); the best wall time and all three are reported.
# Env: CRL_BENCH_N="100000 1000000" (sizes to run);
#      CRL_BENCH_MIX="1000000:10000" (GOOD:REVOKED pairs to run; "" for none);
#      CRL_BENCH_BASE_BIN=DIR: the bin/ of another build (e.g. the commit before a store change), compared in
#        the same run. For each store its vactl builds a second store from the same index.txt and its crlgen
#        publishes from it; for mixed stores this build's `vactl init` then opens a copy of that store (timed:
#        it upgrades a store of an older format) and this build's crlgen publishes from the copy.
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
# timed FILE cmd...: cmd under /usr/bin/time -v (output in FILE); t_s = wall seconds (ms resolution, from
# date: time -v rounds to 10 ms), t_mib = peak RSS.
timed() {
	local f=$1 a b
	shift
	a=$(date +%s.%N)
	/usr/bin/time -v "$@" 2>"$f" >/dev/null || { cat "$f" >&2; return 1; }
	b=$(date +%s.%N)
	t_s=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b - a }')
	t_mib=$(($(field "$f" 'Maximum resident set size') / 1024))
}
# best3 PREFIX cmd...: three timed runs; best_s = the fastest, runs_s = "a/b/c", best_mib = the largest RSS.
best3() {
	local pre=$1 i
	shift
	best_s="" runs_s="" best_mib=0
	for i in 1 2 3; do
		timed "$pre.$i.time" "$@"
		runs_s+="${runs_s:+/}$t_s"
		if [ -z "$best_s" ] || awk -v a="$t_s" -v b="$best_s" 'BEGIN { exit !(a < b) }'; then
			best_s=$t_s
		fi
		if [ "$t_mib" -gt "$best_mib" ]; then
			best_mib=$t_mib
		fi
	done
}
# conf DIR: a va.conf in DIR for the store DIR/store and the CA cafile (file key).
conf() {
	cp "$P/cafile.pem" "$P/cafile.key" "$1/"
	cat >"$1/va.conf" <<CONF
log = { level = "warning"; syslog = false; };
store = { path = "store"; map_size_mb = 4096; };
signers = ( { name = "cafile"; type = "file"; key = "cafile.key"; cert = "cafile.pem"; } );
crlgen = { publish_dir = "crl"; interval = 3600; change_delay = 60;
  crls = ( { name = "bench"; issuer = "cafile"; signer = "cafile"; validity = 604800; delta = true;
             delta_validity = 86400; retention = -1; ready_margin = 3600; } ); };
CONF
}
# store_from VACTL DIR INDEX: init, CA, import with that vactl; import_s = the time it took.
store_from() {
	local a b
	a=$(date +%s.%N)
	"$1" -q -c "$2/va.conf" init
	"$1" -q -c "$2/va.conf" ca add cafile "$2/cafile.pem"
	"$1" -q -c "$2/va.conf" import cafile --index "$3"
	b=$(date +%s.%N)
	import_s=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", b - a }')
}
crl_entries() { openssl crl -inform DER -in "$1" -noout -text | grep -c 'Serial Number'; }

for N in ${CRL_BENCH_N:-100000 1000000}; do
	D="$W/n$N"
	mkdir -p "$D"
	conf "$D"
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

	# Three more full CRLs, timed to the millisecond; with CRL_BENCH_BASE_BIN, the other build's on its own store
	# of the same entries.
	best3 "$D/full" "$BIN/crlgen" -c "$D/va.conf" --once
	best_line=" crlgen_best_s=$best_s crlgen_runs_s=$runs_s"
	if [ -n "${CRL_BENCH_BASE_BIN:-}" ]; then
		mkdir -p "$D/base"
		conf "$D/base"
		store_from "$CRL_BENCH_BASE_BIN/vactl" "$D/base" "$D/index.txt"
		best3 "$D/base/full" "$CRL_BENCH_BASE_BIN/crlgen" -c "$D/base/va.conf" --once
		best_line+=" base_crlgen_best_s=$best_s base_crlgen_runs_s=$runs_s"
		best_line+=" base_crlgen_entries=$(crl_entries "$D/base/crl/bench.crl")"
		rm -rf "$D/base"
	fi

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
	line+=$best_line
	echo "$line" | tee -a "$OUT/results.txt"
	rm -rf "$D"
done

for M in ${CRL_BENCH_MIX-1000000:10000}; do
	G=${M%%:*} R=${M##*:}
	D="$W/mix$G-$R"
	mkdir -p "$D"
	conf "$D"
	# G + R certificates from serial 0x100000; entry i is revoked when floor((i+1)R/n) > floor(iR/n), which
	# spreads exactly R revocations evenly.
	awk -v g="$G" -v r="$R" 'BEGIN {
		n = g + r;
		split("keyCompromise superseded cessationOfOperation affiliationChanged CACompromise unspecified", rs, " ");
		for (i = 0; i < n; i++) {
			if (int((i + 1) * r / n) > int(i * r / n)) {
				reason = rs[i % 6 + 1];
				rev = (reason == "unspecified") ? "260101000000Z" : "260101000000Z," reason;
				printf "R\t300101000000Z\t%s\t%X\tunknown\t/CN=bench%d\n", rev, 1048576 + i, i;
			} else {
				printf "V\t300101000000Z\t\t%X\tunknown\t/CN=bench%d\n", 1048576 + i, i;
			}
		}
	}' >"$D/index.txt"
	store_from "$BIN/vactl" "$D" "$D/index.txt"
	line="crl_mix good=$G revoked=$R import_s=$import_s"
	best3 "$D/crlgen" "$BIN/crlgen" -c "$D/va.conf" --once
	line+=" crlgen_s=$best_s crlgen_runs_s=$runs_s crlgen_maxrss_mib=$best_mib"
	line+=" crlgen_entries=$(crl_entries "$D/crl/bench.crl")"
	rm -rf "$D/store" "$D/crl"
	if [ -n "${CRL_BENCH_BASE_BIN:-}" ]; then
		B="$D/base"
		mkdir -p "$B"
		conf "$B"
		store_from "$CRL_BENCH_BASE_BIN/vactl" "$B" "$D/index.txt"
		line+=" base_import_s=$import_s"
		best3 "$B/crlgen" "$CRL_BENCH_BASE_BIN/crlgen" -c "$B/va.conf" --once
		line+=" base_crlgen_s=$best_s base_crlgen_runs_s=$runs_s base_crlgen_maxrss_mib=$best_mib"
		line+=" base_crlgen_entries=$(crl_entries "$B/crl/bench.crl")"
		# This build on a copy of the base build's store: the first read-write open upgrades an older format.
		U="$D/upgraded"
		mkdir -p "$U"
		conf "$U"
		cp -a "$B/store" "$U/store"
		timed "$U/init.time" "$BIN/vactl" -c "$U/va.conf" init
		line+=" upgrade_init_s=$t_s upgrade_init_maxrss_mib=$t_mib"
		best3 "$U/crlgen" "$BIN/crlgen" -c "$U/va.conf" --once
		line+=" upgraded_crlgen_s=$best_s upgraded_crlgen_runs_s=$runs_s"
		line+=" upgraded_crlgen_entries=$(crl_entries "$U/crl/bench.crl")"
	fi
	echo "$line" | tee -a "$OUT/results.txt"
	rm -rf "$D"
done
