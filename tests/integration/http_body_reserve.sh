#!/usr/bin/env bash
# Regression: the HTTP wrapper reserved the whole announced Content-Length (up to body_max) as soon as the headers
# arrived, so silent clients announcing body_max held that much memory each until the timeout. 200 connections
# announcing 1 MiB and sending nothing must not grow the daemon's address space by anything like 200 MiB.
. "$VA_TOP/tests/lib.sh"
. "$VA_TOP/tests/integration/ocsp_lib.bash"
ocsp_env
sed -i 's/body_max = 16384;/body_max = 1048576; conn_limit = 1024; per_ip_limit = 1024; timeout = 30;/; s/timeout = 5; body_max/body_max/' "$CONF"
grep -q 'body_max = 1048576' "$CONF" || fail "config edit"
ocsp_start
vm() { awk '/^VmSize:/ {print $2}' "/proc/$ocspd_pid/status"; }
before=$(vm)
$PY - "$PORT" "$ocspd_pid" "$before" <<'PYEOF' || fail "announced bodies were reserved up front"
import socket, sys, time
port, pid, before = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
socks = []
for _ in range(200):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\n"
              b"Content-Length: 1048576\r\n\r\n")
    socks.append(s)
time.sleep(1.0)  # let the server read every header block
after = int([l.split()[1] for l in open("/proc/%s/status" % pid) if l.startswith("VmSize:")][0])
grown = (after - before) // 1024
print("address space grew by %d MiB for 200 silent 1 MiB announcements" % grown)
sys.exit(0 if grown < 50 else 1)
PYEOF
ok "silent clients announcing body_max hold no more than a small buffer each"
expect_eq 200 "$(http_code GET "$URL/healthz")" "the server still answers"
done_ok
