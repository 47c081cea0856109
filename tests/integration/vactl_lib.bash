# tests/integration/vactl_lib.bash: a throw-away CA driven by real `openssl ca`, for the vactl_*.sh tests
# (sourced after tests/lib.sh; not a test itself). File keys (EC P-256) keep it fast and token-free.
#
#   vca_init DIR NAME [FIRST_SERIAL_HEX]  CA NAME in DIR: DIR/NAME.pem, DIR/NAME.key, DIR/NAME.cnf, DIR/NAME/index.txt
#   vca_issue DIR NAME CN [openssl ca args]  issues a leaf; prints its serial (hex as in index.txt);
#                                          the certificate is DIR/NAME/certs/SERIAL.pem
#   vca_revoke DIR NAME SERIAL [openssl ca args]  `openssl ca -revoke` of that certificate
#   vca_ca DIR NAME args...                `openssl ca -config DIR/NAME.cnf -name NAME args...`
#   vindex_mixed FILE N REV HOLD           an index.txt of N certificates from 0x100000: one in REV revoked (reasons
#                                          in turn, one in three with an invalidity date), one in HOLD held, the rest good
#   vcrl_conf DIR STORE CA                 a crlgen configuration publishing CA's full CRL from STORE into DIR/crl,
#                                          signed by the file key of vca_init DIR0 CA (copied from $T/ca)
#   vcrl_entries CRL                       the revoked entries of a DER CRL as text (serials, dates, reasons)

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

vindex_mixed() {
	$PY - "$@" <<'PYEOF'
import sys
path, n, rev, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
reasons = ["keyCompromise", "superseded", "cessationOfOperation", "affiliationChanged", "CACompromise", ""]
with open(path, "w") as f:
    for i in range(n):
        s = "%X" % (0x100000 + i)
        if i % rev == 7:
            k = i // rev
            when = "2601%02d000000Z" % (1 + k % 28)
            r = reasons[k % len(reasons)]
            what = when + ("," + r if r else "")
            if k % 3 == 0:
                what = when + ",keyTime,20251231000000Z"
            f.write("R\t301231235959Z\t%s\t%s\tunknown\t/CN=c%d\n" % (what, s, i))
        elif i % hold == 3:
            f.write("R\t301231235959Z\t260102000000Z,certificateHold\t%s\tunknown\t/CN=c%d\n" % (s, i))
        else:
            f.write("V\t301231235959Z\t\t%s\tunknown\t/CN=c%d\n" % (s, i))
PYEOF
}

vcrl_conf() {
	mkdir -p "$1"
	cp "$T/ca/$3.pem" "$T/ca/$3.key" "$1/"
	cat >"$1/va.conf" <<CONF
log = { level = "warning"; syslog = false; };
store = { path = "$2"; map_size_mb = 64; };
signers = ( { name = "$3"; type = "file"; key = "$3.key"; cert = "$3.pem"; } );
crlgen = { publish_dir = "crl"; interval = 3600; change_delay = 60;
  crls = ( { name = "$3"; issuer = "$3"; signer = "$3"; validity = 604800; delta = false; retention = -1;
             ready_margin = 3600; } ); };
CONF
}

vcrl_entries() { openssl crl -inform DER -in "$1" -noout -text | sed -n '/Revoked Certificates:/,/Signature Algorithm:/p'; }
