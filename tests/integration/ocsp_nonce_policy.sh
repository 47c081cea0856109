#!/usr/bin/env bash
# Regression: with nonce_policy = "ignore", a request with several CertIDs still got its nonce echoed (the
# single-CertID path left it out). `openssl ocsp` with a nonce, one and several CertIDs, under each policy:
# "echo" echoes it (openssl checks it matches), "ignore" never does (openssl warns that there is none).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ocsp_lib.bash"

ocsp_env
# ask OUT SERIAL...: a POST request with a nonce (openssl's default), answer verified and printed.
ask() {
	local out=$1 s args=()
	shift
	for s in "$@"; do args+=(-serial "0x$s"); done
	openssl ocsp -issuer "$PKI/ca1.pem" "${args[@]}" -url "$URL" -CAfile "$PKI/root.pem" \
		-verify_other "$PKI/ca1.pem" -resp_text >"$out" 2>&1 || { cat "$out" >&2; fail "openssl ocsp $*"; }
	grep -q "Response verify OK" "$out" || { cat "$out" >&2; fail "$*: signature"; }
	! grep -qi "nonce verify error" "$out" || { cat "$out" >&2; fail "$*: nonce altered"; }
}

for policy in echo ignore; do
	OCSP_EXTRA="nonce_policy = \"$policy\";"
	ocsp_conf
	ocsp_start
	for serials in "1004" "1004 1006" "1005 1006 1009"; do
		n=$(wc -w <<<"$serials")
		ask "$T/a.out" $serials
		for s in $serials; do grep -q "^0x$s: " "$T/a.out" || fail "$policy, $n CertID(s): no answer for $s"; done
		if [ $policy = echo ]; then
			grep -q "OCSP Nonce" "$T/a.out" || { cat "$T/a.out"; fail "echo, $n CertID(s): nonce not echoed"; }
			! grep -q "WARNING: no nonce in response" "$T/a.out" || fail "echo, $n CertID(s): openssl saw no nonce"
		else
			! grep -q "OCSP Nonce" "$T/a.out" || { cat "$T/a.out"; fail "ignore, $n CertID(s): nonce echoed"; }
			grep -q "WARNING: no nonce in response" "$T/a.out" || fail "ignore, $n CertID(s): openssl found a nonce"
		fi
		ok "nonce_policy $policy, $n CertID(s)"
	done
	# "ignore", one CertID: the cached answer, the same bytes as for a nonce-less request.
	if [ $policy = ignore ]; then
		openssl ocsp -issuer "$PKI/ca1.pem" -serial 0x1004 -no_nonce -url "$URL" -noverify -respout "$T/plain.der" \
			>/dev/null 2>&1 || fail "nonce-less request"
		openssl ocsp -issuer "$PKI/ca1.pem" -serial 0x1004 -url "$URL" -noverify -respout "$T/nonce.der" \
			>/dev/null 2>&1 || fail "nonce request"
		cmp -s "$T/plain.der" "$T/nonce.der" || fail "ignore, one CertID: not the cached answer"
		ok "nonce_policy ignore, one CertID: served from the cache"
	fi
	daemon_stop ocspd || fail "ocspd exit status on SIGTERM ($policy)"
done
done_ok
