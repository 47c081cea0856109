#!/usr/bin/env bash
# tsad with its key in SoftHSM2 when the token goes away and comes back: systemFailure responses (HTTP 200, a
# TimeStampResp) and /readyz 503 while it is away, tokens again without a restart once it is back, with no
# traffic needed for readiness to recover. Also: SIGHUP reloads the configuration (a new default policy).
. "$VA_TOP/tests/lib.sh"
. "$VA_TOP/tests/integration/tsa_lib.bash"

tsa_setup
port=$(free_port)
url="http://127.0.0.1:$port/"
tsa_conf "$PKI/tsa.conf" "$port"
tsa_start tsad "$PKI/tsa.conf" "$port"
wait_http "${url}readyz"
openssl ts -query -data "$T/data" -sha256 -cert -out "$T/q.tsq" 2>/dev/null
status() { tsa_post "$url" "$T/q.tsq" "$T/r.tsr" >/dev/null; tsa_text "$T/r.tsr" >"$T/r.txt"; }
status
expect_grep "^Status: Granted" "$T/r.txt" "token present: granted"

tokdir=$(sed -n 's/^directories.tokendir *= *//p' "$SOFTHSM2_CONF")
[ -d "$tokdir" ] || fail "no token directory $tokdir"
mv "$tokdir" "$tokdir.away"
status
expect_grep "^Status: Rejected" "$T/r.txt" "token away: rejected"
expect_grep "^Failure info: the request cannot be handled due to system failure" "$T/r.txt" "failInfo systemFailure"
expect_grep "signing key unavailable" "$T/r.txt" "status text: try later"
expect_eq 503 "$(http_code GET "${url}readyz")" "token away: not ready"
expect_eq 200 "$(http_code GET "${url}healthz")" "token away: alive"
mv "$tokdir.away" "$tokdir"
wait_http "${url}readyz" 15   # the daemon's own probe brings it back, without any request
ok "token back: ready again without traffic"
status
expect_grep "^Status: Granted" "$T/r.txt" "token back: granted without a restart"
openssl ts -verify -queryfile "$T/q.tsq" -in "$T/r.tsr" -CAfile "$PKI/chain1.pem" >/dev/null 2>&1 ||
	fail "token after reconnection does not verify"
expect_grep "token back|is back" "$T/tsad.log" "logged the recovery"

# SIGHUP: a new default policy takes effect without dropping the process
sed -i "s|policy = \"$TSA_POLICY\";|policy = \"1.3.6.1.4.1.55555.1.9\";|" "$PKI/tsa.conf"
kill -HUP "$tsad_pid"
for ((i = 0; i < 100; i++)); do grep -q "configuration reloaded" "$T/tsad.log" && break; sleep 0.1; done
expect_grep "configuration reloaded" "$T/tsad.log" "SIGHUP reloads"
status
expect_grep "^Policy OID: 1.3.6.1.4.1.55555.1.9\$" "$T/r.txt" "new default policy after reload"
# a broken configuration on SIGHUP keeps the old one
echo "tsad = {" >>"$PKI/tsa.conf"
kill -HUP "$tsad_pid"
for ((i = 0; i < 100; i++)); do [ "$(grep -c "reload" "$T/tsad.log")" -ge 2 ] && break; sleep 0.1; done
status
expect_grep "^Status: Granted" "$T/r.txt" "broken config on SIGHUP: still serving"
expect_grep "^Policy OID: 1.3.6.1.4.1.55555.1.9\$" "$T/r.txt" "broken config on SIGHUP: old configuration kept"
daemon_stop tsad || fail "exit status on SIGTERM"
done_ok
