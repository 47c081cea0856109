#!/usr/bin/env bash
# Regression: libmicrohttpd 0.9.75 in epoll mode stalls when epoll_wait returns exactly its batch of 128 ready
# connections (it waits again before serving them): 256 keep-alive wrk clients (2 threads x 128) got ~1,000
# answers in 2 s instead of ~250,000. common/http.c uses poll mode for this. The bound below (10,000) is two
# orders of magnitude under a healthy run (ASan included) and well over what the stall allows.
. "$VA_TOP/tests/lib.sh"
. "$VA_TOP/tests/integration/ocsp_lib.bash"
command -v wrk >/dev/null || fail "wrk missing (scripts/deps.sh test installs it)"
ocsp_env
sed -i 's/threads = 2; timeout = 5;/threads = 1; timeout = 30; conn_limit = 1024; per_ip_limit = 1024;/' "$CONF"
grep -q 'conn_limit = 1024' "$CONF" || fail "config edit"
ocsp_start
b64=$(ocsp_req_b64 ca1 1004 -no_nonce | sed 's|/|%2F|g; s|+|%2B|g; s|=|%3D|g')
expect_eq 200 "$(http_code GET "$URL/$b64")" "cached GET answers"
for path in "healthz" "$b64"; do
	line=$(wrk -t2 -c256 -d2s --timeout 5s -s "$VA_TOP/perf/wrk/report.lua" "$URL/$path" | grep '^RESULT')
	echo "$line"
	n=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$line")
	[ "${n:-0}" -ge 10000 ] || fail "256 keep-alive clients on /${path:0:10}...: only ${n:-0} answers in 2 s"
	ok "256 keep-alive clients served (${n} answers in 2 s)"
done
done_ok
