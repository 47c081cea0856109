#!/usr/bin/env bash
# http_curl.sh: the HTTP layer (common/http.c) seen by a real client (curl) and real signals: the test service
# of test_http run as a daemon (`test_http --serve PORTFILE`, body_max 1024, timeout 2 s, /slow takes 1.5 s).
. "$VA_TOP/tests/lib.sh"

SRV="$VA_TOP/${BUILD:-build}/tests/test_http"
[ -x "$SRV" ] || fail "$SRV not built (make check builds it)"

daemon_start srv "$SRV" --serve "$T/port"
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
[ -s "$T/port" ] || { cat "$T/srv.log" >&2; fail "server did not write its port"; }
PORT=$(cat "$T/port")
U="http://127.0.0.1:$PORT"
wait_http "$U/healthz" 10

expect_eq "ok" "$(curl -fsS "$U/healthz")" "/healthz body"
expect_eq "200" "$(http_code GET "$U/readyz")" "/readyz ready"

# HEAD: same headers as GET (Content-Length included), no body.
size=$(curl -sS -D "$T/head.h" -o /dev/null -w '%{size_download}' -I "$U/zero")
expect_grep '^HTTP/1.1 200' "$T/head.h" "HEAD status"
expect_grep '^Content-Length: 15' "$T/head.h" "HEAD Content-Length of the GET body"
expect_eq "0" "$size" "HEAD has no body"

# Raw path and query reach the handler undecoded (RFC 5019 base64 paths).
body=$(curl -fsS "$U/MEIw%2BQ+a/b==?x=%20y")
case "$body" in *"path=/MEIw%2BQ+a/b== query=x=%20y "*) ok "raw path and query" ;; *) fail "raw path: $body" ;; esac

# POST bodies: at the cap accepted, over it 413 without the body being read (curl sends it at once for
# small bodies, with Expect: 100-continue for large ones: both are refused).
head -c 1024 /dev/zero >"$T/b1024"
head -c 1025 /dev/zero >"$T/b1025"
head -c 2000000 /dev/zero >"$T/b2M"
expect_eq "200" "$(http_code POST "$U/post/x" --data-binary @"$T/b1024")" "POST at body_max"
expect_eq "413" "$(http_code POST "$U/post/x" --data-binary @"$T/b1025")" "POST over body_max"
t0=$(date +%s%N)
# curl waits up to 5 s for "100 Continue" before sending the body anyway: an answer well before that came on
# the headers alone.
expect_eq "413" "$(http_code POST "$U/post/x" --data-binary @"$T/b2M" -H 'Expect: 100-continue' \
	--expect100-timeout 5)" "POST 2 MB with Expect: 100-continue"
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -lt 3000 ] || fail "413 took $(((t1 - t0) / 1000000)) ms (after the 100-continue wait?)"
ok "413 came before the body"
expect_eq "200" "$(http_code POST "$U/post/x" -H 'Transfer-Encoding: chunked' --data-binary @"$T/b1024")" \
	"chunked at body_max"
expect_eq "413" "$(http_code POST "$U/post/x" -H 'Transfer-Encoding: chunked' --data-binary @"$T/b1025")" \
	"chunked over body_max"

# 405 with Allow.
curl -s -o /dev/null -D "$T/405.h" -X PUT "$U/post/x"
expect_grep '^HTTP/1.1 405' "$T/405.h" "PUT on a POST route"
expect_grep '^Allow: POST' "$T/405.h" "Allow header"

# Keep-alive: several requests, one connection (HTTP/1.1 by default, HTTP/1.0 when asked).
n=$(curl -s -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects}\n' "$U/healthz" "$U/zero" "$U/e" | awk '{s += $1} END {print s}')
expect_eq "1" "$n" "HTTP/1.1 keep-alive: 3 requests, 1 connection"
n=$(curl -s --http1.0 -H 'Connection: keep-alive' -o /dev/null -o /dev/null -w '%{num_connects}\n' \
	"$U/healthz" "$U/zero" | awk '{s += $1} END {print s}')
expect_eq "1" "$n" "HTTP/1.0 keep-alive: 2 requests, 1 connection"

# /metrics: Prometheus text format 0.0.4.
curl -fsS -D "$T/m.h" -o "$T/m.txt" "$U/metrics"
expect_grep '^Content-Type: text/plain; version=0.0.4' "$T/m.h" "/metrics content type"
expect_grep '^# TYPE t_http_requests_total counter$' "$T/m.txt" "requests counter"
expect_grep '^t_http_requests_total\{route="/post/",result="too_large"\} 3$' "$T/m.txt" "413s counted"
expect_grep '^# TYPE t_http_request_duration_seconds histogram$' "$T/m.txt" "latency histogram"
# the previous requests' completion may trail their responses by a moment
for _ in $(seq 50); do curl -fsS -o "$T/m2.txt" "$U/metrics"; grep -q '^t_http_requests_in_flight 1$' "$T/m2.txt" && break; sleep 0.02; done
expect_grep '^t_http_requests_in_flight 1$' "$T/m2.txt" "in-flight gauge (the scrape itself)"
# every line is a comment or "name{labels} value"
if grep -vE '^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.e+]+)$' \
	"$T/m.txt" >"$T/m.bad"; then
	cat "$T/m.bad" >&2
	fail "malformed /metrics lines"
fi
ok "/metrics lines well formed"

# SIGHUP: the reload hook runs, the server keeps serving.
kill -HUP "$srv_pid"
for _ in $(seq 100); do grep -q 'reload 1' "$T/srv.log" && break; sleep 0.05; done
expect_grep 'reload 1' "$T/srv.log" "SIGHUP calls reload"
expect_eq "ok" "$(curl -fsS "$U/healthz")" "still serving after SIGHUP"

# SIGTERM drains: a slow request in flight completes, then the process exits 0 and the port is closed.
curl -s -o "$T/slow.b" -w '%{http_code}' --max-time 10 "$U/slow" >"$T/slow.code" &
cpid=$!
for _ in $(seq 100); do
	curl -s "$U/metrics" | grep -q '^t_http_requests_in_flight 2$' && break
	sleep 0.02
done
kill -TERM "$srv_pid"
rc=0
wait "$srv_pid" || rc=$?
expect_eq "0" "$rc" "exit status after SIGTERM"
wait "$cpid" || true
expect_eq "200" "$(cat "$T/slow.code")" "request in flight at SIGTERM answered"
expect_eq "8192" "$(stat -c %s "$T/slow.b")" "its whole body"
expect_grep 'stopped' "$T/srv.log" "clean stop logged"
expect_eq "000" "$(http_code GET "$U/healthz")" "nothing listens after the stop"

done_ok
