#!/usr/bin/env bash
# tsad against osslsigncode (Authenticode): a tiny PE32+ executable, built here from C with gcc and binutils' PE
# linker (ld -m i386pep: no cross compiler needed), is signed with `-ts URL` (RFC 3161 timestamp as an unsigned
# attribute) with SHA-256 and SHA-512, and timestamped afterwards with `osslsigncode add -ts`. `osslsigncode
# verify` against the demo root must find the timestamp, verify the TSA's signature and chain, and report a
# time within the signing window. Negative checks: a TSA trust store without the demo root fails the timestamp,
# and a changed byte in the signed file fails the signature.
. "$VA_TOP/tests/lib.sh"
. "$VA_TOP/tests/integration/tsa_lib.bash"

need_cmd osslsigncode osslsigncode
need_cmd ld binutils

tsa_setup
port=$(free_port)
url="http://127.0.0.1:$port/"
tsa_conf "$PKI/tsa.conf" "$port" 'accuracy_ms = 1500; tsa_name = true;'
tsa_start tsad "$PKI/tsa.conf" "$port"
wait_http "${url}readyz"
osslsigncode --version 2>&1 | head -1

# The PE: a Windows console program's entry point, linked without any C library (it is never run, only signed).
cat >"$T/tiny.c" <<'EOC'
int mainCRTStartup(void);
int mainCRTStartup(void) { return 42; }
EOC
gcc -Os -ffreestanding -fno-pic -fno-asynchronous-unwind-tables -fno-ident -c "$T/tiny.c" -o "$T/tiny.o" ||
	fail "gcc tiny.c"
ld -m i386pep --subsystem console -e mainCRTStartup -o "$T/tiny.exe" "$T/tiny.o" 2>"$T/ld.err" ||
	{ cat "$T/ld.err"; skip "this binutils' ld cannot link PE32+ (emulation i386pep)"; }
head -c 2 "$T/tiny.exe" | grep -q MZ || fail "tiny.exe is not a PE file"

# A code-signing certificate from ca1; osslsigncode sends it and ca1 in the signature.
cat >"$T/cs.ext" <<'EOX'
[cs]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOX
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/cs.key" \
	-subj "/O=VA Demo/CN=VA Test Code Signer" -out "$T/cs.csr" 2>/dev/null
pki_ca ca1 -in "$T/cs.csr" -extfile "$T/cs.ext" -extensions cs -notext -out "$T/cs.pem" >"$T/ca.out" 2>&1 ||
	{ cat "$T/ca.out"; fail "issuing the code-signing certificate"; }
cat "$T/cs.pem" "$PKI/ca1.pem" >"$T/cs-chain.pem"
# An unrelated root: a trust store that does not hold the demo root.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/other.key" -subj "/CN=Other Root" \
	-days 30 -out "$T/other-root.pem" 2>/dev/null

# verify NAME T0 T1: `osslsigncode verify` of $T/NAME.exe against the demo root for the signature and the
# timestamp; the timestamp verified by tsad's certificate (serial 1001 from ca1) within [T0-1, T1+1].
verify() {
	local name=$1 t0=$2 t1=$3 out="$T/$1.verify" when ts
	osslsigncode verify -in "$T/$name.exe" -CAfile "$PKI/root.pem" -TSA-CAfile "$PKI/root.pem" >"$out" 2>&1 ||
		{ cat "$out"; fail "osslsigncode verify $name"; }
	expect_grep "^Timestamp Server Signature verification: ok" "$out" "$name: timestamp signature and chain verified"
	expect_grep "^Signature verification: ok" "$out" "$name: Authenticode signature verified"
	expect_grep "^Number of verified signatures: 1" "$out" "$name: one signature"
	# The timestamp block names the TSA certificate (ca1's serial 1001) and the token's time. osslsigncode 2.5
	# (Debian 12) prints "The signature is timestamped: TIME" then "Timestamp Verified by:" with the issuer and
	# serial; 2.9 (bookworm-backports) a "Countersignatures:" block with "Timestamp time: TIME".
	sed -n '/^Countersignatures:/,/^$/p; /^The signature is timestamped:/,/^$/p' "$out" >"$T/$name.cs"
	expect_grep "Issuer ?: /C=XX/O=VA Demo/CN=VA Demo Issuing CA ca1$" "$T/$name.cs" "$name: TSA certificate from ca1"
	expect_grep "Serial ?: 1001$" "$T/$name.cs" "$name: TSA certificate serial 1001"
	when=$(sed -n 's/^[[:space:]]*Timestamp time: //p; s/^The signature is timestamped: //p' "$T/$name.cs" | head -1)
	[ -n "$when" ] || { cat "$out"; fail "$name: no timestamp time"; }
	ts=$(date -u -d "$when" +%s) || fail "$name: cannot read the timestamp time '$when'"
	[ "$ts" -ge $((t0 - 1)) ] && [ "$ts" -le $((t1 + 1)) ] ||
		fail "$name: timestamp time $when outside the signing window [$t0, $t1]"
	ok "$name: timestamp time $when within the signing window"
}

# sign NAME HASH [osslsigncode sign options]: $T/NAME.exe, signed (and timestamped if the options say so).
sign() {
	local name=$1 hash=$2; shift 2
	osslsigncode sign -certs "$T/cs-chain.pem" -key "$T/cs.key" -h "$hash" -n "VA tsad test" "$@" \
		-in "$T/tiny.exe" -out "$T/$name.exe" >"$T/$name.sign" 2>&1 ||
		{ cat "$T/$name.sign" "$T/tsad.log"; fail "osslsigncode sign $name $*"; }
	ok "osslsigncode sign -h $hash $*"
}

for h in sha256 sha512; do
	t0=$(date +%s)
	sign "$h" "$h" -ts "$url"
	verify "$h" "$t0" "$(date +%s)"
done

# Timestamp added to an existing signature.
sign notime sha256
if osslsigncode verify -in "$T/notime.exe" -CAfile "$PKI/root.pem" -TSA-CAfile "$PKI/root.pem" >"$T/notime.verify" 2>&1 &&
	grep -q "^Timestamp Server Signature verification: ok" "$T/notime.verify"; then
	fail "a signature without a timestamp reported a verified timestamp"
fi
t0=$(date +%s)
osslsigncode add -ts "$url" -h sha256 -in "$T/notime.exe" -out "$T/added.exe" >"$T/add.out" 2>&1 ||
	{ cat "$T/add.out" "$T/tsad.log"; fail "osslsigncode add -ts"; }
verify added "$t0" "$(date +%s)"

# Negative: the TSA trust store without the demo root. (The exit status may still be 0: osslsigncode then checks
# the signer's chain at the current time instead of the timestamp's.)
osslsigncode verify -in "$T/sha256.exe" -CAfile "$PKI/root.pem" -TSA-CAfile "$T/other-root.pem" \
	>"$T/other.verify" 2>&1 || true
expect_grep "^Timestamp Server Signature verification: failed" "$T/other.verify" \
	"without the demo root, the timestamp fails"

# Negative: one byte of the code changed after signing (.text starts at the first 512-byte file block after the
# headers; its first byte is the entry point's code).
cp "$T/sha256.exe" "$T/tampered.exe"
off=$(objdump -h "$T/tampered.exe" | awk '$2 == ".text" { print $6; exit }')
[ -n "$off" ] && [ $((16#$off)) -gt 0 ] || fail "no .text section offset in the signed file"
off=$((16#$off))
printf '\xcc' | dd of="$T/tampered.exe" bs=1 seek="$off" conv=notrunc status=none
if osslsigncode verify -in "$T/tampered.exe" -CAfile "$PKI/root.pem" -TSA-CAfile "$PKI/root.pem" \
	>"$T/tampered.verify" 2>&1; then cat "$T/tampered.verify"; fail "a changed file verified"; fi
ok "a file changed after signing does not verify"
done_ok
