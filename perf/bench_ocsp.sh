#!/usr/bin/env bash
# perf/bench_ocsp.sh: ocspd against its peers, in one run, server pinned to $SERVER_CPU and wrk to $LOAD_CPU.
#   - ocspd cached answers (GET per RFC 5019, and POST), keep-alive and connection-close
#   - ocspd with a nonce in every request (every answer signed) vs the signer's raw rate (bench_signer, 1 thread)
#   - `openssl ocsp` as a responder on the same CA and index.txt (file key: what small deployments run)
#   - nginx serving a static file of the same size as the OCSP response (this machine's HTTP ceiling)
#   - cached GET at 10^4, 10^6 and 10^7 certificates in the store
# Env: DURATION (s per wrk run, default 10), CONNS (default "1 16 64 256"), SCALES (default "4 6 7"),
#      OCSPD_THREADS (pool threads, default 1: one core), OCSPD_WORKERS (signing workers, default 2), SKIP (words: peers, nonce, scale).
# Results: perf/out/results.txt ("ocsp ..." lines); the ratios go into perf/RESULTS.md.
. "$(dirname "$0")/lib.sh"
CONNS=${CONNS:-1 16 64 256}
SCALES=${SCALES:-4 6 7}
OCSPD_THREADS=${OCSPD_THREADS:-1}
OCSPD_WORKERS=${OCSPD_WORKERS:-2}
SKIP=${SKIP:-}
skip() { [[ " $SKIP " == *" $1 "* ]]; }

P="$W/pki"
VA_PKI_QUIET=1 "$VA_TOP/scripts/pki.sh" "$P" >/dev/null
export SOFTHSM2_CONF="$P/softhsm2.conf"
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
cat >"$P/bench.conf" <<CONF
log = { level = "warning"; };
store = { path = "store"; map_size_mb = 4096; };
signers = (
  { name = "ocsp1"; type = "pkcs11"; uri = "pkcs11:token=va;object=ocsp1;type=private"; pin_file = "pin";
    cert = "ocsp1.pem"; }
);
ocspd = {
  http = { listen = "127.0.0.1"; port = $PORT; threads = $OCSPD_THREADS; workers = $OCSPD_WORKERS; conn_limit = 8192; per_ip_limit = 8192;
           timeout = 30; };
  validity = 86400;
  cas = ( { issuer = "ca1"; signer = "ocsp1"; responder_id = "key"; include_cert = true; } );
};
CONF
VACTL() { "$BIN/vactl" -q -c "$P/bench.conf" "$@"; }
VACTL init
VACTL ca add ca1 "$P/ca1.pem"
VACTL import ca1 --index "$P/ca1/index.txt"

# Requests for a good certificate of ca1 (serial 1004): without and with a nonce.
openssl ocsp -issuer "$P/ca1.pem" -serial 0x1004 -no_nonce -reqout "$W/req.der" >/dev/null 2>&1
openssl ocsp -issuer "$P/ca1.pem" -serial 0x1004 -nonce -reqout "$W/req-nonce.der" >/dev/null 2>&1
B64=$(base64 -w0 "$W/req.der" | sed 's|/|%2F|g; s|+|%2B|g; s|=|%3D|g')

start_ocspd() {
	bg_server ocspd "$BIN/ocspd" -c "$P/bench.conf"
	wait_url "$URL/readyz" 60
	curl -fsS -o "$W/resp.der" "$URL/$B64"
}
stop_ocspd() { kill "$ocspd_pid"; wait "$ocspd_pid" 2>/dev/null || true; }

run_set() { # label url [body ctype]
	local label=$1 url=$2 body=${3:-} ctype=${4:-}
	for mode in keepalive close; do
		for c in $CONNS; do
			CLOSE=$([ $mode = close ] && echo 1 || echo 0) wrk_run "$label" "$url" "$c" "$body" "$ctype"
		done
	done
}

echo "# ocsp bench: DURATION=$DURATION threads=$OCSPD_THREADS workers=$OCSPD_WORKERS server_cpu=$SERVER_CPU load_cpu=$LOAD_CPU" |
	tee -a "$OUT/results.txt"
start_ocspd
echo "ocsp response size: $(stat -c %s "$W/resp.der") bytes" | tee -a "$OUT/results.txt"
run_set "ocsp ocspd-cached-get" "$URL/$B64"
run_set "ocsp ocspd-cached-post" "$URL/" "$W/req.der" application/ocsp-request
if ! skip nonce; then
	run_set "ocsp ocspd-nonce-post" "$URL/" "$W/req-nonce.der" application/ocsp-request
fi
stop_ocspd

if ! skip nonce; then
	# The signer's raw rate on the same core: the ceiling of every-answer-signed.
	make -C "$VA_TOP" --no-print-directory benches >/dev/null
	line=$(on_server "$VA_TOP/build/perf/bench_signer" -c "$P/bench.conf" -s ocsp1 -t 1 -d "$DURATION" |
		grep '^bench=signer')
	echo "ocsp signer-raw ${line#bench=signer }" | tee -a "$OUT/results.txt"
fi

if ! skip peers; then
	# nginx: a static file of the response's size.
	np=$(free_port)
	nginx_static "$np" "$W/resp.der"
	run_set "ocsp nginx-static" "http://127.0.0.1:$np/static"
	kill "$nginx_pid"; wait "$nginx_pid" 2>/dev/null || true

	# openssl ocsp responder on the same CA and index (file key for its signer: it cannot use the token).
	op=$(free_port)
	bg_server openssl openssl ocsp -index "$P/ca1/index.txt" -port "$op" -rsigner "$P/ocsp1-file.pem" \
		-rkey "$P/ocsp1-file.key" -CA "$P/ca1.pem" -nmin 1440
	for _ in $(seq 50); do curl -s -o /dev/null --data-binary @"$W/req.der" "http://127.0.0.1:$op/" && break; sleep 0.1; done
	# wrk gets no answer from `openssl ocsp` (its one-connection-at-a-time HTTP/1.0 server): perf/httpload.py
	# drives it instead, one connection per request; its own ceiling is measured against ocspd below.
	for c in $CONNS; do
		[ "$c" -le 64 ] || continue
		line=$(on_load "$VA_TOP/perf/httpload.py" 127.0.0.1 "$op" / "$W/req.der" application/ocsp-request "$c" \
			"$DURATION")
		echo "ocsp openssl-ocsp-post mode=close conns=$c ${line#RESULT }" | tee -a "$OUT/results.txt"
	done
	kill "$openssl_pid"; wait "$openssl_pid" 2>/dev/null || true
	start_ocspd
	line=$(on_load "$VA_TOP/perf/httpload.py" 127.0.0.1 "$PORT" / "$W/req.der" application/ocsp-request 16 "$DURATION")
	echo "ocsp httpload-ceiling(ocspd-cached-post) mode=close conns=16 ${line#RESULT }" | tee -a "$OUT/results.txt"
	stop_ocspd
fi

if ! skip scale; then
	# Store scale: 10^N certificates of ca1 (synthetic serials), cached GET at 64 connections, keep-alive.
	have=$(VACTL stats | awk '/^certs/ {print $2}' || echo 0)
	for n in $SCALES; do
		total=$((10 ** n))
		$PY - "$W/bulk.txt" "$total" <<'PYEOF'
import sys
path, total = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    for i in range(total):
        # serials 0x7F000000... keep clear of the demo ones; half revoked so CRL-like data is realistic
        s = "%016X" % (0x7F00000000000000 + i)
        if i % 2:
            f.write("R\t301231235959Z\t240101000000Z,keyCompromise\t%s\tunknown\t/CN=bulk%d\n" % (s, i))
        else:
            f.write("V\t301231235959Z\t\t%s\tunknown\t/CN=bulk%d\n" % (s, i))
PYEOF
		VACTL import ca1 --index "$W/bulk.txt" >/dev/null
		start_ocspd
		DURATION=$DURATION wrk_run "ocsp scale=1e$n ocspd-cached-get" "$URL/$B64" 64
		stop_ocspd
	done
fi
