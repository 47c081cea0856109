# tests/lib.sh: shared functions for integration tests. Source it: . "$VA_TOP/tests/lib.sh"
# Gives: $T (a fresh temp dir removed at exit), $BIN, fail/ok/expect_eq, free_port, daemon_start, wait_http,
# daemons stopped at exit. Every test must call `done_ok` at the end.
set -euo pipefail
VA_TOP=${VA_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BIN=${BIN:-bin}
case "$BIN" in /*) ;; *) BIN="$VA_TOP/$BIN" ;; esac
PY=/usr/bin/python3   # Debian's python3 with python3-cryptography, whatever else is on PATH
T=$(mktemp -d "${TMPDIR:-/tmp}/va-it.XXXXXX")
_va_pids=()

_va_cleanup() {
	local rc=$?
	for p in "${_va_pids[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null || true
	done
	for p in "${_va_pids[@]:-}"; do
		[ -n "$p" ] || continue
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
	done
	if [ $rc -eq 0 ] || [ -z "${KEEP:-}" ]; then rm -rf "$T"; else echo "kept $T" >&2; fi
	exit $rc
}
trap _va_cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
expect_eq() { # expected actual what
	[ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
	ok "$3"
}
expect_grep() { # pattern file what
	grep -qE -- "$1" "$2" || { echo "--- $2:" >&2; head -50 "$2" >&2; fail "$3: /$1/ not found"; }
	ok "$3"
}
done_ok() { echo "all checks passed: $(basename "$0")"; }

# A free TCP port on 127.0.0.1 (bound by the kernel, then released).
free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# daemon_start NAME cmd args...: starts in the background, output in $T/NAME.log, pid remembered and killed at exit.
daemon_start() {
	local name=$1; shift
	"$@" >"$T/$name.log" 2>&1 &
	local pid=$!
	_va_pids+=("$pid")
	eval "${name}_pid=$pid"
}

# daemon_stop NAME: SIGTERM and wait (up to 10 s); returns the exit status.
daemon_stop() {
	local name=$1 pidvar="${1}_pid" rc=0
	local pid=${!pidvar}
	kill -TERM "$pid" 2>/dev/null || return 0
	wait "$pid" || rc=$?
	return $rc
}

# wait_http URL [seconds]: until the URL answers 200 (readiness, not sleep).
wait_http() {
	local url=$1 secs=${2:-20} i
	for ((i = 0; i < secs * 10; i++)); do
		if curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	fail "$url not ready after ${secs}s"
}

# http_code METHOD URL [curl args...]: prints the HTTP status.
http_code() {
	local m=$1 u=$2; shift 2
	curl -s -o /dev/null -w '%{http_code}' -X "$m" --max-time 10 "$@" "$u"
}
