# tests/integration/tsa_lib.bash: shared set-up of the tsad integration tests (sourced after tests/lib.sh).
# tsa_setup [rsa|ec]: the test PKI ($PKI) and an initialised store; tsa_conf FILE PORT [tsad keys...] writes a
# configuration next to the PKI files (relative paths resolve there); tsa_start NAME CONF: starts tsad and waits
# until /healthz answers; tsa_query FILE args...: openssl ts -query on $T/data.

TSA_POLICY=1.3.6.1.4.1.55555.1.1
TSA_POLICY2=1.3.6.1.4.1.55555.1.2

tsa_setup() {
	pki_setup "${1:-}"
	head -c 100000 /dev/urandom >"$T/data"
	tsa_conf "$PKI/base.conf" 1
	"$BIN/vactl" -c "$PKI/base.conf" init >/dev/null || fail "vactl init"
}

tsa_conf() { # file port [extra tsad settings]
	local out=$1 port=$2
	shift 2
	cat >"$out" <<CONF
log = { level = "info"; syslog = false; };
store = { path = "store"; map_size_mb = 64; };
signers = (
	{ name = "tsa"; type = "pkcs11"; module = "/usr/lib/softhsm/libsofthsm2.so";
	  uri = "pkcs11:token=va;object=tsa;type=private"; pin_file = "pin"; cert = "tsa.pem"; chain = "chain1.pem"; },
	{ name = "tsafile"; type = "file"; key = "tsa-file.key"; cert = "tsa-file.pem"; chain = "chain1.pem"; },
	{ name = "ocspfile"; type = "file"; key = "ocsp1-file.key"; cert = "ocsp1-file.pem"; }
);
tsad = {
	http = { listen = "127.0.0.1"; port = $port; threads = 2; body_max = 16384; timeout = 10; };
	signer = "${TSA_SIGNER:-tsa}";
	name = "tsa1";
	policy = "$TSA_POLICY";
	accepted_policies = [ "$TSA_POLICY2" ];
	digests = [ "sha256", "sha384", "sha512" ];
	$*
};
CONF
}

tsa_start() { # name conf port: fails with the daemon's log if it does not come up
	local i pidvar="${1}_pid"
	daemon_start "$1" "$BIN/tsad" -c "$2"
	for ((i = 0; i < 300; i++)); do
		curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$3/healthz" 2>/dev/null && return 0
		kill -0 "${!pidvar}" 2>/dev/null || break
		sleep 0.1
	done
	echo "--- $T/$1.log:" >&2
	cat "$T/$1.log" >&2
	fail "tsad $1 did not come up on port $3"
}

# tsa_port [other]: a free port different from other (two free_port calls may return the same one).
tsa_port() {
	local p
	p=$(free_port)
	while [ "$p" = "${1:-}" ]; do p=$(free_port); done
	echo "$p"
}

# tsa_post URL REQFILE RESPFILE: POSTs a query, prints the HTTP status.
tsa_post() {
	curl -s -o "$3" -w '%{http_code}' --max-time 20 -H 'Content-Type: application/timestamp-query' \
		--data-binary "@$2" "$1"
}

# tsa_status RESPFILE: "Granted" / "Rejected" ... and the failure info text, from openssl's own decoder.
tsa_text() {
	openssl ts -reply -in "$1" -text 2>&1
}
