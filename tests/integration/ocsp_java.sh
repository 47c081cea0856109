#!/usr/bin/env bash
# ocspd against Java's OCSP client (OpenJDK 17): tests/integration/java/OcspCheck.java, compiled here with javac,
# validates leaf -> CA -> root with CertPathValidator and a PKIXRevocationChecker (OCSP only, no CRL fallback,
# hard fail) pointed at ocspd. Every non-expired leaf of ca1 (delegated signer, ResponderID by key, chain in the
# response) and ca2 (ResponderID by name): good, or revoked with the reason, revocation time and invalidity date
# of the CA's index.txt; a certificate ca1 issued but the store does not know: unknown. Once without a nonce
# and once with one (jdk.security.certpath.ocspNonce), then with unknown_serial = "revoked" (RFC 6960 4.4.8).
# OCSP_KEYTYPE=rsa|ec selects the PKI's key type (ocsp_java_ec.sh runs the EC variant).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ocsp_lib.bash"

need_cmd java openjdk-17-jdk-headless
need_cmd javac openjdk-17-jdk-headless

mkdir -p "$T/classes"
javac -Xlint:all -Werror -d "$T/classes" "$VA_TOP/tests/integration/java/OcspCheck.java" || fail "javac OcspCheck.java"

ocsp_env "${OCSP_KEYTYPE:-rsa}"
ocsp_start

# index_epoch YYMMDDHHMMSSZ|YYYYMMDDHHMMSSZ: the epoch seconds of an openssl ca index time.
index_epoch() {
	local t=$1
	[ ${#t} -eq 13 ] && t="20$t"
	date -u -d "${t:0:4}-${t:4:2}-${t:6:2} ${t:8:2}:${t:10:2}:${t:12:2}" +%s
}

# Expected lines, from the CA databases: serial, then status as OcspCheck prints it.
: >"$T/want"
args=()
for ca in ca1 ca2; do
	# (tab is IFS white space, so an empty field would vanish: awk writes "-" for it)
	while read -r flag rev serial; do
		status=$(awk -F'\t' -v s="$serial" '$1 == s { print $3 }' "$PKI/$ca/leaves.tsv")
		[ -n "$status" ] || continue          # ca1's own OCSP/TSA certificates: not leaves
		[ "$status" = expired ] && continue   # the path itself is invalid: nothing to ask
		openssl x509 -in "$PKI/$ca/certs/$serial.pem" -noout -checkend 0 >/dev/null || continue  # expired, revoked
		if [ "$flag" = V ]; then
			echo "$serial good" >>"$T/want"
		else
			# REVDATE[,reason[,invalidity date or hold instruction]] (openssl ca's spellings: keyTime is
			# keyCompromise with an invalidity date, CAkeyTime cACompromise with one, holdInstruction a hold)
			IFS=, read -r when reason extra <<<"$rev"
			inv=-
			case $reason in
			'') jreason=UNSPECIFIED ;;
			keyCompromise) jreason=KEY_COMPROMISE ;;
			keyTime) jreason=KEY_COMPROMISE inv=$(index_epoch "$extra") ;;
			CACompromise) jreason=CA_COMPROMISE ;;
			CAkeyTime) jreason=CA_COMPROMISE inv=$(index_epoch "$extra") ;;
			superseded) jreason=SUPERSEDED ;;
			cessationOfOperation) jreason=CESSATION_OF_OPERATION ;;
			affiliationChanged) jreason=AFFILIATION_CHANGED ;;
			certificateHold | holdInstruction) jreason=CERTIFICATE_HOLD ;;
			*) fail "$ca $serial: reason '$reason' not mapped" ;;
			esac
			echo "$serial revoked $jreason $(index_epoch "$when") $inv" >>"$T/want"
		fi
		args+=("$PKI/$ca.pem" "$PKI/$ca/certs/$serial.pem")
	done < <(awk -F'\t' '{ print $1, ($3 == "" ? "-" : $3), $4 }' "$PKI/$ca/index.txt")
done
# Issued by ca1 (ca1x is a second database of ca1's key) but never imported: unknown to the store.
echo "80 unknown" >>"$T/want"
args+=("$PKI/ca1.pem" "$PKI/ca1x/certs/80.pem")
[ "$(wc -l <"$T/want")" -ge 20 ] || fail "expected at least 20 leaves, got $(wc -l <"$T/want")"
grep -q "^1006 revoked KEY_COMPROMISE" "$T/want" && grep -q "^1004 good" "$T/want" &&
	grep -q "^100A revoked KEY_COMPROMISE [0-9]* [0-9]" "$T/want" && grep -q "^1009 revoked CERTIFICATE_HOLD" "$T/want" ||
	{ cat "$T/want"; fail "the expectations miss a good, a revoked, a held or an invalidity-dated leaf"; }

# java_check OUT [java options]: OcspCheck on every leaf.
java_check() {
	local out=$1; shift
	java "$@" -cp "$T/classes" OcspCheck "$PKI/root.pem" "$URL" "${args[@]}" >"$out" 2>"$out.err" ||
		{ cat "$out" "$out.err"; fail "java OcspCheck $*"; }
}

# signed: the answers ocspd signed for the request (a nonce always needs one), not taken from its cache.
signed() { curl -fsS "$URL/metrics" | awk '$1 == "ocspd_http_requests_total{route=\"/\",result=\"signed\"}" { n = $2 }
                                        END { print n + 0 }'; }
n=$(wc -l <"$T/want")
java_check "$T/plain.out"
if ! diff -u "$T/want" "$T/plain.out" >"$T/diff" ; then cat "$T/diff" "$T/plain.out.err"; fail "Java OCSP outcomes without nonce"; fi
ok "Java: $(grep -c good "$T/want") good, $(grep -c revoked "$T/want") revoked (reason, time, invalidity), 1 unknown"

s0=$(signed)
java_check "$T/nonce.out" -Djdk.security.certpath.ocspNonce=true
s1=$(signed)
[ $((s1 - s0)) -ge "$n" ] || fail "with a nonce, $((s1 - s0)) of $n answers were freshly signed: Java sent no nonce?"
if ! diff -u "$T/want" "$T/nonce.out" >"$T/diff"; then cat "$T/diff" "$T/nonce.out.err"; fail "Java OCSP outcomes with nonce"; fi
ok "Java with a nonce: same outcomes (nonce checked by Java)"

# The same leaves, with the serial the store does not know answered revoked (certificateHold, 1970-01-01).
OCSP_EXTRA='unknown_serial = "revoked";'
ocsp_conf
daemon_stop ocspd || fail "ocspd exit status on SIGTERM"
ocsp_start
sed -i 's/^80 unknown$/80 revoked CERTIFICATE_HOLD 0 -/' "$T/want"
java_check "$T/revoked.out"
if ! diff -u "$T/want" "$T/revoked.out" >"$T/diff"; then cat "$T/diff" "$T/revoked.out.err"; fail "Java with unknown_serial = revoked"; fi
ok "Java: an unknown serial with unknown_serial = revoked is revoked/certificateHold at 1970-01-01"
done_ok
