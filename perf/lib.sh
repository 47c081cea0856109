# perf/lib.sh: shared functions for the benchmarks. Source it.
# Server processes run pinned to core $SERVER_CPU, the load generator to core $LOAD_CPU (separate cores).
set -euo pipefail
VA_TOP=${VA_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BIN=${BIN:-$VA_TOP/bin}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
DURATION=${DURATION:-10}          # seconds per wrk run
OUT=${OUT:-$VA_TOP/perf/out}
PY=/usr/bin/python3
mkdir -p "$OUT"
W=$(mktemp -d "${TMPDIR:-/tmp}/va-perf.XXXXXX")
_perf_pids=()
_perf_cleanup() {
	for p in "${_perf_pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	sleep 0.3
	for p in "${_perf_pids[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$W"
}
trap _perf_cleanup EXIT

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
on_server() { taskset -c "$SERVER_CPU" "$@"; }
on_load() { taskset -c "$LOAD_CPU" "$@"; }
bg_server() { # NAME cmd...: starts pinned to the server core
	local name=$1; shift
	taskset -c "$SERVER_CPU" "$@" >"$W/$name.log" 2>&1 &
	_perf_pids+=("$!")
	eval "${name}_pid=$!"
}
wait_url() { # URL [secs]
	for _ in $(seq $((${2:-20} * 10))); do
		curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "not ready: $1" >&2; return 1
}

# wrk_run LABEL URL CONNS [post-body-file content-type] ; env CLOSE=1 for connection-close.
# Appends "LABEL conns=N rps=.. p50_ms=.. p99_ms=.." to $OUT/results.txt and prints it.
wrk_run() {
	local label=$1 url=$2 conns=$3 body=${4:-} ctype=${5:-} threads=1 line
	[ "$conns" -ge 2 ] && threads=2
	[ "$conns" -ge 2 ] || threads=1
	line=$(WRK_BODY=$body WRK_CTYPE=$ctype WRK_CLOSE=${CLOSE:-0} \
		taskset -c "$LOAD_CPU" wrk -t"$threads" -c"$conns" -d"${DURATION}s" --timeout 5s \
		-s "$VA_TOP/perf/wrk/report.lua" "$url" 2>&1 | grep '^RESULT' || true)
	[ -n "$line" ] || line="RESULT rps=0 failed"
	line="$label mode=$([ "${CLOSE:-0}" = 1 ] && echo close || echo keepalive) conns=$conns ${line#RESULT }"
	echo "$line" | tee -a "$OUT/results.txt"
}

# nginx_static PORT FILE: nginx (1 worker, pinned) serving FILE at /static
nginx_static() {
	local port=$1 file=$2 d="$W/nginx"
	mkdir -p "$d/logs" "$d/html"
	cp "$file" "$d/html/static"
	local user=""
	# As root, nginx workers would drop to www-data and could not read our mode-700 temp dir.
	[ "$(id -u)" -eq 0 ] && user="user root;"
	cat >"$d/nginx.conf" <<NGX
$user
worker_processes 1;
worker_cpu_affinity auto;
daemon off;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 4096; use epoll; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp; uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
  server {
    listen 127.0.0.1:$port;
    location / { root $d/html; default_type application/ocsp-response; }
  }
}
NGX
	bg_server nginx nginx -p "$d" -c "$d/nginx.conf"
	wait_url "http://127.0.0.1:$port/static"
}
