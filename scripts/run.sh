#!/usr/bin/env bash
# scripts/run.sh (what `make run` calls after building): the demo on 127.0.0.1.
#   1. run/ (git-ignored): the demo PKI and SoftHSM2 token (scripts/pki.sh run), run/va.conf (from conf/va.conf)
#   2. the store: vactl init, ca add ca1/ca2/cafile, import of the three openssl ca index.txt files
#   3. starts whichever of bin/ocspd, bin/tsad, bin/crlgen exist, waits for their /readyz, prints what to try
#   4. Ctrl-C (or SIGTERM) stops them cleanly (SIGTERM, wait, SIGKILL only after 15 s: the services end by
#      themselves within http.drain_timeout, 10 s by default, + 2 s)
# Running it again reuses everything in run/ (delete run/ for a fresh start). Logs: run/log/NAME.log.
# Environment: RUN_DIR (default run), BIN (default bin), VA_PKI_KEYTYPE=ec for EC keys (fresh run/ only).
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
RUN=${RUN_DIR:-run}
BIN=${BIN:-bin}
mkdir -p "$RUN"
RUN=$(cd "$RUN" && pwd)
case "$BIN" in /*) ;; *) BIN="$TOP/$BIN" ;; esac
CONF="$RUN/va.conf"

say() { printf '\033[1m== %s\033[0m\n' "$*"; }

# --- 1. PKI, token, configuration ---------------------------------------------------------------------------------
say "demo PKI and SoftHSM2 token in $RUN"
scripts/pki.sh "$RUN"
export SOFTHSM2_CONF="$RUN/softhsm2.conf"
if [ ! -e "$CONF" ]; then
	cp conf/va.conf "$CONF"
elif ! cmp -s conf/va.conf "$CONF"; then
	echo "note: keeping your $CONF (it differs from conf/va.conf; delete it to take the new one)"
fi
mkdir -p "$RUN/log"

# Port of a service, read from its section of run/va.conf (first "port = N;" after "NAME = {").
conf_port() {
	awk -v sec="$1" '
		$0 ~ "^" sec "[ \t]*=[ \t]*\\{" { in_sec = 1 }
		in_sec && match($0, /port[ \t]*=[ \t]*[0-9]+/) { s = substr($0, RSTART, RLENGTH); sub(/.*=[ \t]*/, "", s); print s; exit }
	' "$CONF"
}

# http_ok PORT PATH: the service on 127.0.0.1:PORT answers PATH with 200 (plain bash: curl is a test dependency).
http_ok() {
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
		IFS= read -r -t 2 line <&3 || exit 1
		[[ $line == HTTP/1.[01]\ 200* ]]
	) 2>/dev/null
}
# http_listening PORT: something accepts connections on 127.0.0.1:PORT.
http_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- 2. the store ---------------------------------------------------------------------------------------------------
if [ -x "$BIN/vactl" ]; then
	say "store: $RUN/store"
	"$BIN/vactl" -q -n -c "$CONF" || { echo "run/va.conf does not pass vactl -n" >&2; exit 1; }
	# init and ca add are no-ops when already done; the imports run once (a later run must not undo what an
	# operator changed with vactl since), and again after an interrupted first run (re-importing is a no-op).
	"$BIN/vactl" -q -c "$CONF" init
	for ca in ca1 ca2 cafile; do
		"$BIN/vactl" -q -c "$CONF" ca add "$ca" "$RUN/$ca.pem"
	done
	if [ ! -e "$RUN/.store-imported" ]; then
		for ca in ca1 ca2 cafile; do
			"$BIN/vactl" -c "$CONF" import "$ca" --index "$RUN/$ca/index.txt"
		done
		touch "$RUN/.store-imported"
	fi
	"$BIN/vactl" -c "$CONF" stats || true
else
	echo "note: $BIN/vactl is not built yet: no store (the services that need one will not be ready)"
fi

# --- 3. services -----------------------------------------------------------------------------------------------------
pids=()
names=()
stop_all() {
	local i
	trap - INT TERM EXIT
	[ ${#pids[@]} -gt 0 ] || exit 0
	echo
	say "stopping ${names[*]}"
	for i in "${!pids[@]}"; do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
	for i in "${!pids[@]}"; do
		for _ in $(seq 150); do kill -0 "${pids[$i]}" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "${pids[$i]}" 2>/dev/null; then
			echo "${names[$i]} did not stop in 15 s: SIGKILL"
			kill -KILL "${pids[$i]}" 2>/dev/null || true
		fi
		wait "${pids[$i]}" 2>/dev/null && echo "${names[$i]} stopped" || echo "${names[$i]} exited with status $?"
	done
	exit 0
}
trap stop_all INT TERM EXIT

started=()
for svc in ocspd tsad crlgen; do
	if [ ! -x "$BIN/$svc" ]; then
		echo "note: $BIN/$svc is not built yet: skipped"
		continue
	fi
	if ! "$BIN/$svc" -n -c "$CONF" >"$RUN/log/$svc.check" 2>&1; then
		cat "$RUN/log/$svc.check" >&2
		echo "note: $svc rejects $CONF (see above): skipped" >&2
		continue
	fi
	port=$(conf_port "$svc")
	if http_listening "$port"; then
		echo "note: something already listens on 127.0.0.1:$port: $svc skipped" >&2
		continue
	fi
	"$BIN/$svc" -c "$CONF" >>"$RUN/log/$svc.log" 2>&1 &
	pids+=($!)
	names+=("$svc")
	started+=("$svc:$port")
done

for s in "${started[@]}"; do
	svc=${s%%:*} port=${s#*:}
	ready=0
	for _ in $(seq 300); do
		if http_ok "$port" /readyz; then ready=1; break; fi
		# A service that died will not become ready.
		for i in "${!names[@]}"; do
			if [ "${names[$i]}" = "$svc" ] && ! kill -0 "${pids[$i]}" 2>/dev/null; then break 2; fi
		done
		sleep 0.1
	done
	if [ $ready = 1 ]; then
		echo "$svc ready on http://127.0.0.1:$port (log: run/log/$svc.log)"
	else
		echo "WARNING: $svc not ready on port $port; last lines of run/log/$svc.log:" >&2
		tail -n 15 "$RUN/log/$svc.log" >&2 || true
	fi
done

# --- 4. what to try ------------------------------------------------------------------------------------------------
good=$(awk -F'\t' '$3 == "good" { print $1; exit }' "$RUN/ca1/leaves.tsv")
revoked=$(awk -F'\t' '$3 == "revoked" { print $1; exit }' "$RUN/ca1/leaves.tsv")
R=${RUN#"$TOP"/}
B=${BIN#"$TOP"/}
ocsp_port=$(conf_port ocspd)
tsa_port=$(conf_port tsad)
crl_port=$(conf_port crlgen)
# Every line below is a command to paste (or a comment); tests/integration/pki_run.sh runs them.
cat <<EOF

Try (from $TOP; SOFTHSM2_CONF=$R/softhsm2.conf, user PIN in $R/pin):

  # OCSP (ocspd, port $ocsp_port): a good and a revoked certificate of ca1, verified up to the root
  openssl ocsp -issuer $R/ca1.pem -cert $R/ca1/certs/$good.pem -url http://127.0.0.1:$ocsp_port \\
      -CAfile $R/root.pem -verify_other $R/ca1.pem -resp_text
  openssl ocsp -issuer $R/ca1.pem -cert $R/ca1/certs/$revoked.pem -url http://127.0.0.1:$ocsp_port \\
      -CAfile $R/root.pem -verify_other $R/ca1.pem

  # OCSP through GnuTLS (without =URL, --ask takes the URL from the certificate's AIA extension)
  ocsptool --ask=http://127.0.0.1:$ocsp_port --load-issuer $R/ca1.pem --load-cert $R/ca1/certs/$good.pem --load-trust $R/chain1.pem

  # OCSP with an RFC 5019 GET (cacheable): the base64 DER request in the path
  openssl ocsp -issuer $R/ca1.pem -cert $R/ca1/certs/$good.pem -no_nonce -reqout /tmp/demo-req.der
  curl -s -D - -o /tmp/demo-resp.der \\
      "http://127.0.0.1:$ocsp_port/\$(base64 -w0 /tmp/demo-req.der | sed 's/+/%2B/g; s#/#%2F#g; s/=/%3D/g')"
  openssl ocsp -respin /tmp/demo-resp.der -issuer $R/ca1.pem -cert $R/ca1/certs/$good.pem \\
      -CAfile $R/root.pem -verify_other $R/ca1.pem

  # Time stamps (tsad, port $tsa_port)
  openssl ts -query -data README.md -sha256 -cert -out /tmp/demo.tsq
  curl -s -H 'Content-Type: application/timestamp-query' --data-binary @/tmp/demo.tsq \\
      http://127.0.0.1:$tsa_port/ -o /tmp/demo.tsr
  openssl ts -reply -in /tmp/demo.tsr -text
  openssl ts -verify -in /tmp/demo.tsr -queryfile /tmp/demo.tsq -CAfile $R/root.pem -untrusted $R/chain1.pem

  # CRLs (crlgen, port $crl_port): full CRL of ca1, signature checked with ca1's certificate
  curl -s http://127.0.0.1:$crl_port/crl/ca1.crl -o /tmp/demo-ca1.crl
  openssl crl -inform DER -in /tmp/demo-ca1.crl -CAfile $R/ca1.pem -noout -text

  # Revoke with vactl; then run the first OCSP command again (and see the next CRL)
  $B/vactl -c $R/va.conf revoke ca1 $good --reason keyCompromise
  $B/vactl -c $R/va.conf status ca1 $good

  # Health and metrics (every service has them)
  curl -s http://127.0.0.1:$ocsp_port/readyz
  curl -s http://127.0.0.1:$ocsp_port/metrics

EOF
if [ ${#pids[@]} -eq 0 ]; then
	echo "No service started: nothing to run (the PKI and store stay in $R)."
	exit 0
fi
say "running ${names[*]}; Ctrl-C stops them"
# Wait until Ctrl-C, or until every service has exited by itself.
while :; do
	alive=0
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
	[ $alive = 1 ] || { echo "every service has exited (see $R/log/)"; break; }
	sleep 1
done
