#!/usr/bin/env bash
# perf/bench_ocsp.sh: ocspd against its peers in one run (wrk on loopback, server and load on separate cores):
#   ocspd-get / ocspd-post   cached answers (one certificate, no nonce), keep-alive and connection-close
#   ocspd-nonce              a nonce in every request: every answer signed (SoftHSM2 RSA key, as deployed)
#   openssl-ocsp             `openssl ocsp -index` on the same CA and index.txt (POST)
#   nginx-static             nginx serving a static file of the size of an OCSP response (the HTTP ceiling)
# at concurrency 1, 16, 64, 256; then cached GETs over 1000 certificates with 10^4 and 10^7 certificates in the
# store (OCSP_BENCH_SIZES). Appends "ocsp ..." lines to $OUT/results.txt; ratios go to perf/RESULTS.md.
# Env: DURATION, OCSP_BENCH_CONNS="1 16 64 256", OCSP_BENCH_SIZES="10000 10000000".
. "$(dirname "$0")/lib.sh"
[ -x "$BIN/ocspd" ] && [ -x "$BIN/vactl" ] || make -C "$VA_TOP" --no-print-directory all >/dev/null
export VA_TOP
P="$W/pki"
VA_PKI_QUIET=1 VA_PKI_KEYTYPE=rsa "$VA_TOP/scripts/pki.sh" "$P" >/dev/null
export SOFTHSM2_CONF="$P/softhsm2.conf"
CONNS=${OCSP_BENCH_CONNS:-1 16 64 256}

conf() { # PORT SIGNER ISSUER STOREPATH
	cat <<CONF
log = { level = "warning"; syslog = false; };
store = { path = "$4"; map_size_mb = 8192; };
signers = (
  { name = "ocsp1"; type = "pkcs11"; uri = "pkcs11:token=va;object=ocsp1;type=private"; pin_file = "$P/pin";
    cert = "$P/ocsp1.pem"; },
  { name = "cafile"; type = "file"; key = "$P/cafile.key"; cert = "$P/cafile.pem"; }
);
ocspd = {
  http = { listen = "127.0.0.1"; port = $1; threads = 1; conn_limit = 4096; per_ip_limit = 4096; timeout = 15; };
  cas = ( { issuer = "$3"; signer = "$2"; responder_id = "key"; include_cert = true; } );
};
CONF
}

# 1. The peers on the demo CA ca1 (index.txt from scripts/pki.sh).
D="$W/main"
mkdir -p "$D"
PORT=$(free_port)
conf "$PORT" ocsp1 ca1 "$D/store" >"$D/va.conf"
"$BIN/vactl" -q -c "$D/va.conf" init
"$BIN/vactl" -q -c "$D/va.conf" ca add ca1 "$P/ca1.pem"
"$BIN/vactl" -q -c "$D/va.conf" import ca1 --index "$P/ca1/index.txt"
bg_server ocspd "$BIN/ocspd" -c "$D/va.conf"
wait_url "http://127.0.0.1:$PORT/readyz"
openssl ocsp -issuer "$P/ca1.pem" -serial 0x1004 -no_nonce -reqout "$D/req.der" 2>/dev/null
openssl ocsp -issuer "$P/ca1.pem" -serial 0x1004 -nonce -reqout "$D/nonce.der" 2>/dev/null
GETPATH=/$(base64 -w0 "$D/req.der")
curl -s -o "$D/resp.der" "http://127.0.0.1:$PORT$GETPATH"
OPORT=$(free_port)
# openssl ocsp takes a bare port (it binds every address) for the length of the run.
bg_server osslocsp openssl ocsp -index "$P/ca1/index.txt" -port "$OPORT" -rsigner "$P/ocsp1-file.pem" \
	-rkey "$P/ocsp1-file.key" -CA "$P/ca1.pem" -ndays 1
for _ in $(seq 50); do
	curl -fs -o /dev/null --max-time 2 --data-binary @"$D/req.der" -H 'Content-Type: application/ocsp-request' \
		"http://127.0.0.1:$OPORT/" && break
	sleep 0.1
done
NPORT=$(free_port)
nginx_static "$NPORT" "$D/resp.der"
for close in 0 1; do
	for c in $CONNS; do
		CLOSE=$close wrk_run "ocsp ocspd-get bytes=$(stat -c %s "$D/resp.der")" "http://127.0.0.1:$PORT$GETPATH" "$c"
		CLOSE=$close wrk_run "ocsp ocspd-post" "http://127.0.0.1:$PORT/" "$c" "$D/req.der" application/ocsp-request
		CLOSE=$close wrk_run "ocsp nginx-static" "http://127.0.0.1:$NPORT/static" "$c"
		CLOSE=$close wrk_run "ocsp openssl-ocsp" "http://127.0.0.1:$OPORT/" "$c" "$D/req.der" application/ocsp-request
		CLOSE=$close wrk_run "ocsp ocspd-nonce" "http://127.0.0.1:$PORT/" "$c" "$D/nonce.der" application/ocsp-request
	done
done
kill "$ocspd_pid" "$osslocsp_pid" "$nginx_pid" 2>/dev/null || true

# 2. Store size: cached GETs over 1000 certificates, 10^4 against 10^7 certificates in the store.
for N in ${OCSP_BENCH_SIZES:-10000 10000000}; do
	S="$W/n$N"
	mkdir -p "$S"
	awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "V\t300101000000Z\t\t%X\tunknown\t/CN=b%d\n", 1048576 + i, i }' \
		>"$S/index.txt"
	SPORT=$(free_port)
	conf "$SPORT" cafile cafile "$S/store" >"$S/va.conf"
	"$BIN/vactl" -q -c "$S/va.conf" init
	"$BIN/vactl" -q -c "$S/va.conf" ca add cafile "$P/cafile.pem"
	"$BIN/vactl" -q -c "$S/va.conf" import cafile --index "$S/index.txt"
	rm -f "$S/index.txt"
	# 1000 certificates spread over the whole store.
	: >"$S/paths"
	for k in $(seq 0 999); do
		serial=$(printf '%X' $((1048576 + k * (N / 1000))))
		openssl ocsp -issuer "$P/cafile.pem" -serial "0x$serial" -no_nonce -reqout "$S/r.der" 2>/dev/null
		echo "/$(base64 -w0 "$S/r.der")" >>"$S/paths"
	done
	bg_server ocspd "$BIN/ocspd" -c "$S/va.conf"
	wait_url "http://127.0.0.1:$SPORT/readyz"
	while read -r p; do curl -s -o /dev/null "http://127.0.0.1:$SPORT$p"; done <"$S/paths"
	line=$(WRK_PATHS="$S/paths" taskset -c "$LOAD_CPU" wrk -t2 -c64 -d"${DURATION}s" --timeout 5s \
		-s "$VA_TOP/perf/ocsp/paths.lua" "http://127.0.0.1:$SPORT/" 2>&1 | grep '^RESULT' || echo "RESULT rps=0 failed")
	echo "ocsp store-size certs=$N mode=keepalive conns=64 ${line#RESULT }" | tee -a "$OUT/results.txt"
	kill "$ocspd_pid" 2>/dev/null || true
	wait "$ocspd_pid" 2>/dev/null || true
	rm -rf "$S"
done
