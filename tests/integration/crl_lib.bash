# tests/integration/crl_lib.bash: shared set-up of the crl_*.sh tests (sourced after tests/lib.sh).
# crl_env [rsa|ec]: private PKI ($PKI), a store with ca1, ca2 and cafile registered and ca1/ca2's index.txt
# imported, and $CONF written by crl_conf with the defaults below (override the variables, then call crl_conf).
VACTL() { "$BIN/vactl" -q -c "$CONF" "$@"; }
CRLGEN() { "$BIN/crlgen" -c "$CONF" "$@"; }

CRL_PORT=0 CRL_INTERVAL=3600 CRL_DELAY=1 CRL_FULL_ON_CHANGE=true CRL_VALIDITY=604800 CRL_MARGIN=3600
CRL_PUBDIR=crl

crl_conf() {
	cat >"$CONF" <<EOC
log = { level = "info"; syslog = false; };
store = { path = "store"; map_size_mb = 64; };
signers = (
  { name = "ca1"; type = "pkcs11"; module = "/usr/lib/softhsm/libsofthsm2.so";
    uri = "pkcs11:token=va;object=ca1;type=private"; pin_file = "pin"; cert = "ca1.pem"; chain = "root.pem"; },
  { name = "ca2"; type = "pkcs11"; module = "/usr/lib/softhsm/libsofthsm2.so";
    uri = "pkcs11:token=va;object=ca2;type=private"; pin_file = "pin"; cert = "ca2.pem"; },
  { name = "cafile"; type = "file"; key = "cafile.key"; cert = "cafile.pem"; }
);
crlgen = {
  http = { listen = "127.0.0.1"; port = $CRL_PORT; threads = 2; timeout = 5; };
  publish_dir = "$CRL_PUBDIR"; interval = $CRL_INTERVAL; change_delay = $CRL_DELAY;
  full_on_change = $CRL_FULL_ON_CHANGE;
  crls = (
    { name = "ca1"; issuer = "ca1"; signer = "ca1"; validity = $CRL_VALIDITY; delta = true;
      delta_validity = 86400; retention = -1; ready_margin = $CRL_MARGIN;
      idp = "http://127.0.0.1:8082/crl/ca1.crl"; freshest_crl = "http://127.0.0.1:8082/crl/ca1-delta.crl"; },
    { name = "ca2"; issuer = "ca2"; signer = "ca2"; validity = $CRL_VALIDITY; delta = true;
      delta_validity = 86400; retention = -1; ready_margin = $CRL_MARGIN; },
    { name = "cafile"; issuer = "cafile"; signer = "cafile"; validity = $CRL_VALIDITY; delta = false;
      retention = -1; ready_margin = $CRL_MARGIN; }
  );
};
EOC
}

crl_env() {
	pki_setup "${1:-rsa}"
	CONF="$PKI/va.conf"
	crl_conf
	VACTL init
	VACTL ca add ca1 "$PKI/ca1.pem"
	VACTL ca add ca2 "$PKI/ca2.pem"
	VACTL ca add cafile "$PKI/cafile.pem"
	VACTL import ca1 --index "$PKI/ca1/index.txt"
	VACTL import ca2 --index "$PKI/ca2/index.txt"
}

# crl_field FILE 'X509v3 CRL Number' -> the value on the line after the heading in `openssl crl -text`.
crl_field() {
	openssl crl -inform DER -in "$1" -noout -text | awk -v h="$2" 'f { gsub(/^ +/, ""); print; exit } index($0, h) { f = 1 }'
}
crl_number() { crl_field "$1" 'X509v3 CRL Number'; }
