#!/usr/bin/env bash
# Serial numbers stay unique across kill -9 restarts and across two tsad processes on one store: thousands of
# tokens from the SoftHSM2 key in small reserved blocks, the daemon killed with SIGKILL between and during load
# rounds, every serial read back from the tokens, zero duplicates; every restart continues above what was used.
. "$VA_TOP/tests/lib.sh"
. "$VA_TOP/tests/integration/tsa_lib.bash"

tsa_setup
per=${TSA_SERIAL_PER_ROUND:-3000}
[ "${SAN:-}" = 1 ] && per=${TSA_SERIAL_PER_ROUND:-800}

# load URL COUNT OUT: COUNT requests over 4 keep-alive connections; one serial per line in OUT (flushed as they
# come, so a round can be killed half-way); stops quietly when the server goes away.
cat >"$T/load.py" <<'PYEOF'
import http.client, os, sys, threading
host, port, count, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
req = bytes.fromhex('3039020101303130 0d06096086480165030402010500 0420'.replace(' ', '')) + os.urandom(32) + \
      bytes.fromhex('0101ff')
def tlv(b, i):
    tag, l = b[i], b[i + 1]; i += 2
    if l & 0x80:
        n = l & 0x7f; l = int.from_bytes(b[i:i + n], 'big'); i += n
    return tag, i, i + l
def serial_of(resp):
    _, s, _ = tlv(resp, 0)                 # TimeStampResp
    _, st, se = tlv(resp, s)               # PKIStatusInfo
    assert resp[st:se] == b'\x02\x01\x00', 'not granted: %r' % resp[:40]
    _, ci, _ = tlv(resp, se)               # ContentInfo
    _, o, oe = tlv(resp, ci)               # contentType
    _, c0, _ = tlv(resp, oe)               # [0]
    _, sd, _ = tlv(resp, c0)               # SignedData
    _, v, ve = tlv(resp, sd)               # version
    _, da, dae = tlv(resp, ve)             # digestAlgorithms
    _, eci, _ = tlv(resp, dae)             # encapContentInfo
    _, o, oe = tlv(resp, eci)
    _, e0, _ = tlv(resp, oe)
    _, os_, _ = tlv(resp, e0)              # OCTET STRING
    _, ti, _ = tlv(resp, os_)              # TSTInfo
    i = ti
    for _ in range(3):                     # version, policy, messageImprint
        _, _, i = tlv(resp, i)
    tag, a, b = tlv(resp, i)
    assert tag == 0x02
    return int.from_bytes(resp[a:b], 'big', signed=True)
lock = threading.Lock()
f = open(out, 'a')
per = count // 4
def worker():
    try:
        c = http.client.HTTPConnection(host, port, timeout=20)
        for _ in range(per):
            c.request('POST', '/', req, {'Content-Type': 'application/timestamp-query'})
            r = c.getresponse()
            body = r.read()
            assert r.status == 200, r.status
            s = serial_of(body)
            with lock:
                f.write('%d\n' % s); f.flush()
    except (OSError, http.client.HTTPException):
        pass   # the server was killed
th = [threading.Thread(target=worker) for _ in range(4)]
for t in th: t.start()
for t in th: t.join()
PYEOF

load() { $PY "$T/load.py" 127.0.0.1 "$1" "$2" "$3" || fail "load generator failed"; }
lines() { wc -l <"$1" | tr -d ' '; }
smin() { awk 'NR == 1 || $1 < m { m = $1 } END { print m }' "$1"; }
smax() { awk 'NR == 1 || $1 > m { m = $1 } END { print m }' "$1"; }

rounds=0
prev_max=0
start_one() { # name port
	tsa_conf "$PKI/$1.conf" "$2" 'serial_block = 100;'
	tsa_start "$1" "$PKI/$1.conf" "$2"
	wait_http "http://127.0.0.1:$2/readyz"
}
kill9() { # name
	local pidvar="${1}_pid"
	kill -9 "${!pidvar}"
	wait "${!pidvar}" 2>/dev/null || true
}

# rounds 1-2: load to completion, then SIGKILL (the daemon holds part of a block and the next one reserved)
for r in 1 2; do
	p=$(free_port)
	start_one "t$r" "$p"
	: >"$T/s$r"
	load "$p" "$per" "$T/s$r"
	kill9 "t$r"
	min=$(smin "$T/s$r")
	[ "$min" -gt "$prev_max" ] || fail "round $r starts at $min, not above the previous round's $prev_max"
	prev_max=$(smax "$T/s$r")
	ok "round $r: $(lines "$T/s$r") tokens, serials $min..$prev_max, killed with SIGKILL"
done

# round 3: SIGKILL in the middle of the load
p=$(free_port)
start_one t3 "$p"
: >"$T/s3"
$PY "$T/load.py" 127.0.0.1 "$p" $((per * 4)) "$T/s3" &
lp=$!
for ((i = 0; i < 600; i++)); do [ "$(lines "$T/s3")" -ge "$per" ] && break; sleep 0.1; done
kill9 t3
wait $lp || true
[ "$(lines "$T/s3")" -ge "$per" ] || fail "round 3 produced only $(lines "$T/s3") tokens"
min=$(smin "$T/s3")
[ "$min" -gt "$prev_max" ] || fail "round 3 starts at $min, not above $prev_max"
ok "round 3: $(lines "$T/s3") tokens, killed with SIGKILL under load"

# round 4: two tsad processes on the one store at once, both killed
pa=$(tsa_port)
pb=$(tsa_port "$pa")
start_one t4a "$pa"
start_one t4b "$pb"
: >"$T/s4"
$PY "$T/load.py" 127.0.0.1 "$pa" "$per" "$T/s4" &
la=$!
load "$pb" "$per" "$T/s4"
wait $la || fail "load on the first process"
kill9 t4a
kill9 t4b
ok "round 4: two processes, $(lines "$T/s4") tokens"

cat "$T"/s[1-4] >"$T/all"
total=$(lines "$T/all")
[ "$total" -ge $((per * 4)) ] || fail "only $total tokens"
expect_eq 0 "$(sort -n "$T/all" | uniq -d | wc -l | tr -d ' ')" "$total tokens, zero duplicate serials"
[ "$(smin "$T/all")" -ge 1 ] || fail "a serial below 1"
ok "all serials positive"
done_ok
