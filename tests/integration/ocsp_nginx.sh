#!/usr/bin/env bash
# nginx with ssl_stapling pointed at ocspd (its requests are RFC 5019 GETs): `openssl s_client -status` shows the
# stapled response good for a valid server certificate, and the stapled DER (saved by gnutls-cli) verifies with
# openssl against the CA; after `vactl revoke` and an nginx restart, nginx receives "revoked" and staples nothing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ocsp_lib.bash"

command -v nginx >/dev/null || fail "nginx is not installed (nginx-light)"
ocsp_env
ocsp_start

# A TLS server certificate from ca1 whose AIA points at this ocspd, recorded in the store.
N="$T/nginx"
mkdir -p "$N/logs" "$N/tmp"
cat >"$T/srv.ext" <<EOX
[srv]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = OCSP;URI:$URL
EOX
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$N/srv.key" -subj "/CN=localhost" \
	-out "$T/srv.csr" 2>/dev/null
pki_ca ca1 -in "$T/srv.csr" -extfile "$T/srv.ext" -extensions srv -notext -out "$N/srv.pem" >/dev/null 2>&1 ||
	fail "issuing the server certificate"
cat "$N/srv.pem" "$PKI/ca1.pem" >"$N/srv-chain.pem"
cat "$PKI/ca1.pem" "$PKI/root.pem" >"$N/trusted.pem"
VACTL import ca1 "$N/srv.pem"
SERIAL=$(openssl x509 -in "$N/srv.pem" -noout -serial | cut -d= -f2)

NPORT=$(free_port)
cat >"$N/nginx.conf" <<EON
daemon off;
master_process off;
pid $N/nginx.pid;
error_log $N/logs/error.log info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $N/tmp/body; proxy_temp_path $N/tmp/proxy; fastcgi_temp_path $N/tmp/fcgi;
  uwsgi_temp_path $N/tmp/uwsgi; scgi_temp_path $N/tmp/scgi;
  server {
    listen 127.0.0.1:$NPORT ssl;
    server_name localhost;
    ssl_certificate $N/srv-chain.pem;
    ssl_certificate_key $N/srv.key;
    ssl_stapling on;
    ssl_stapling_verify on;
    ssl_trusted_certificate $N/trusted.pem;
    ssl_stapling_responder $URL/;
    location / { return 200 "ok\n"; }
  }
}
EON
start_nginx() {
	daemon_start nginx nginx -p "$N" -c "$N/nginx.conf"
	for _ in $(seq 100); do
		curl -sk -o /dev/null "https://127.0.0.1:$NPORT/" && return 0
		sleep 0.1
	done
	cat "$N/logs/error.log" >&2
	fail "nginx did not start"
}
# staple WANT: until s_client shows a stapled response (nginx fetches it on the first handshakes).
staple() {
	local want=$1
	for _ in $(seq 100); do
		openssl s_client -connect "127.0.0.1:$NPORT" -servername localhost -status -CAfile "$PKI/root.pem" \
			</dev/null >"$T/sc.out" 2>&1 || true
		grep -q "OCSP Response Status: successful" "$T/sc.out" && break
		sleep 0.1
	done
	expect_grep "OCSP Response Status: successful" "$T/sc.out" "stapled response present"
	expect_grep "Cert Status: $want" "$T/sc.out" "stapled status $want"
	expect_grep "Serial Number: $SERIAL" "$T/sc.out" "stapled CertID is the server's"
	expect_grep "Verify return code: 0 \(ok\)" "$T/sc.out" "TLS chain verified"
	# Verify the stapled DER itself against the CA.
	gnutls-cli --port "$NPORT" --x509cafile "$PKI/root.pem" --save-ocsp="$T/staple.der" --ocsp localhost \
		</dev/null >"$T/gc.out" 2>&1 || true
	[ -s "$T/staple.der" ] || { cat "$T/gc.out"; fail "gnutls-cli saved no staple"; }
	openssl ocsp -respin "$T/staple.der" -issuer "$PKI/ca1.pem" -cert "$N/srv.pem" -no_nonce -CAfile "$PKI/root.pem" \
		-verify_other "$PKI/ca1.pem" >"$T/sv.out" 2>&1 || true
	expect_grep "Response verify OK" "$T/sv.out" "stapled response signature verified"
	expect_grep ": $want" "$T/sv.out" "stapled response says $want"
}
start_nginx
staple good

# Revoke, restart nginx (it keeps a staple until it expires): the new staple says revoked.
VACTL revoke ca1 "$SERIAL" --reason keyCompromise
# ocspd may serve the cached "good" for up to a second after the change: wait until it answers revoked.
for _ in $(seq 30); do
	openssl ocsp -issuer "$PKI/ca1.pem" -cert "$N/srv.pem" -no_nonce -url "$URL" -noverify >"$T/o.out" 2>&1 || true
	grep -q ": revoked" "$T/o.out" && break
	sleep 0.1
done
kill "$nginx_pid"; wait "$nginx_pid" 2>/dev/null || true
start_nginx
# nginx refuses to staple a "revoked" answer (it logs the status it got and sends no staple).
for _ in $(seq 100); do
	openssl s_client -connect "127.0.0.1:$NPORT" -servername localhost -status </dev/null >"$T/sc.out" 2>&1 || true
	grep -q 'certificate status "revoked"' "$N/logs/error.log" && break
	sleep 0.1
done
expect_grep 'certificate status "revoked" in the OCSP response' "$N/logs/error.log" "nginx got revoked from ocspd"
openssl s_client -connect "127.0.0.1:$NPORT" -servername localhost -status </dev/null >"$T/sc.out" 2>&1 || true
expect_grep "OCSP response: no response sent" "$T/sc.out" "no stale good staple after the revocation"
daemon_stop ocspd || fail "ocspd SIGTERM"
done_ok
