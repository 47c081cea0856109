#!/usr/bin/env bash
# ocspd against NSS's OCSP client (libnss3-tools), in an NSS database that trusts the demo root:
# - ocspclnt -S / -V with ocspd as the designated responder (-l URL -t signer: ocsp1 for ca1, ResponderID by key;
#   ocsp2 for ca2, by name) on every non-expired leaf of ca1 and ca2: good, revoked (holds included), and "no
#   status" for a certificate ca1 issued that the store does not know;
# - vfychain -pp (libpkix, CERT_PKIXVerifyCert) with OCSP required for the leaf (-g leaf -m ocsp -s
#   failIfNoInfo), on leaves issued here whose AIA points at this ocspd: good, revoked by vactl, unknown; a
#   database that does not trust the root refuses the good answer (vfychain and ocspclnt through the AIA); the
#   good leaf, revoked by vactl while ocspd runs, is then refused too.
# OCSP_KEYTYPE=rsa|ec selects the PKI's key type (ocsp_nss_ec.sh runs the EC variant).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ocsp_lib.bash"

for c in certutil ocspclnt vfychain; do need_cmd "$c" libnss3-tools; done

ocsp_env "${OCSP_KEYTYPE:-rsa}"
ocsp_start

# The NSS database: the root trusted as a CA (NSS checks the responder's certificate against the database's
# trust, not against vfychain's -t anchors), the CAs and signers untrusted.
DB="sql:$T/nssdb"
mkdir -p "$T/nssdb"
certutil -N -d "$DB" --empty-password || fail "certutil -N"
nss_add() { # nickname file trust
	certutil -A -d "$DB" -n "$1" -t "$3" -a -i "$2" || fail "certutil -A $1"
}
nss_add root "$PKI/root.pem" "C,C,C"
for c in ca1 ca2 ocsp1 ocsp2; do nss_add "$c" "$PKI/$c.pem" ",,"; done

# --- ocspclnt on the demo leaves ---------------------------------------------------------------------------------
# Expected outcome per leaf from the PKI's summary; expired leaves are left out (their path is invalid).
: >"$T/want"
for ca in ca1 ca2; do
	while IFS=$'\t' read -r serial _name status _reason; do
		case $status in
		good) want=ok ;;
		revoked | hold) want=revoked ;;
		*) continue ;;
		esac
		openssl x509 -in "$PKI/$ca/certs/$serial.pem" -noout -checkend 0 >/dev/null || continue
		nss_add "$ca-$serial" "$PKI/$ca/certs/$serial.pem" ",,"
		echo "$ca $serial $want" >>"$T/want"
	done < <(tail -n +2 "$PKI/$ca/leaves.tsv")
done
nss_add ca1-80 "$PKI/ca1x/certs/80.pem" ",,"   # issued by ca1's key, never imported: unknown to the store
echo "ca1 80 nostatus" >>"$T/want"
grep -q " ok$" "$T/want" && grep -q " revoked$" "$T/want" || fail "no good or no revoked leaf to ask for"

# outcome TEXT: what ocspclnt's message means.
outcome() {
	case $1 in
	*succeeded*) echo ok ;;
	*"has been revoked"*) echo revoked ;;
	*"has no status for the certificate"*) echo nostatus ;;
	*) echo "other: $1" ;;
	esac
}
n=0
while read -r ca serial want; do
	signer=ocsp1
	[ "$ca" = ca2 ] && signer=ocsp2
	for cmd in -S -V; do
		args=("$cmd" "$ca-$serial")
		[ "$cmd" = -V ] && args+=(-u E)   # the demo leaves carry emailProtection
		out=$(ocspclnt -d "$DB" "${args[@]}" -l "$URL" -t "$signer" 2>&1) || true
		got=$(outcome "$out")
		[ "$got" = "$want" ] || { echo "$out"; fail "ocspclnt $cmd $ca $serial: want $want, got $got"; }
	done
	n=$((n + 1))
done <"$T/want"
ok "ocspclnt -S and -V: $n leaves of ca1 and ca2 as expected (good, revoked, no status)"

# --- vfychain with OCSP from the certificates' AIA -------------------------------------------------------------
cat >"$T/leaf.ext" <<EOX
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth, emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = OCSP;URI:$URL
EOX
for name in good revoked unknown; do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$name.key" \
		-subj "/CN=nss-$name" -out "$T/$name.csr" 2>/dev/null
	pki_ca ca1 -in "$T/$name.csr" -extfile "$T/leaf.ext" -extensions leaf -notext -out "$T/$name.pem" \
		>"$T/ca.out" 2>&1 || { cat "$T/ca.out"; fail "issuing $name"; }
done
VACTL import ca1 "$T/good.pem" "$T/revoked.pem"
VACTL revoke ca1 --cert "$T/revoked.pem" --reason keyCompromise

# vfy NAME [DB]: vfychain's verdict (good/bad) on leaf NAME -> ca1 -> root, OCSP required for the leaf; its
# output in $T/vfy-NAME.out.
vfy() {
	if vfychain -d "${2:-$DB}" -pp -u 4 -g leaf -m ocsp -s failIfNoInfo -a "$T/$1.pem" -a "$PKI/ca1.pem" \
		-t -a "$PKI/root.pem" >"$T/vfy-$1.out" 2>&1; then echo good; else echo bad; fi
}
# ocspd reads the store's change log every 200 ms: wait until its cached (nonce-less) answer says revoked, as
# NSS asks without a nonce (a nonce request is signed afresh and sees the change at once).
wait_revoked() { # cert file
	local i
	for ((i = 0; i < 20; i++)); do
		openssl ocsp -no_nonce -issuer "$PKI/ca1.pem" -cert "$1" -url "$URL" -CAfile "$PKI/root.pem" 2>/dev/null |
			grep -q ": revoked" && return 0
		sleep 0.1
	done
	fail "ocspd does not answer revoked for $1 after 2 s"
}
wait_revoked "$T/revoked.pem"
expect_eq good "$(vfy good)" "vfychain: good leaf, OCSP good"
expect_grep "^Chain is good!" "$T/vfy-good.out" "vfychain: chain good"
expect_eq bad "$(vfy revoked)" "vfychain: revoked leaf refused"
expect_grep "ERROR -8180: Peer's Certificate has been revoked" "$T/vfy-revoked.out" "vfychain: revoked (-8180)"
# NSS checks the responder's signature and certificate: with a database that does not trust the root (the
# path's anchor is still given with -t), the same good answer is refused.
DB2="sql:$T/nssdb2"
mkdir -p "$T/nssdb2"
certutil -N -d "$DB2" --empty-password || fail "certutil -N (second database)"
for c in root ca1; do certutil -A -d "$DB2" -n "$c" -t ",," -a -i "$PKI/$c.pem" || fail "certutil -A $c (DB2)"; done
expect_eq bad "$(vfy good "$DB2")" "vfychain: the answer refused when its signer does not chain to a trusted root"
certutil -A -d "$DB2" -n good -t ",," -a -i "$T/good.pem" || fail "certutil -A good"
out=$(ocspclnt -d "$DB2" -S good 2>&1) || true   # ocspclnt: the responder from the AIA
[ "$(outcome "$out")" != ok ] || fail "ocspclnt accepted an answer whose signer does not chain to a trusted root"
ok "ocspclnt refuses that answer too ($(echo "$out" | tail -1))"
certutil -A -d "$DB" -n good -t ",," -a -i "$T/good.pem" || fail "certutil -A good"
expect_eq ok "$(outcome "$(ocspclnt -d "$DB" -S good 2>&1)")" "ocspclnt: the good leaf through its AIA, root trusted"
# NSS's libpkix reports an "unknown" answer under failIfNoInfo with the revoked code as well; what matters is
# that the leaf is refused (openssl above and ocspclnt's -S tell unknown from revoked).
expect_eq bad "$(vfy unknown)" "vfychain: leaf unknown to the store refused"
# Revoked while ocspd runs: NSS (a new process, no cache) sees the new status.
VACTL revoke ca1 --cert "$T/good.pem" --reason superseded
wait_revoked "$T/good.pem"
expect_eq bad "$(vfy good)" "vfychain: the good leaf, revoked by vactl, is refused"
done_ok
