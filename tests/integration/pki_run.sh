#!/usr/bin/env bash
# scripts/run.sh (`make run`): with stand-in daemons it starts what is built, skips what is not or what rejects the
# configuration, waits for readiness and stops everything cleanly on SIGTERM; then the real programs built so far
# are run the same way and answered with openssl and curl.
. "$VA_TOP/tests/lib.sh"

pki_setup
ports() { # conf-in conf-out: the three demo ports replaced by free ones (printed: ocsp tsa crl)
	local o t c
	o=$(free_port) t=$(free_port) c=$(free_port)
	sed -e "s/port = 8080;/port = $o;/" -e "s/port = 8081;/port = $t;/" -e "s/port = 8082;/port = $c;/" "$1" >"$2"
	echo "$o $t $c"
}
wait_log() { # file pattern what [daemon]: run.sh prints pattern (bounded poll of its output; stops early
	local i pv="${4:-}_pid" # when the daemon started with daemon_start NAME has exited)
	for ((i = 0; i < 300; i++)); do
		grep -qE -- "$2" "$1" 2>/dev/null && { ok "$3"; return 0; }
		if [ -n "${4:-}" ] && ! kill -0 "${!pv}" 2>/dev/null; then
			grep -qE -- "$2" "$1" 2>/dev/null && { ok "$3"; return 0; }
			break
		fi
		sleep 0.1
	done
	echo "--- $1:" >&2; cat "$1" >&2
	fail "$3: /$2/ not seen"
}

# --- stand-ins: ocspd serves, tsad rejects the configuration, crlgen and vactl are not built ---------------------
mkdir -p "$T/fake"
cat >"$T/fake/ocspd" <<'EOF'
#!/usr/bin/env bash
# Stand-in daemon: -n accepts; otherwise serves 200 on the port of its config section until SIGTERM.
set -eu
[ "$1" = -n ] && { [ -r "$3" ] && exit 0; exit 1; }
conf=$2
port=$(awk '/^ocspd = \{/ { s = 1 } s && /port = / { gsub(/[^0-9]/, ""); print; exit }' "$conf")
exec /usr/bin/python3 -c '
import http.server, signal, sys
def stop(*_):
    open(sys.argv[2], "w").write("stopped\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path in ("/readyz", "/healthz") else 404)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$port" "$(dirname "$conf")/ocspd.stopped"
EOF
printf '#!/bin/sh\necho "tsad: va.conf:1: stand-in refuses" >&2\nexit 1\n' >"$T/fake/tsad"
chmod +x "$T/fake/ocspd" "$T/fake/tsad"

read -r op tp cp < <(ports "$VA_TOP/conf/va.conf" "$PKI/va.conf")
daemon_start run env RUN_DIR="$PKI" BIN="$T/fake" "$VA_TOP/scripts/run.sh"
wait_log "$T/run.log" "running ocspd; Ctrl-C stops them" "run.sh runs the built service" run
expect_grep "ocspd ready on http://127.0.0.1:$op" "$T/run.log" "ocspd waited for on its configured port"
expect_grep "tsad rejects" "$T/run.log" "a service whose -n fails is not started"
expect_grep "crlgen is not built yet: skipped" "$T/run.log" "a missing service is skipped"
expect_grep "vactl is not built yet" "$T/run.log" "a missing vactl is reported"
expect_grep "keeping your .*va.conf" "$T/run.log" "an existing va.conf is kept"
expect_grep "-url http://127.0.0.1:$op" "$T/run.log" "the printed OCSP command uses the configured port"
expect_grep "http://127.0.0.1:$tp/" "$T/run.log" "the printed TSA command uses the configured port"
expect_grep "$cp/crl/ca1.crl" "$T/run.log" "the printed CRL command uses the configured port"
! grep -q 'generating' "$T/run.log" || fail "run.sh rebuilt an existing PKI"
ok "an existing PKI is reused"
[ "$(http_code GET "http://127.0.0.1:$op/readyz")" = 200 ] || fail "stand-in ocspd not serving"
daemon_stop run || fail "run.sh exited non-zero on SIGTERM"
expect_grep "ocspd stopped" "$T/run.log" "SIGTERM stops the services"
[ -e "$PKI/ocspd.stopped" ] || fail "ocspd got no SIGTERM"
[ "$(http_code GET "http://127.0.0.1:$op/healthz")" = 000 ] || fail "ocspd still listening after run.sh stopped"
ok "nothing left listening"

# A port already taken is reported and its service skipped, not started twice.
rm -f "$PKI/ocspd.stopped"
daemon_start blocker "$PY" -m http.server --bind 127.0.0.1 "$op"
wait_http "http://127.0.0.1:$op/"
daemon_start run2 env RUN_DIR="$PKI" BIN="$T/fake" "$VA_TOP/scripts/run.sh"
wait_log "$T/run2.log" "nothing to run|every service has exited" "run.sh with every port taken ends"
expect_grep "already listens on 127.0.0.1:$op" "$T/run2.log" "a taken port is reported"
daemon_stop blocker || true

# --- the real programs built so far ------------------------------------------------------------------------------
built=()
for b in ocspd tsad crlgen; do [ -x "$BIN/$b" ] && built+=("$b"); done
if [ ! -x "$BIN/vactl" ] || [ ${#built[@]} -eq 0 ]; then
	echo "skip: real run (vactl or every service not built yet)"
	done_ok
	exit 0
fi
real_run() { # keytype: run.sh on a copy of that PKI, then the printed commands against it
	local kt=$1 R="$T/real-$1" L="$T/real_$1.log" s i
	pki_setup "$kt"
	cp -a "$PKI" "$R"
	rm -f "$R/va.conf" "$R/ocspd.stopped"
	sed -i "s#$PKI#$R#g" "$R/softhsm2.conf" "$R/openssl.cnf"
	read -r op tp cp < <(ports "$VA_TOP/conf/va.conf" "$R/va.conf")
	daemon_start "real_$kt" env RUN_DIR="$R" BIN="$BIN" "$VA_TOP/scripts/run.sh"
	wait_log "$L" "running .*Ctrl-C stops them" "$kt: run.sh started the real services" "real_$kt"
	export SOFTHSM2_CONF="$R/softhsm2.conf"
	good=$(awk -F'\t' '$3 == "good" { print $1; exit }' "$R/ca1/leaves.tsv")
	revoked=$(awk -F'\t' '$3 == "revoked" { print $1; exit }' "$R/ca1/leaves.tsv")
	for b in "${built[@]}"; do
		expect_grep "$b ready on" "$L" "$kt: real $b ready"
	done
	has() { [[ " ${built[*]} " == *" $1 "* ]]; }

	# The commands run.sh printed, run as printed from the top directory (their /tmp/demo* files moved into
	# $T), one section (a "# ..." heading and its commands) at a time: section_run HEADING-REGEX -> $T/sec.out
	awk -v d="$T" -v kt="$kt" '/^Try \(from/ { on = 1; next } /^== running|^No service started/ { on = 0 }
		on && /^  # / { n++ } on && n && /^  / { sub(/^  /, ""); print > (d "/try-" kt "." n) }' "$L"
	section_run() { # uses $kt of real_run
		local f
		f=$(grep -l -E "^# $1" "$T"/try-"$kt".* | head -1)
		[ -n "$f" ] || fail "run.sh printed no section /$1/"
		(cd "$VA_TOP" && sed "s#/tmp/demo#$T/demo#g" "$f" | bash -e) >"$T/sec.out" 2>&1 || {
			cat "$f" "$T/sec.out" >&2
			fail "a printed command of section /$1/ failed"
		}
	}
	if has ocspd; then
		section_run 'OCSP \(ocspd'
		expect_grep "ca1/certs/$good.pem: good" "$T/sec.out" "printed openssl ocsp: good"
		expect_grep "ca1/certs/$revoked.pem: revoked" "$T/sec.out" "printed openssl ocsp: revoked"
		[ "$(grep -c 'Response verify OK' "$T/sec.out")" = 2 ] || fail "printed openssl ocsp: responses do not verify"
		section_run 'OCSP through GnuTLS'
		expect_grep "Certificate Status: good" "$T/sec.out" "printed ocsptool: good"
		expect_grep "Verifying OCSP Response: Success" "$T/sec.out" "printed ocsptool: response verifies"
		section_run 'OCSP with an RFC 5019 GET'
		expect_grep "^HTTP/1.1 200" "$T/sec.out" "printed GET: 200"
		expect_grep "^Cache-Control: .*max-age" "$T/sec.out" "printed GET: cacheable"
		expect_grep "Response verify OK" "$T/sec.out" "printed GET: response verifies"
		section_run 'Health and metrics'
		expect_grep "^# (TYPE|HELP) " "$T/sec.out" "printed metrics command"
	fi
	if has tsad; then
		section_run 'Time stamps'
		expect_grep "^Verification: OK" "$T/sec.out" "printed openssl ts: token verifies"
	fi
	if has crlgen; then
		section_run 'CRLs'
		expect_grep "verify OK" "$T/sec.out" "printed openssl crl: signature verifies"
		expect_grep "Serial Number: $revoked" "$T/sec.out" "printed openssl crl: lists $revoked"
		awk '/Serial Number:/ { print $3 }' "$T/sec.out" >"$T/crl.serials"
		for s in $(awk -F'\t' '$1 == "R" { print $4 }' "$R/ca1/index.txt"); do
			grep -qx "$s" "$T/crl.serials" || fail "crlgen's ca1 CRL lacks $s, revoked in the demo index"
		done
		ok "crlgen's CRL lists every certificate the demo revoked"
	fi
	# The demo's story: revoke with vactl while ocspd runs, and the next answer changes (bounded poll: the responder
	# follows the store's change log, no restart).
	section_run 'Revoke with vactl'
	expect_grep "revoked" "$T/sec.out" "printed vactl revoke + status"
	if has ocspd; then
		for ((i = 0; i < 50; i++)); do
			openssl ocsp -issuer "$R/ca1.pem" -cert "$R/ca1/certs/$good.pem" -url "http://127.0.0.1:$op" \
				-CAfile "$R/root.pem" -verify_other "$R/ca1.pem" >"$T/ocsp.out" 2>&1 || true
			grep -q ": revoked\$" "$T/ocsp.out" && break
			sleep 0.1
		done
		expect_grep ": revoked\$" "$T/ocsp.out" "after vactl revoke, ocspd says revoked for $good"
		expect_grep "Reason: keyCompromise" "$T/ocsp.out" "with the reason given to vactl"
	fi
	daemon_stop "real_$kt" || fail "run.sh exited non-zero on SIGTERM"
	for b in "${built[@]}"; do
		expect_grep "$b stopped" "$L" "$kt: real $b stopped cleanly"
	done

}
real_run rsa
# EC keys (P-256) in the token and in the certificates, through the same commands.
real_run ec
done_ok
