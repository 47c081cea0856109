#!/usr/bin/env bash
# perf/bench_tsa.sh: tsad against its peers, in one run (server on $SERVER_CPU, load on $LOAD_CPU):
#   - tsad tokens/s and p50/p99 at CONNS connections (keep-alive), RSA-2048 key in SoftHSM2
#   - the signer's raw rate (bench_signer, 1 thread, same core): the ceiling
#   - `openssl ts -reply` run as one process per request (how small deployments wrap it), file key
#   - uts-server, when UTS_SERVER names a binary built by hand (its build recipe is not part of this project);
#     it is configured with the same certificate and a file key
# Env: DURATION (s per run, default 10), CONNS (default "1 16 64"), TSAD_THREADS (default 1), TSAD_WORKERS (default 2),
#      TSAD_LOOP_BATCH (true, tsad's default, or false: http.loop_batch), TSAD_CONN_MEMORY (http.conn_memory), REPEAT (rounds of tsad + raw signer, default 1),
#      UTS_SERVER,
#      KEYTYPE (rsa: RSA-2048, default; ec: P-256, for tsad, the raw signer and the peers alike).
. "$(dirname "$0")/lib.sh"
CONNS=${CONNS:-1 16 64}
TSAD_THREADS=${TSAD_THREADS:-1}
TSAD_WORKERS=${TSAD_WORKERS:-2}
TSAD_LOOP_BATCH=${TSAD_LOOP_BATCH:-true}
REPEAT=${REPEAT:-1}
P="$W/pki"
VA_PKI_QUIET=1 VA_PKI_KEYTYPE="${KEYTYPE:-rsa}" "$VA_TOP/scripts/pki.sh" "$P" >/dev/null
export SOFTHSM2_CONF="$P/softhsm2.conf"
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
cat >"$P/bench.conf" <<CONF
log = { level = "warning"; };
store = { path = "store"; };
signers = (
  { name = "tsa"; type = "pkcs11"; uri = "pkcs11:token=va;object=tsa;type=private"; pin_file = "pin";
    cert = "tsa.pem"; chain = "chain1.pem"; }
);
tsad = {
  http = { listen = "127.0.0.1"; port = $PORT; threads = $TSAD_THREADS; workers = $TSAD_WORKERS; loop_batch = $TSAD_LOOP_BATCH; ${TSAD_CONN_MEMORY:+conn_memory = $TSAD_CONN_MEMORY;} conn_limit = 8192; per_ip_limit = 8192; };
  signer = "tsa"; name = "bench"; policy = "1.3.6.1.4.1.55555.1.1";
  digests = [ "sha256", "sha384", "sha512" ];
};
CONF
"$BIN/vactl" -q -c "$P/bench.conf" init
head -c 4096 /dev/urandom >"$W/data"
openssl ts -query -data "$W/data" -sha256 -cert -out "$W/req.tsq" 2>/dev/null

echo "# tsa bench: KEYTYPE=${KEYTYPE:-rsa} DURATION=$DURATION threads=$TSAD_THREADS workers=$TSAD_WORKERS loop_batch=$TSAD_LOOP_BATCH server_cpu=$SERVER_CPU load_cpu=$LOAD_CPU" |
	tee -a "$OUT/results.txt"
bg_server tsad "$BIN/tsad" -c "$P/bench.conf"
wait_url "$URL/readyz" 60
curl -fsS -o "$W/resp.tsr" -H 'Content-Type: application/timestamp-query' --data-binary @"$W/req.tsq" "$URL/"
openssl ts -verify -in "$W/resp.tsr" -queryfile "$W/req.tsq" -CAfile "$P/root.pem" -untrusted "$P/chain1.pem" \
	>/dev/null 2>&1 || { echo "tsad answer does not verify" >&2; exit 1; }
make -C "$VA_TOP" --no-print-directory benches >/dev/null
# REPEAT rounds of (tsad at each of CONNS, then the raw signer): the machine is shared and single runs vary by a
# few percent, so each round's ratio is printed against the raw rate measured right after it.
for r in $(seq "$REPEAT"); do
	rates=()
	for c in $CONNS; do
		wrk_run "tsa tsad" "$URL/" "$c" "$W/req.tsq" application/timestamp-query
		rates+=("$c:$(tail -n 1 "$OUT/results.txt" | sed -n 's/.* rps=\([0-9.]*\).*/\1/p')")
	done
	line=$(on_server "$VA_TOP/build/perf/bench_signer" -c "$P/bench.conf" -s tsa -t 1 -d "$DURATION" | grep '^bench=signer')
	echo "tsa signer-raw ${line#bench=signer }" | tee -a "$OUT/results.txt"
	raw=$(echo "$line" | sed -n 's/.*sigs_per_sec=\([0-9.]*\).*/\1/p')
	for cr in "${rates[@]}"; do
		$PY -c "import sys; print('tsa ratio round=%s conns=%s tsad/raw=%.3f' % (sys.argv[1], sys.argv[2], float(sys.argv[3] or 0) / float(sys.argv[4])))" \
			"$r" "${cr%%:*}" "${cr#*:}" "$raw" | tee -a "$OUT/results.txt"
	done
done
kill "$tsad_pid"; wait "$tsad_pid" 2>/dev/null || true

# openssl ts -reply, one process per request, sequentially on the server core.
cat >"$W/ts.cnf" <<CNF
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = $W/tsaserial
signer_cert = $P/tsa-file.pem
signer_key = $P/tsa-file.key
certs = $P/chain1.pem
signer_digest = sha256
default_policy = 1.3.6.1.4.1.55555.1.1
digests = sha256, sha384, sha512
accuracy = secs:1
ess_cert_id_alg = sha256
CNF
echo 01 >"$W/tsaserial"
n=0
end=$(( $(date +%s) + DURATION ))
t0=$(date +%s.%N)
while [ "$(date +%s)" -lt "$end" ]; do
	on_server openssl ts -reply -config "$W/ts.cnf" -queryfile "$W/req.tsq" -out "$W/o.tsr" 2>/dev/null
	n=$((n + 1))
done
t1=$(date +%s.%N)
$PY -c "import sys; d=float(sys.argv[2])-float(sys.argv[1]); print('tsa openssl-ts-reply process-per-request conns=1 rps=%.0f requests=%d' % (int(sys.argv[3])/d, int(sys.argv[3])))" \
	"$t0" "$t1" "$n" | tee -a "$OUT/results.txt"

if [ -n "${UTS_SERVER:-}" ] && [ -x "$UTS_SERVER" ]; then
	up=$(free_port)
	cat >"$W/uts.cnf" <<CNF
[ oids ]
tsa_policy1 = 1.3.6.1.4.1.55555.1.1
[ main ]
listening_ports = 127.0.0.1:$up
enable_keep_alive = yes
num_threads = 64
throttle = *=0
request_timeout_ms = 30000
tcp_nodelay = 0
log_level = warn
log_to_syslog = no
[ tsa ]
signer_cert = $P/tsa-file.pem
certs = $P/chain1.pem
signer_key = $P/tsa-file.key
default_policy = tsa_policy1
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 0
ordering = no
tsa_name = no
ess_cert_id_chain = no
CNF
	echo 01 >"$W/utsserial"
	bg_server uts "$UTS_SERVER" -c "$W/uts.cnf"
	for _ in $(seq 50); do
		curl -s -o /dev/null -H 'Content-Type: application/timestamp-query' --data-binary @"$W/req.tsq" \
			"http://127.0.0.1:$up/" && break
		sleep 0.1
	done
	for c in $CONNS; do
		wrk_run "tsa uts-server" "http://127.0.0.1:$up/" "$c" "$W/req.tsq" application/timestamp-query
	done
else
	echo "tsa uts-server skipped (set UTS_SERVER to a uts-server binary built by hand)" | tee -a "$OUT/results.txt"
fi
