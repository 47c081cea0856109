#!/usr/bin/env bash
# scripts/pki.sh DIR: a demo/test PKI whose service keys live in a project-local SoftHSM2 token.
# Idempotent: running it again on the same DIR reuses what exists (a finished DIR returns at once).
#
# Environment:
#   VA_PKI_KEYTYPE=rsa|ec   key type of every key made here (RSA-2048 default, ec = P-256); fixed per DIR
#                           (unset: an existing DIR keeps its type; set to the other type: an error)
#   VA_PKCS11_MODULE        PKCS#11 module (default /usr/lib/softhsm/libsofthsm2.so)
#
# What DIR holds afterwards:
#   softhsm2.conf      export SOFTHSM2_CONF=DIR/softhsm2.conf (token directory DIR/tokens, absolute path)
#   pin, so-pin        user and SO PIN of token `va` (random, mode 600); never put them in a config file
#   engine.cnf         OPENSSL_CONF for `openssl ... -engine pkcs11 -keyform engine` with this module
#   root.pem root.key  the offline root CA (file key, CA:TRUE)
#   ca1.pem ca2.pem    issuing CAs (CA:TRUE pathlen:0, keyCertSign+cRLSign); keys in the token: objects ca1, ca2
#   ocsp1.pem ocsp2.pem delegated OCSP signers issued by ca1 / ca2 (EKU OCSPSigning, id-pkix-ocsp-nocheck,
#                      digitalSignature); keys in the token: objects ocsp1, ocsp2
#   tsa.pem            TSA certificate issued by ca1 (EKU timeStamping, critical and alone; digitalSignature +
#                      nonRepudiation); key in the token: object tsa
#   chain1.pem chain2.pem  ca1 + root, ca2 + root (issuing CA first)
#   ocsp1-file.pem/.key OCSP signer for ca1 with a file key (fast tests without the token)
#   tsa-file.pem/.key  TSA certificate issued by ca1 with a file key
#   cafile.pem/.key    a third issuing CA (issued by root) with a file key; chainfile.pem = cafile + root
#   ca1/ ca2/ cafile/  `openssl ca` databases: index.txt, serial, certs/SERIAL.pem (every certificate that CA
#                      issued, including its OCSP/TSA certificates), private/NAME.key (leaf keys),
#                      leaves.tsv (serial, name, expected status, reason: a summary for tests),
#                      openssl.crl (the CRL `openssl ca -gencrl` makes from index.txt, for comparisons)
#   openssl.cnf        the `openssl ca` configuration used (sections ca1, ca2, cafile)
# Serials are fixed (tests rely on them; tests/integration/pki_demo.sh checks them):
#   ca1: 1000 ocsp1, 1001 tsa, 1002 ocsp1-file, 1003 tsa-file, 1004 good, 1005 good, 1006 keyCompromise,
#        1007 superseded, 1008 cessationOfOperation, 1009 certificateHold (holdInstructionCallIssuer),
#        100A keyCompromise with invalidity date, 100B revoked without reason, 100C expired (good),
#        100D expired and revoked (keyCompromise), 100E affiliationChanged
#   ca1x (a second openssl ca database of ca1, same certificate and key, NOT in ca1/index.txt: serial encodings
#        that trip codecs, for tests that import ca1x/index.txt on purpose): 80 good (high bit set: DER 00 80),
#        7FEEDDCCBBAA99887766554433221100FFEEDD01 superseded (20 octets, the RFC 5280 maximum)
#   ca2: 2000 ocsp2, 2001..200A as ca1's 1004..100D, 200B cACompromise with invalidity date,
#        200C cACompromise, 200D certificateHold without instruction
#   cafile: 3000..3009 as ca1's 1004..100D
# Keys in the token are addressed pkcs11:token=va;object=NAME;type=private
# Leaves carry AIA OCSP http://127.0.0.1:8080 and CRL DP http://127.0.0.1:8082/crl/<ca>.crl (the demo ports:
# ocspd 8080, tsad 8081, crlgen 8082).
# Revoked leaves cover every reason style of `openssl ca`: -crl_reason (keyCompromise, superseded,
# cessationOfOperation, affiliationChanged, CACompromise, certificateHold), -crl_hold (certificateHold with
# a hold instruction), -crl_compromise / -crl_CA_compromise (with an invalidity date), and no reason at all.
set -euo pipefail

DIR=${1:?usage: scripts/pki.sh DIR}
MODULE=${VA_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
# An existing DIR keeps its key type unless another one is asked for explicitly (then: an error below).
KEYTYPE=${VA_PKI_KEYTYPE:-$(cat "$DIR/keytype" 2>/dev/null || echo rsa)}
case "$KEYTYPE" in rsa | ec) ;; *) echo "pki.sh: VA_PKI_KEYTYPE must be rsa or ec" >&2; exit 2 ;; esac
for tool in openssl pkcs11-tool softhsm2-util flock; do
	command -v "$tool" >/dev/null || { echo "pki.sh: $tool is missing (run scripts/deps.sh build)" >&2; exit 2; }
done
[ -r "$MODULE" ] || { echo "pki.sh: PKCS#11 module $MODULE not found" >&2; exit 2; }

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
umask 077

# Two runs on the same DIR at once wait for each other.
exec 9>"$DIR/.lock"
flock 9

if [ -e "$DIR/.complete" ]; then
	have=$(cat "$DIR/keytype" 2>/dev/null || echo rsa)
	[ "$have" = "$KEYTYPE" ] || { echo "pki.sh: $DIR holds $have keys, asked for $KEYTYPE" >&2; exit 2; }
	exit 0
fi
if [ -e "$DIR/keytype" ] && [ "$(cat "$DIR/keytype")" != "$KEYTYPE" ]; then
	echo "pki.sh: $DIR holds $(cat "$DIR/keytype") keys, asked for $KEYTYPE" >&2
	exit 2
fi
echo "$KEYTYPE" >"$DIR/keytype"

say() { [ -n "${VA_PKI_QUIET:-}" ] || echo "pki.sh: $*" >&2; }
# Runs a command, showing its output only when it fails.
quiet() {
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	if [ $rc -ne 0 ]; then
		echo "pki.sh: failed ($rc): $*" >&2
		echo "$out" >&2
		exit $rc
	fi
}

# --- SoftHSM2 token -------------------------------------------------------------------------------------------
mkdir -p "$DIR/tokens"
cat >"$DIR/softhsm2.conf" <<EOF
# SoftHSM2 configuration of the VA demo/test token (made by scripts/pki.sh)
directories.tokendir = $DIR/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
export SOFTHSM2_CONF="$DIR/softhsm2.conf"

[ -s "$DIR/pin" ] || openssl rand -hex 8 | tr -d '\n' >"$DIR/pin"
[ -s "$DIR/so-pin" ] || openssl rand -hex 8 | tr -d '\n' >"$DIR/so-pin"
chmod 600 "$DIR/pin" "$DIR/so-pin"

# The PINs reach pkcs11-tool through its environment (env:NAME), never through argv (visible in ps).
p11() {
	VA_PKI_PIN=$(cat "$DIR/pin") pkcs11-tool --module "$MODULE" --token-label va --login --pin env:VA_PKI_PIN "$@"
}
if ! softhsm2-util --show-slots 2>/dev/null | grep -Eq 'Label:[[:space:]]+va[[:space:]]*$'; then
	say "initialising SoftHSM2 token 'va' in $DIR/tokens"
	VA_PKI_SO=$(cat "$DIR/so-pin") VA_PKI_PIN=$(cat "$DIR/pin") \
		quiet pkcs11-tool --module "$MODULE" --init-token --label va --so-pin env:VA_PKI_SO
	VA_PKI_SO=$(cat "$DIR/so-pin") VA_PKI_PIN=$(cat "$DIR/pin") \
		quiet pkcs11-tool --module "$MODULE" --token-label va --login --login-type so --so-pin env:VA_PKI_SO \
		--init-pin --new-pin env:VA_PKI_PIN
fi

objects=$(p11 --list-objects --type privkey 2>/dev/null || true)
# token_key NAME ID: a signing key pair generated inside the token (never extractable).
token_key() {
	local name=$1 id=$2 kt=rsa:2048
	[ "$KEYTYPE" = ec ] && kt=EC:prime256v1
	if ! grep -Eq "label:[[:space:]]+${name}[[:space:]]*\$" <<<"$objects"; then
		say "generating $KEYTYPE key '$name' in the token"
		quiet p11 --keypairgen --key-type "$kt" --label "$name" --id "$id" --usage-sign
	fi
}
token_key ca1 01
token_key ca2 02
token_key ocsp1 11
token_key ocsp2 12
token_key tsa 21

# file_key FILE: a PEM private key file of the PKI's key type.
file_key() {
	[ -s "$1" ] && return 0
	if [ "$KEYTYPE" = ec ]; then
		quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
	else
		quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"
	fi
}

# --- OpenSSL configuration --------------------------------------------------------------------------------------
cat >"$DIR/engine.cnf" <<EOF
# OPENSSL_CONF for the pkcs11 engine (libp11) on the demo token; PIN through -passin file:pin
openssl_conf = va_openssl
[va_openssl]
engines = va_engines
[va_engines]
pkcs11 = va_pkcs11
[va_pkcs11]
MODULE_PATH = $MODULE
init = 0
EOF

ca_section() { # name certificate
	cat <<EOF
[$1]
dir = $DIR/$1
database = \$dir/index.txt
new_certs_dir = \$dir/certs
serial = \$dir/serial
certificate = $DIR/$2
default_md = sha256
default_days = 825
default_crl_days = 7
policy = va_policy
unique_subject = no
copy_extensions = none
email_in_dn = no
preserve = no
crl_extensions = va_crl_ext

EOF
	[[ $1 == *x ]] && return 0 # ca1x: ca1's leaf profile
	cat <<EOF
[va_leaf_$1]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth, emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = OCSP;URI:http://127.0.0.1:8080
crlDistributionPoints = URI:http://127.0.0.1:8082/crl/$1.crl

EOF
}
{
	cat <<'EOF'
# `openssl ca` configuration of the VA demo/test PKI (made by scripts/pki.sh)
[req]
distinguished_name = va_dn
prompt = no
[va_dn]
CN = unused

[va_policy]
countryName = optional
organizationName = optional
commonName = supplied

[va_crl_ext]
authorityKeyIdentifier = keyid

[va_root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[va_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[va_ocsp]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[va_tsa]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

EOF
	ca_section ca1 ca1.pem
	ca_section ca2 ca2.pem
	ca_section cafile cafile.pem
	ca_section ca1x ca1.pem
} >"$DIR/openssl.cnf"

ORG="/C=XX/O=VA Demo"
# The engine is loaded only for the commands that use a token key.
eng() { # eng SUBCOMMAND args...
	local sub=$1; shift
	OPENSSL_CONF="$DIR/engine.cnf" openssl "$sub" -engine pkcs11 -passin "file:$DIR/pin" "$@"
}
uri() { echo "pkcs11:token=va;object=$1;type=private"; }

# csr NAME SUBJECT OUT: a request signed by key NAME (a token object, or a file path if NAME contains a '/').
csr() {
	if [[ $1 == */* ]]; then
		quiet openssl req -new -config "$DIR/openssl.cnf" -key "$1" -subj "$2" -out "$3"
	else
		quiet eng req -new -config "$DIR/openssl.cnf" -keyform engine -key "$(uri "$1")" -subj "$2" -out "$3"
	fi
}

# --- root and issuing CAs ---------------------------------------------------------------------------------------
file_key "$DIR/root.key"
if [ ! -s "$DIR/root.pem" ]; then
	say "making root CA"
	quiet openssl req -new -x509 -config "$DIR/openssl.cnf" -key "$DIR/root.key" -subj "$ORG/CN=VA Demo Root CA" \
		-days 7300 -sha256 -extensions va_root -set_serial "0x$(openssl rand -hex 8)" -out "$DIR/root.pem.tmp"
	mv "$DIR/root.pem.tmp" "$DIR/root.pem"
fi

# sub_ca NAME KEY: issuing CA certificate NAME.pem signed by the root's file key.
sub_ca() {
	local name=$1 key=$2
	[ -s "$DIR/$name.pem" ] && return 0
	say "making issuing CA $name"
	csr "$key" "$ORG/CN=VA Demo Issuing CA $name" "$DIR/$name.csr"
	quiet openssl x509 -req -in "$DIR/$name.csr" -CA "$DIR/root.pem" -CAkey "$DIR/root.key" -days 3650 -sha256 \
		-extfile "$DIR/openssl.cnf" -extensions va_ca -set_serial "0x$(openssl rand -hex 8)" -out "$DIR/$name.pem.tmp"
	rm -f "$DIR/$name.csr"
	mv "$DIR/$name.pem.tmp" "$DIR/$name.pem"
}
sub_ca ca1 ca1
sub_ca ca2 ca2
file_key "$DIR/cafile.key"
sub_ca cafile "$DIR/cafile.key"
cat "$DIR/ca1.pem" "$DIR/root.pem" >"$DIR/chain1.pem"
cat "$DIR/ca2.pem" "$DIR/root.pem" >"$DIR/chain2.pem"
cat "$DIR/cafile.pem" "$DIR/root.pem" >"$DIR/chainfile.pem"

# --- issuing with `openssl ca` (the CA's database records every certificate) ---------------------------------------
# ca_cmd CA args...: `openssl ca` signing with CA's key (token object, or cafile.key).
ca_cmd() {
	local ca=$1; shift
	if [ "$ca" = cafile ]; then
		openssl ca -batch -config "$DIR/openssl.cnf" -name "$ca" -keyfile "$DIR/cafile.key" "$@"
	else
		eng ca -batch -config "$DIR/openssl.cnf" -name "$ca" -keyform engine -keyfile "$(uri "${ca%x}")" "$@"
	fi
}

# issue CA KEY SUBJECT EXT OUT [ca args]: OUT is the new certificate; prints its serial (hex).
issue() {
	local ca=$1 key=$2 subj=$3 ext=$4 out=$5; shift 5
	local req="$DIR/$ca/req.csr"
	csr "$key" "$subj" "$req"
	quiet ca_cmd "$ca" -in "$req" -extensions "$ext" -notext -out "$out.tmp" "$@"
	mv "$out.tmp" "$out"
	rm -f "$req"
	openssl x509 -in "$out" -noout -serial | sed 's/^serial=//'
}

# revoke CA SERIAL args...: `openssl ca -revoke` on a certificate of that CA.
revoke() {
	local ca=$1 serial=$2; shift 2
	quiet ca_cmd "$ca" -revoke "$DIR/$ca/certs/$serial.pem" "$@"
}

# ca_db CA FIRST_SERIAL: a fresh `openssl ca` database (a half-made one from an interrupted run is redone).
ca_db() {
	local ca=$1
	rm -rf "${DIR:?}/$ca"
	mkdir -p "$DIR/$ca/certs" "$DIR/$ca/private"
	: >"$DIR/$ca/index.txt"
	echo "unique_subject = no" >"$DIR/$ca/index.txt.attr"
	echo "$2" >"$DIR/$ca/serial"
	printf 'serial\tname\tstatus\treason\n' >"$DIR/$ca/leaves.tsv"
}

# leaf CA NAME STATUS REASON [ca args]: an end-entity certificate with an EC file key in CA/private/NAME.key.
leaf() {
	local ca=$1 name=$2 status=$3 reason=$4; shift 4
	local key="$DIR/$ca/private/$name.key" serial
	quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key"
	serial=$(issue "$ca" "$key" "$ORG/CN=$name" "va_leaf_${ca%x}" "$DIR/$ca/private/$name.pem" "$@")
	rm -f "$DIR/$ca/private/$name.pem"
	printf '%s\t%s\t%s\t%s\n' "$serial" "$name" "$status" "$reason" >>"$DIR/$ca/leaves.tsv"
	LAST=$serial
}

PAST_START=20200101000000Z
PAST_END=20210101000000Z
INVALID_SINCE=20240301120000Z

# ca_leaves CA: the demo leaves of CA, some revoked.
ca_leaves() {
	local ca=$1
	leaf "$ca" "$ca-alice" good -
	leaf "$ca" "$ca-bob" good -
	leaf "$ca" "$ca-keycompromise" revoked keyCompromise; revoke "$ca" "$LAST" -crl_reason keyCompromise
	leaf "$ca" "$ca-superseded" revoked superseded; revoke "$ca" "$LAST" -crl_reason superseded
	leaf "$ca" "$ca-cessation" revoked cessationOfOperation; revoke "$ca" "$LAST" -crl_reason cessationOfOperation
	leaf "$ca" "$ca-hold" hold certificateHold; revoke "$ca" "$LAST" -crl_hold holdInstructionCallIssuer
	leaf "$ca" "$ca-invalidity" revoked keyCompromise; revoke "$ca" "$LAST" -crl_compromise "$INVALID_SINCE"
	leaf "$ca" "$ca-unspecified" revoked unspecified; revoke "$ca" "$LAST"
	leaf "$ca" "$ca-expired" expired - -startdate "$PAST_START" -enddate "$PAST_END"
	leaf "$ca" "$ca-expired-revoked" revoked keyCompromise -startdate "$PAST_START" -enddate "$PAST_END"
	revoke "$ca" "$LAST" -crl_reason keyCompromise
}

gencrl() {
	quiet ca_cmd "$1" -gencrl -out "$DIR/$1/openssl.crl.tmp"
	mv "$DIR/$1/openssl.crl.tmp" "$DIR/$1/openssl.crl"
}

if [ ! -e "$DIR/ca1/.done" ]; then
	say "issuing ca1's certificates (OCSP, TSA, leaves) with openssl ca + pkcs11 engine"
	ca_db ca1 1000
	file_key "$DIR/ocsp1-file.key"
	file_key "$DIR/tsa-file.key"
	issue ca1 ocsp1 "$ORG/CN=VA Demo OCSP Signer 1" va_ocsp "$DIR/ocsp1.pem" >/dev/null
	issue ca1 tsa "$ORG/CN=VA Demo TSA" va_tsa "$DIR/tsa.pem" >/dev/null
	issue ca1 "$DIR/ocsp1-file.key" "$ORG/CN=VA Demo OCSP Signer 1 (file key)" va_ocsp "$DIR/ocsp1-file.pem" >/dev/null
	issue ca1 "$DIR/tsa-file.key" "$ORG/CN=VA Demo TSA (file key)" va_tsa "$DIR/tsa-file.pem" >/dev/null
	ca_leaves ca1
	leaf ca1 ca1-affiliation revoked affiliationChanged; revoke ca1 "$LAST" -crl_reason affiliationChanged
	gencrl ca1
	touch "$DIR/ca1/.done"
fi

if [ ! -e "$DIR/ca2/.done" ]; then
	say "issuing ca2's certificates"
	ca_db ca2 2000
	issue ca2 ocsp2 "$ORG/CN=VA Demo OCSP Signer 2" va_ocsp "$DIR/ocsp2.pem" >/dev/null
	ca_leaves ca2
	leaf ca2 ca2-cacompromise revoked cACompromise; revoke ca2 "$LAST" -crl_CA_compromise "$INVALID_SINCE"
	leaf ca2 ca2-cacompromise-plain revoked cACompromise; revoke ca2 "$LAST" -crl_reason CACompromise
	leaf ca2 ca2-hold-plain hold certificateHold; revoke ca2 "$LAST" -crl_reason certificateHold
	gencrl ca2
	touch "$DIR/ca2/.done"
fi

if [ ! -e "$DIR/ca1x/.done" ]; then
	say "issuing ca1's edge-case serials (ca1x)"
	ca_db ca1x 80
	leaf ca1x ca1-highbit good -
	echo 7FEEDDCCBBAA99887766554433221100FFEEDD01 >"$DIR/ca1x/serial"
	leaf ca1x ca1-longserial revoked superseded; revoke ca1x "$LAST" -crl_reason superseded
	touch "$DIR/ca1x/.done"
fi

if [ ! -e "$DIR/cafile/.done" ]; then
	say "issuing cafile's certificates (file key)"
	ca_db cafile 3000
	ca_leaves cafile
	gencrl cafile
	touch "$DIR/cafile/.done"
fi

rm -f "$DIR"/*.old "$DIR"/*/*.old
touch "$DIR/.complete"
say "PKI ready in $DIR (export SOFTHSM2_CONF=$DIR/softhsm2.conf)"
