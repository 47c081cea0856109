# tests/integration/vactl_lib.bash: a throw-away CA driven by real `openssl ca`, for the vactl_*.sh tests
# (sourced after tests/lib.sh; not a test itself). File keys (EC P-256) keep it fast and token-free.
#
#   vca_init DIR NAME [FIRST_SERIAL_HEX]  CA NAME in DIR: DIR/NAME.pem, DIR/NAME.key, DIR/NAME.cnf, DIR/NAME/index.txt
#   vca_issue DIR NAME CN [openssl ca args]  issues a leaf; prints its serial (hex as in index.txt);
#                                          the certificate is DIR/NAME/certs/SERIAL.pem
#   vca_revoke DIR NAME SERIAL [openssl ca args]  `openssl ca -revoke` of that certificate
#   vca_ca DIR NAME args...                `openssl ca -config DIR/NAME.cnf -name NAME args...`

vca_init() {
	local dir=$1 name=$2 first=${3:-1000}
	mkdir -p "$dir/$name/certs"
	: >"$dir/$name/index.txt"
	echo "unique_subject = no" >"$dir/$name/index.txt.attr"
	echo "$first" >"$dir/$name/serial"
	cat >"$dir/$name.cnf" <<CNF
[ $name ]
dir = $dir/$name
database = \$dir/index.txt
new_certs_dir = \$dir/certs
serial = \$dir/serial
certificate = $dir/$name.pem
private_key = $dir/$name.key
default_md = sha256
default_days = 365
default_crl_days = 7
policy = vca_policy
unique_subject = no
copy_extensions = none
x509_extensions = vca_leaf
[ vca_policy ]
commonName = supplied
[ vca_leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
authorityKeyIdentifier = keyid
[ req ]
distinguished_name = vca_dn
prompt = no
[ vca_dn ]
CN = unused
[ vca_ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/$name.key" \
		-out "$dir/$name.pem" -days 3650 -subj "/CN=Test CA $name" -config "$dir/$name.cnf" \
		-extensions vca_ca_ext 2>/dev/null || fail "vca_init $name"
}

vca_ca() {
	local dir=$1 name=$2; shift 2
	openssl ca -config "$dir/$name.cnf" -name "$name" "$@"
}

vca_issue() {
	local dir=$1 name=$2 cn=$3; shift 3
	local serial
	serial=$(cat "$dir/$name/serial")
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/$name/$serial.key" \
		-subj "/CN=$cn" -out "$dir/$name/$serial.csr" 2>/dev/null || fail "vca_issue $cn: req"
	vca_ca "$dir" "$name" -batch -notext -in "$dir/$name/$serial.csr" -out "$dir/$name/$serial.out" "$@" \
		>/dev/null 2>&1 || fail "vca_issue $cn: openssl ca"
	echo "$serial"
}

vca_revoke() {
	local dir=$1 name=$2 serial=$3; shift 3
	vca_ca "$dir" "$name" -revoke "$dir/$name/certs/$serial.pem" "$@" >/dev/null 2>&1 ||
		fail "vca_revoke $serial $*"
}
