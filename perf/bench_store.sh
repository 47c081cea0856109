#!/usr/bin/env bash
# perf/bench_store.sh: store import rate (store_batch_put), status lookup latency (p50/p99, hits and misses) and
# bytes per certificate at 10^4, 10^6 and 10^7 certificates; and vactl's import of a 10^6-line index.txt.
# Env: SIZES (default "10000 1000000 10000000"). Appends "store ..." lines to $OUT/results.txt.
. "$(dirname "$0")/lib.sh"
SIZES=${SIZES:-10000 1000000 10000000}
make -C "$VA_TOP" --no-print-directory benches >/dev/null
for n in $SIZES; do
	( cd "$W" && on_server "$VA_TOP/build/perf/bench_store" "$n" ) 2>&1 | sed "s/^/store N=$n: /" |
		tee -a "$OUT/results.txt"
done
# The operator's path: vactl import of an OpenSSL index.txt of 10^6 lines (parse, validate, batch writes).
$PY - "$W/index.txt" 1000000 <<'PYEOF'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        s = "%016X" % (0x100000 + i)
        if i % 10 == 0:
            f.write("R\t301231235959Z\t240101000000Z,keyCompromise\t%s\tunknown\t/CN=u%d\n" % (s, i))
        else:
            f.write("V\t301231235959Z\t\t%s\tunknown\t/CN=u%d\n" % (s, i))
PYEOF
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/ca.key" -out "$W/ca.pem" \
	-subj /CN=bench-ca -days 30 -addext basicConstraints=critical,CA:TRUE >/dev/null 2>&1
"$BIN/vactl" -q -s "$W/vstore" init
"$BIN/vactl" -q -s "$W/vstore" ca add bench "$W/ca.pem"
t0=$(date +%s.%N)
on_server "$BIN/vactl" -q -s "$W/vstore" import bench --index "$W/index.txt"
t1=$(date +%s.%N)
$PY -c "import sys; d=float(sys.argv[2])-float(sys.argv[1]); print('store vactl-import-index lines=1000000 seconds=%.2f rate=%.0f' % (d, 1e6/d))" "$t0" "$t1" |
	tee -a "$OUT/results.txt"
