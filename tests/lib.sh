# tests/lib.sh: shared functions for integration tests. Source it: . "$VA_TOP/tests/lib.sh"
# Gives: $T (a fresh temp dir removed at exit), $BIN, fail/ok/expect_eq, free_port, daemon_start, wait_http,
# daemons stopped at exit, skip/need_cmd. Every test must call `done_ok` at the end.
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
# skip REASON: the test cannot run here (a client that is not installed); tests/run.sh reports SKIP and the reason.
# Only for a tool that `scripts/deps.sh test` installs and that is still missing (e.g. `make check` without deps).
skip() { echo "SKIP: $*"; exit 77; }
# need_cmd CMD PACKAGE: skip unless CMD is on PATH.
need_cmd() { command -v "$1" >/dev/null || skip "$1 not found (Debian package $2; scripts/deps.sh test installs it)"; }

# The test-only PKCS#11 module over SoftHSM2 whose C_Sign blocks while $VA_TEST_P11_HANG exists
# (tests/tools/p11_hang.c, built by make check): sets $shim to its path.
p11_hang_shim() {
	local build=${BUILD:-build}
	case "$build" in /*) ;; *) build="$VA_TOP/$build" ;; esac
	shim="$build/tests/libp11hang.so"
	[ -f "$shim" ] || fail "$shim missing (make check builds it)"
}

# p11_hang_conf FILE HTTP_TAIL HTTP_EXTRA: every signer of FILE goes through that module, and HTTP_EXTRA is added
# after HTTP_TAIL, the last keys of the http group ("timeout = 10;").
p11_hang_conf() {
	local file=$1 tail=$2 extra=$3
	p11_hang_shim
	sed -i -e "s#module = \"/usr/lib/softhsm/libsofthsm2.so\"#module = \"$shim\"#" -e "s#$tail };#$tail $extra };#" "$file"
	grep -q "libp11hang.so" "$file" && grep -qF "$extra" "$file" || fail "configuration not edited"
}

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

# term_timed NAME: SIGTERM to daemon NAME, then waits for its end (at most 15 s: past it, SIGKILL and fail, since
# the bug to catch is a process that never exits). Sets term_ms (from the signal to the exit) and term_rc.
term_timed() {
	local pidvar="${1}_pid" t0 t1 i
	local pid=${!pidvar}
	t0=$EPOCHREALTIME
	kill -TERM "$pid"
	for ((i = 0; i < 1500; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.01; done
	t1=$EPOCHREALTIME
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid"
		fail "$1 still running 15 s after SIGTERM"
	fi
	term_rc=0
	wait "$pid" || term_rc=$?
	term_ms=$(((${t1/./} - ${t0/./}) / 1000))
	echo "SIGTERM to exit of $1: $term_ms ms, status $term_rc"
}

# wait_lines FILE N [seconds]: until FILE has at least N lines (e.g. the test PKCS#11 module's ".entered" file).
wait_lines() {
	local i secs=${3:-20}
	for ((i = 0; i < secs * 10; i++)); do
		[ -e "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "$1: fewer than $2 line(s) after ${secs}s"
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

# pki_setup [rsa|ec]: a private copy of the demo PKI (scripts/pki.sh) in $T/pki, with its own SoftHSM2 token.
# Exports PKI=$T/pki and SOFTHSM2_CONF=$PKI/softhsm2.conf. The PKI is built once into a cache under
# $BUILD/pki-cache (keyed by the key type and the script's content, built under a lock so parallel runs are safe)
# and copied, so each test may change its copy (revoke with pki_ca, add keys to its token) without touching the
# others. The key type defaults to $VA_PKI_KEYTYPE, else rsa.
# Files: see the header of scripts/pki.sh (root.pem, ca1.pem, ocsp1.pem, tsa.pem, ca1/index.txt, pin, ...).
pki_setup() {
	local kt=${1:-${VA_PKI_KEYTYPE:-rsa}} build=${BUILD:-build} sum cache
	case "$build" in /*) ;; *) build="$VA_TOP/$build" ;; esac
	sum=$(sha1sum "$VA_TOP/scripts/pki.sh" | cut -c1-12)
	cache="$build/pki-cache/$kt-$sum"
	mkdir -p "$build/pki-cache"
	(
		flock 8
		VA_PKI_QUIET=1 VA_PKI_KEYTYPE=$kt "$VA_TOP/scripts/pki.sh" "$cache"
	) 8>"$cache.lock" || fail "scripts/pki.sh $cache failed"
	PKI="$T/pki"
	rm -rf "$PKI"
	cp -a "$cache" "$PKI"
	rm -f "$PKI/.lock"
	# The copy's absolute paths point into the copy, not the cache.
	sed -i "s#$cache#$PKI#g" "$PKI/softhsm2.conf" "$PKI/openssl.cnf"
	SOFTHSM2_CONF="$PKI/softhsm2.conf"
	export PKI SOFTHSM2_CONF
}

# pki_pkcs11 args...: pkcs11-tool on the $PKI token, logged in with the user PIN (from the PIN file, not argv).
pki_pkcs11() {
	VA_PKI_PIN=$(cat "$PKI/pin") pkcs11-tool --module "${VA_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}" \
		--token-label va --login --pin env:VA_PKI_PIN "$@"
}

# pki_openssl SUBCOMMAND args...: `openssl SUBCOMMAND -engine pkcs11 -passin file:$PKI/pin args...` on the $PKI
# token, e.g. pki_openssl dgst -sha256 -keyform engine -sign "pkcs11:token=va;object=ocsp1;type=private" FILE
pki_openssl() {
	local sub=$1; shift
	OPENSSL_CONF="$PKI/engine.cnf" openssl "$sub" -engine pkcs11 -passin "file:$PKI/pin" "$@"
}

# pki_ca CA args...: `openssl ca -batch` on the $PKI copy, signing with CA's key (ca1/ca2 in the token, cafile
# from its file; ca1x is ca1's second database), e.g. pki_ca ca1 -revoke "$PKI/ca1/certs/1004.pem" -crl_reason superseded
# or pki_ca ca1 -in req.csr -extensions va_leaf_ca1 -notext -out new.pem (the CA's index.txt records both).
pki_ca() {
	local ca=$1; shift
	if [ "$ca" = cafile ]; then
		openssl ca -batch -config "$PKI/openssl.cnf" -name cafile -keyfile "$PKI/cafile.key" "$@"
	else
		pki_openssl ca -batch -config "$PKI/openssl.cnf" -name "$ca" -keyform engine \
			-keyfile "pkcs11:token=va;object=${ca%x};type=private" "$@"
	fi
}
