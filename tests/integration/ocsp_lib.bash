# tests/integration/ocsp_lib.bash: shared set-up of the ocsp_*.sh tests (sourced after tests/lib.sh).
# ocsp_env [rsa|ec]: private PKI ($PKI), store with ca1, ca2, cafile registered and ca1/ca2 imported from their
# index.txt; $CONF written by ocsp_conf from the OCSP_* variables below (change them, call ocsp_conf again).
# ocsp_start: starts ocspd on a free port ($PORT, $URL) and waits for /readyz.
VACTL() { "$BIN/vactl" -q -c "$CONF" "$@"; }

OCSP_EXTRA="" OCSP_CAS="" OCSP_SIGNER1=ocsp1 OCSP_RID1=key OCSP_INCLUDE1=true

ocsp_conf() {
	[ -n "$OCSP_CAS" ] || OCSP_CAS="{ issuer = \"ca1\"; signer = \"$OCSP_SIGNER1\"; responder_id = \"$OCSP_RID1\"; include_cert = $OCSP_INCLUDE1; },
          { issuer = \"ca2\"; signer = \"ocsp2\"; responder_id = \"name\"; }"
	cat >"$CONF" <<EOC
log = { level = "info"; syslog = false; };
store = { path = "store"; map_size_mb = 64; };
signers = (
  { name = "ocsp1"; type = "pkcs11"; module = "/usr/lib/softhsm/libsofthsm2.so";
    uri = "pkcs11:token=va;object=ocsp1;type=private"; pin_file = "pin"; cert = "ocsp1.pem"; chain = "chain1.pem"; },
  { name = "ocsp2"; type = "pkcs11"; uri = "pkcs11:token=va;object=ocsp2;type=private"; pin_file = "pin";
    cert = "ocsp2.pem"; },
  { name = "ca1"; type = "pkcs11"; uri = "pkcs11:token=va;object=ca1;type=private"; pin_file = "pin";
    cert = "ca1.pem"; },
  { name = "tsa"; type = "pkcs11"; uri = "pkcs11:token=va;object=tsa;type=private"; pin_file = "pin";
    cert = "tsa.pem"; },
  { name = "quick"; type = "file"; key = "ocsp1-file.key"; cert = "ocsp1-file.pem"; }
);
ocspd = {
  http = { listen = "127.0.0.1"; port = ${PORT:-8080}; threads = 2; timeout = 5; body_max = 16384; };
  validity = 86400; max_certids = 8; nonce_min = 1; nonce_max = 32;
  $OCSP_EXTRA
  cas = ( $OCSP_CAS );
};
EOC
}

ocsp_env() {
	pki_setup "${1:-rsa}"
	CONF="$PKI/va.conf"
	PORT=$(free_port)
	URL="http://127.0.0.1:$PORT"
	ocsp_conf
	VACTL init
	VACTL ca add ca1 "$PKI/ca1.pem"
	VACTL ca add ca2 "$PKI/ca2.pem"
	VACTL ca add cafile "$PKI/cafile.pem"
	VACTL import ca1 --index "$PKI/ca1/index.txt"
	VACTL import ca2 --index "$PKI/ca2/index.txt"
}

ocsp_start() {
	daemon_start ocspd "$BIN/ocspd" -c "$CONF"
	wait_http "$URL/readyz" 30
}

# ocsp_q CA SERIAL [openssl ocsp args...]: a POST query verified against CA's chain; output in $T/q.out.
ocsp_q() {
	local ca=$1 serial=$2; shift 2
	openssl ocsp -issuer "$PKI/$ca.pem" "$@" -serial "0x$serial" -url "$URL" -CAfile "$PKI/root.pem" \
		-verify_other "$PKI/$ca.pem" >"$T/q.out" 2>&1 || { cat "$T/q.out" >&2; fail "openssl ocsp $ca $serial $*"; }
}

# ocsp_req_b64 CA SERIAL [args]: base64 of a DER request made by openssl.
ocsp_req_b64() {
	local ca=$1 serial=$2; shift 2
	openssl ocsp -issuer "$PKI/$ca.pem" "$@" -serial "0x$serial" -reqout "$T/req.der" >/dev/null 2>&1
	base64 -w0 "$T/req.der"
}
