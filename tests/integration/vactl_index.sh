#!/usr/bin/env bash
# vactl on an index.txt made by real `openssl ca`: every reason style `openssl ca` writes (-crl_reason,
# -crl_hold, -crl_compromise, -crl_CA_compromise, none), an expired entry (-updatedb), a 20-octet serial and a
# GeneralizedTime expiry. Import, then compare entry by entry: `vactl list` against an independent reading of
# index.txt, `vactl export` against the original lines, and the CRL `openssl ca -gencrl` makes from the export
# against the one it makes from the original. Then: re-import is a no-op, a later `openssl ca -revoke` comes in
# as one update, certificate files of the same CA change nothing, an export imports into a fresh store unchanged.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/vactl_lib.bash"

V="$BIN/vactl"
C=$T/ca
vca_init "$C" tca 7A11223344556677889900AABBCCDDEEFF001100

s_good=$(vca_issue "$C" tca good1)
s_good2=$(vca_issue "$C" tca good2)
s_far=$(vca_issue "$C" tca far -enddate 20510101000000Z)
s_exp=$(vca_issue "$C" tca expired -startdate 20200101000000Z -enddate 20210101000000Z)
s_kc=$(vca_issue "$C" tca keycompromise)
s_cac=$(vca_issue "$C" tca cacompromise)
s_aff=$(vca_issue "$C" tca affiliation)
s_sup=$(vca_issue "$C" tca superseded)
s_ces=$(vca_issue "$C" tca cessation)
s_hold=$(vca_issue "$C" tca hold)
s_holdi=$(vca_issue "$C" tca holdinstr)
s_ktime=$(vca_issue "$C" tca keytime)
s_catime=$(vca_issue "$C" tca cakeytime)
s_none=$(vca_issue "$C" tca noreason)
s_unsp=$(vca_issue "$C" tca unspecified)
s_later=$(vca_issue "$C" tca later)
vca_revoke "$C" tca "$s_kc" -crl_reason keyCompromise
vca_revoke "$C" tca "$s_cac" -crl_reason CACompromise
vca_revoke "$C" tca "$s_aff" -crl_reason affiliationChanged
vca_revoke "$C" tca "$s_sup" -crl_reason superseded
vca_revoke "$C" tca "$s_ces" -crl_reason cessationOfOperation
vca_revoke "$C" tca "$s_hold" -crl_reason certificateHold
vca_revoke "$C" tca "$s_holdi" -crl_hold holdInstructionReject
vca_revoke "$C" tca "$s_ktime" -crl_compromise 20240301120000Z
vca_revoke "$C" tca "$s_catime" -crl_CA_compromise 20240302130405Z
vca_revoke "$C" tca "$s_none"
vca_revoke "$C" tca "$s_unsp" -crl_reason unspecified
vca_ca "$C" tca -updatedb >/dev/null 2>&1 || fail "openssl ca -updatedb"
IDX=$C/tca/index.txt
grep -q "^E" "$IDX" || fail "no expired (E) line in the test index"
grep -q "keyTime,20240301120000Z" "$IDX" || fail "no keyTime line in the test index"
grep -q "CAkeyTime,20240302130405Z" "$IDX" || fail "no CAkeyTime line in the test index"
grep -q "holdInstruction,holdInstructionReject" "$IDX" || fail "no holdInstruction line"
grep -q "	20510101000000Z	" "$IDX" || fail "no GeneralizedTime expiry line"
n_lines=$(wc -l <"$IDX")
expect_eq 16 "$n_lines" "openssl ca wrote 16 entries"

# Independent reading of index.txt: what `vactl list` must print for each entry.
expected_list() { # index label
	$PY - "$1" "$2" <<'PYEOF'
import sys, datetime
def t(s):
    fmt = "%y%m%d%H%M%SZ" if len(s) == 13 else "%Y%m%d%H%M%SZ"
    return datetime.datetime.strptime(s, fmt).strftime("%Y-%m-%dT%H:%M:%SZ")
names = {"keytime": "keyCompromise", "cakeytime": "CACompromise", "holdinstruction": "certificateHold"}
canon = ["unspecified", "keyCompromise", "CACompromise", "affiliationChanged", "superseded",
         "cessationOfOperation", "certificateHold"]
for line in open(sys.argv[1]):
    st, exp, rev, serial, _f, _subj = line.rstrip("\n").split("\t")
    serial = serial.lstrip("0").upper() or "00"
    if len(serial) % 2: serial = "0" + serial
    if st in "VE":
        print("\t".join([sys.argv[2], serial, "good", t(exp), "-", "-", "-"])); continue
    parts = rev.split(",")
    reason = parts[1] if len(parts) > 1 else "unspecified"
    reason = names.get(reason.lower(), next((c for c in canon if c.lower() == reason.lower()), reason))
    inv = t(parts[2]) if len(parts) > 2 and reason in ("keyCompromise", "CACompromise") else "-"
    status = "hold" if reason == "certificateHold" else "revoked"
    print("\t".join([sys.argv[2], serial, status, t(exp), t(parts[0]), reason, inv]))
PYEOF
}

S=$T/store
"$V" -s "$S" init >/dev/null 2>&1 || fail "init"
"$V" -s "$S" ca add tca "$C/tca.pem" || fail "ca add"
"$V" -s "$S" import tca --index "$IDX" >"$T/imp1.out" || fail "import"
expect_grep "16 entries: 16 added, 0 updated, 0 unchanged" "$T/imp1.out" "first import adds every entry"

# Entry by entry: vactl list vs the independent reading.
expected_list "$IDX" tca | sort >"$T/list.expected"
"$V" -s "$S" list tca | sort >"$T/list.got"
diff -u "$T/list.expected" "$T/list.got" || fail "vactl list differs from index.txt"
expect_eq 16 "$(wc -l <"$T/list.got")" "list has every entry"
while IFS=$'\t' read -r _l serial status _rest; do
	got=$("$V" -s "$S" status tca "$serial" | cut -f3)
	[ "$got" = "$status" ] || fail "status of $serial: expected $status, got $got"
done <"$T/list.expected"
ok "vactl status agrees with index.txt for every serial"
expect_eq 2 "$(grep -c "	hold	" "$T/list.got")" "both hold styles (certificateHold, holdInstruction) are holds"
grep -q "^tca	$s_ktime	revoked	.*	keyCompromise	2024-03-01T12:00:00Z$" "$T/list.got" ||
	fail "keyTime compromise time not kept as invalidity date"
grep -q "^tca	$s_catime	revoked	.*	CACompromise	2024-03-02T13:04:05Z$" "$T/list.got" ||
	fail "CAkeyTime compromise time not kept as invalidity date"
ok "compromise times kept as invalidity dates"

# Filters.
expect_eq 2 "$("$V" -s "$S" list tca --status hold | wc -l)" "list --status hold"
expect_eq 5 "$("$V" -s "$S" list --status good | wc -l)" "list --status good (with the expired one)"
expect_eq 9 "$("$V" -s "$S" list tca --status revoked | wc -l)" "list --status revoked"

# Export vs the original lines: status, expiry, serial identical; the revocation field in the form OpenSSL
# reads back (holdInstruction's OID is not kept; an explicit "unspecified" is written as a bare date).
"$V" -s "$S" export tca >"$T/export.txt" 2>/dev/null || fail "export"
norm() {
	awk -F'\t' 'BEGIN { OFS = "\t" } {
		n = split($3, r, ",")
		if (r[2] == "holdInstruction") $3 = r[1] ",certificateHold"
		if (r[2] == "unspecified") $3 = r[1]
		print $1, $2, $3, $4 }' "$1" | sort
}
diff -u <(norm "$IDX") <(norm "$T/export.txt") || fail "export differs from index.txt"
ok "export matches index.txt entry by entry"

# openssl ca reads the export back: the CRL it makes from it lists the same revocations as from the original.
crl_entries() { # index -> revoked entries of the CRL `openssl ca -gencrl` makes from it
	cp "$1" "$C/tca/index.txt"
	vca_ca "$C" tca -gencrl -out "$T/crl.pem" >/dev/null 2>&1 || fail "openssl ca -gencrl on $1"
	# One line per entry: serial, date, reason, invalidity. The hold instruction OID is not kept by the store,
	# and reason "unspecified" is left out of the export's CRL as RFC 5280 5.3.1 asks: both are dropped here.
	openssl crl -in "$T/crl.pem" -noout -text | sed -n '/Revoked Certificates/,/Signature Algorithm/p' |
		awk '/Serial Number:/ { if (s != "") print s, d, r, i; s = $3; d = ""; r = "-"; i = "-"; next }
		     /Revocation Date:/ { sub(/.*Date: /, ""); d = $0; next }
		     /CRL Reason Code/ { getline; gsub(/ /, ""); r = ($0 == "Unspecified") ? "-" : $0; next }
		     /Invalidity Date/ { getline; gsub(/^ +/, ""); i = $0; next }
		     END { if (s != "") print s, d, r, i }'
}
cp "$IDX" "$T/index.orig"
crl_entries "$T/index.orig" >"$T/crl.orig"
crl_entries "$T/export.txt" >"$T/crl.export"
cp "$T/index.orig" "$IDX"
grep -q "Mar  1 12:00:00 2024 GMT$" "$T/crl.orig" || fail "original CRL lacks the invalidity date"
grep -q " KeyCompromise " "$T/crl.orig" || fail "original CRL lacks reasons"
expect_eq 11 "$(wc -l <"$T/crl.orig")" "original CRL has 11 revoked entries"
diff -u "$T/crl.orig" "$T/crl.export" || fail "CRL from the export differs"
head -3 "$T/crl.orig"
ok "openssl ca -gencrl: same revoked entries from the export as from the original"

# Re-import: a no-op, and nothing is written to the change log.
changes_before=$("$V" -s "$S" stats | awk '$1 == "changes" { print $2 }')
"$V" -s "$S" import tca --index "$IDX" >"$T/imp2.out" 2>"$T/imp2.err" || fail "re-import"
expect_grep "16 entries: 0 added, 0 updated, 16 unchanged" "$T/imp2.out" "re-import changes nothing"
expect_grep "nothing to do" "$T/imp2.err" "re-import says so"
expect_eq "$changes_before" "$("$V" -s "$S" stats | awk '$1 == "changes" { print $2 }')" "no change logged"

# A later revocation by openssl ca comes in as exactly one update.
vca_revoke "$C" tca "$s_later" -crl_reason superseded
"$V" -s "$S" import tca --index "$IDX" >"$T/imp3.out" || fail "import after revoke"
expect_grep "16 entries: 0 added, 1 updated, 15 unchanged" "$T/imp3.out" "later revocation is one update"
"$V" -s "$S" status tca "$s_later" | grep -q "	revoked	.*	superseded	-$" || fail "later revocation not applied"
ok "later revocation applied"
expect_eq "$((changes_before + 1))" "$("$V" -s "$S" stats | awk '$1 == "changes" { print $2 }')" \
	"one change logged"

# A revocation made with vactl is never undone by re-importing an index that still says V.
"$V" -s "$S" revoke tca "$s_good2" --reason superseded 2>/dev/null || fail "vactl revoke"
"$V" -s "$S" import tca --index "$IDX" >"$T/imp6.out" 2>"$T/imp6.err" || fail "import over a vactl revocation"
expect_grep "0 added, 0 updated, 15 unchanged, 1 kept" "$T/imp6.out" "index cannot un-revoke"
expect_grep "serial $s_good2 is revoked in the store but valid in the index: kept revoked" "$T/imp6.err" \
	"kept-revoked warning"
expect_eq revoked "$("$V" -s "$S" status tca "$s_good2" | cut -f3)" "still revoked"
# Nor does it lift a hold placed with vactl (only `vactl release` does).
"$V" -s "$S" hold tca "$s_good" 2>/dev/null || fail "vactl hold"
"$V" -s "$S" import tca --index "$IDX" >"$T/imp7.out" 2>"$T/imp7.err" || fail "import over a vactl hold"
expect_grep "0 added, 0 updated, 14 unchanged, 2 kept" "$T/imp7.out" "index cannot lift a hold"
expect_grep "serial $s_good is on hold in the store but valid in the index: kept on hold" "$T/imp7.err" \
	"kept-on-hold warning"
"$V" -s "$S" release tca "$s_good" 2>/dev/null || fail "vactl release"

# An index that changes a revocation: to keyCompromise is applied (RFC 5280 5.3.1), the revocation date kept;
# another date alone is not (the store's revocation stands, with a warning).
sup_line=$(grep "	$s_sup	" "$IDX")
sup_date=$(cut -f3 <<<"$sup_line" | cut -d, -f1)
ces_line=$(grep "	$s_ces	" "$IDX")
awk -F'\t' -v OFS='\t' -v a="$s_sup" -v b="$s_ces" '
	$4 == a { split($3, r, ","); $3 = r[1] ",keyCompromise" }
	$4 == b { $3 = "200101000000Z,cessationOfOperation" }
	{ print }' "$IDX" >"$T/changed.txt"
"$V" -s "$S" import tca --index "$T/changed.txt" >"$T/imp8.out" 2>"$T/imp8.err" || fail "import of changed index"
expect_grep "1 updated, 13 unchanged, 2 kept" "$T/imp8.out" "reason change applied, date change kept"
expect_grep "serial $s_ces is revoked in the store with another date or reason" "$T/imp8.err" "date change warned"
expect_eq "revoked keyCompromise" "$("$V" -s "$S" status tca "$s_sup" | cut -f3,6 | tr '\t' ' ')" \
	"superseded became keyCompromise"
"$V" -s "$S" export tca 2>/dev/null | grep -q "	$sup_date,keyCompromise	$s_sup	" ||
	fail "revocation date of $s_sup changed"
ok "revocation date kept"
expect_eq "cessationOfOperation" "$("$V" -s "$S" status tca "$s_ces" | cut -f6)" "other revocation untouched"
[ "$(grep "	$s_ces	" <("$V" -s "$S" export tca 2>/dev/null) | cut -f3)" = "$(cut -f3 <<<"$ces_line")" ] ||
	fail "revocation date of $s_ces changed"
ok "revocation date not rewritten"

# The certificates themselves (PEM files written by openssl ca): same serials and notAfter, nothing changes.
"$V" -s "$S" import tca "$C/tca/certs" >"$T/imp4.out" || fail "certificate import"
expect_grep "16 entries: 0 added, 0 updated, 16 unchanged" "$T/imp4.out" "certificate files agree with index"
expect_eq revoked "$("$V" -s "$S" status tca "$s_good2" | cut -f3)" "certificate import keeps the revocation"
# DER input too.
openssl x509 -in "$C/tca/certs/$s_good.pem" -outform DER -out "$T/good.der"
"$V" -s "$S" import tca "$T/good.der" >"$T/imp5.out" || fail "DER import"
expect_grep "1 entries: 0 added, 0 updated, 1 unchanged" "$T/imp5.out" "DER certificate import"

# The export imports into a fresh store with the same content.
S2=$T/store2
"$V" -s "$S2" init >/dev/null 2>&1 && "$V" -s "$S2" ca add tca "$C/tca.pem" >/dev/null 2>&1 || fail "store2"
"$V" -s "$S" export tca >"$T/export2.txt" 2>/dev/null || fail "export 2"
"$V" -s "$S2" import tca --index "$T/export2.txt" >/dev/null || fail "import of the export"
diff -u <("$V" -s "$S" list tca) <("$V" -s "$S2" list tca) || fail "export round trip differs"
ok "export -> import round trip"
"$V" -s "$S" check 2>/dev/null || fail "check"
ok "check passes"
done_ok
