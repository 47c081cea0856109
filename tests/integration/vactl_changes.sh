#!/usr/bin/env bash
# vactl revoke / hold / release round trips, status, the change log with its actor, every bad input the brief
# names (malformed index line with its number and nothing applied, unknown reason, unknown issuer, serial or
# certificate of another issuer, bad times, usage errors with exit 2), ca add checks, backup then open the
# backup and check it, `vactl check`, and `-c FILE` / `-n`.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/vactl_lib.bash"

V="$BIN/vactl"
C=$T/ca
vca_init "$C" tca 1000
vca_init "$C" other 5000
a=$(vca_issue "$C" tca alice)
b=$(vca_issue "$C" tca bob)
c=$(vca_issue "$C" tca carol)
d=$(vca_issue "$C" tca dave)
o=$(vca_issue "$C" other oscar)
S=$T/store

# rc EXPECTED what cmd...: runs cmd, checks its exit status, keeps stderr in $T/err.
rc() {
	local want=$1 what=$2 got=0; shift 2
	"$@" >"$T/out" 2>"$T/err" || got=$?
	[ "$got" = "$want" ] || { cat "$T/err" >&2; fail "$what: exit $got, expected $want"; }
	ok "$what (exit $want)"
}
stat_field() { "$V" -s "$S" stats | awk -v k="$1" '$1 == k { print $2 }'; }

rc 0 "init" "$V" -s "$S" init
rc 0 "init again is a no-op" "$V" -s "$S" init
expect_grep "existing store" "$T/err" "init says the store exists"
rc 0 "ca add" "$V" -s "$S" ca add tca "$C/tca.pem"
rc 0 "ca add other" "$V" -s "$S" ca add other "$C/other.pem"
rc 0 "ca add of the same certificate again" "$V" -s "$S" ca add tca "$C/tca.pem"
expect_grep "already registered" "$T/err" "ca add again says so"
rc 1 "ca add: label taken by another CA" "$V" -s "$S" ca add tca "$C/other.pem"
expect_grep "already used by another certificate" "$T/err" "label conflict message"
rc 1 "ca add: not a CA" "$V" -s "$S" ca add leaf "$C/tca/certs/$a.pem"
expect_grep "not a CA certificate" "$T/err" "non-CA message"
rc 1 "ca add: bad label" "$V" -s "$S" ca add "bad label" "$C/tca.pem"
rc 1 "ca add: not a certificate" "$V" -s "$S" ca add x "$C/tca.cnf"
expect_grep "not a PEM or DER certificate" "$T/err" "non-certificate message"
rc 0 "ca list" "$V" -s "$S" ca list
expect_eq 2 "$(wc -l <"$T/out")" "ca list shows both"

# Certificate import: one certificate of another CA in the set rejects all of it.
cp -r "$C/tca/certs" "$T/mixed"
cp "$C/other/certs/$o.pem" "$T/mixed/zz-other.pem"
rc 1 "import of a set with another CA's certificate" "$V" -s "$S" import tca "$T/mixed"
expect_grep "zz-other.pem: certificate serial $o was not issued by 'tca'" "$T/err" "wrong-issuer message"
expect_grep "nothing imported" "$T/err" "nothing imported"
expect_eq 0 "$(stat_field certificates)" "no certificate applied"
rc 1 "import into an unknown label" "$V" -s "$S" import nosuch "$C/tca/certs"
expect_grep "unknown issuer label 'nosuch'" "$T/err" "unknown label message"
# Damaged certificate files: each refused with its name, nothing applied.
openssl x509 -in "$C/tca/certs/$a.pem" -outform DER -out "$T/a.der"
head -c 100 "$T/a.der" >"$T/trunc.der"
{ cat "$T/a.der"; printf 'x'; } >"$T/trail.der"
{ cat "$C/tca/certs/$a.pem"; sed '3s/^./#/' "$C/tca/certs/$b.pem"; } >"$T/damaged.pem"
printf -- '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n' >"$T/junk.pem"
: >"$T/empty.pem"
for f in trunc.der trail.der damaged.pem junk.pem empty.pem; do
	rc 1 "import of $f" "$V" -s "$S" import tca "$T/a.der" "$T/$f"
	expect_grep "$f: not a" "$T/err" "$f named"
done
expect_eq 0 "$(stat_field certificates)" "nothing of a damaged set applied"
rc 1 "import of a directory without certificates" "$V" -s "$S" import tca "$T/etc-none"
mkdir -p "$T/emptydir"
rc 1 "import of an empty directory" "$V" -s "$S" import tca "$T/emptydir"
expect_grep "no certificate files" "$T/err" "empty directory message"
rc 0 "import tca certificates" "$V" -s "$S" import tca "$C/tca/certs"
expect_grep "4 entries: 4 added" "$T/out" "4 added"
rc 0 "import other certificate" "$V" -s "$S" import other "$C/other/certs/$o.pem"

# Malformed index lines: each reported with its line number; nothing of the file applied.
printf 'V\t301231235959Z\t\t77\tunknown\t/CN=x\nV\t301231235959Z\t\t78\tunknown\t/CN=y\n' >"$T/bad.txt"
printf 'R\t301231235959Z\t20261301000000Z\t79\tunknown\t/CN=z\n' >>"$T/bad.txt"
printf 'R\t301231235959Z\t261101000000Z,stolen\t7A\tunknown\t/CN=z\n' >>"$T/bad.txt"
printf 'V\t301231235959Z\t\t77\tunknown\t/CN=dup\n' >>"$T/bad.txt"
rc 1 "import of a malformed index" "$V" -s "$S" import tca --index "$T/bad.txt"
expect_grep "bad.txt:3: bad revocation date" "$T/err" "line 3 reported"
expect_grep "bad.txt:4: unknown revocation reason" "$T/err" "line 4 reported"
rc 1 "status of a serial from the good lines of the bad file" "$V" -s "$S" status tca 77
expect_eq 5 "$(stat_field certificates)" "nothing of the malformed index applied"
head -2 "$T/bad.txt" >"$T/dup.txt"
tail -1 "$T/bad.txt" >>"$T/dup.txt"
rc 1 "import of an index with a duplicate serial" "$V" -s "$S" import tca --index "$T/dup.txt"
expect_grep "dup.txt:3: serial 77 already on line 1" "$T/err" "duplicate reported with both lines"
rc 1 "import of a missing index" "$V" -s "$S" import tca --index "$T/nosuch.txt"

# Revoke with reason, time and invalidity date (ISO 8601 and GeneralizedTime).
rc 0 "revoke" "$V" -s "$S" revoke tca "$a" --reason keyCompromise --time 2026-01-02T03:04:05Z \
	--invalidity 20260101000000Z
rc 0 "status after revoke" "$V" -s "$S" status tca "$a"
expect_eq "tca	$a	revoked	$(cut -f4 "$T/out")	2026-01-02T03:04:05Z	keyCompromise	2026-01-01T00:00:00Z" \
	"$(cat "$T/out")" "revocation recorded with time, reason, invalidity"
n=$(stat_field changes)
rc 0 "revoke again" "$V" -s "$S" revoke tca "$a" --reason keyCompromise
expect_grep "already revoked" "$T/err" "revoke again says so"
expect_eq "$n" "$(stat_field changes)" "revoke again logs nothing"
rc 1 "release of a revoked certificate" "$V" -s "$S" release tca "$a"
expect_grep "not on hold" "$T/err" "release message"
rc 1 "hold of a revoked certificate" "$V" -s "$S" hold tca "$a"

# Hold and release round trip, by serial and by certificate file.
rc 0 "hold by certificate" "$V" -s "$S" hold tca --cert "$C/tca/certs/$b.pem" --time 2026-02-03
rc 0 "status on hold" "$V" -s "$S" status tca "$b"
expect_eq "hold	2026-02-03T00:00:00Z	certificateHold" "$(cut -f3,5,6 "$T/out")" "hold recorded"
rc 0 "release" "$V" -s "$S" release tca "0x${b}"
rc 0 "status after release" "$V" -s "$S" status tca "$b"
expect_eq "good	-	-	-" "$(cut -f3,5-7 "$T/out")" "released to good"
rc 1 "release again" "$V" -s "$S" release tca "$b"
rc 0 "revoke --reason certificateHold is a hold" "$V" -s "$S" revoke tca "$c" --reason certificateHold
expect_eq hold "$("$V" -s "$S" status tca "$c" | cut -f3)" "certificateHold gives a hold"
rc 0 "revoke while on hold" "$V" -s "$S" revoke tca "$c" --reason superseded
expect_eq "revoked superseded" "$("$V" -s "$S" status tca "$c" | cut -f3,6 | tr '\t' ' ')" "hold -> revoked"

# The change log records what, when and who.
me=$(id -un)
[ "$(id -u)" = 0 ] && [ -n "${SUDO_USER:-}" ] && me="sudo:$SUDO_USER"
rc 0 "changes" "$V" -s "$S" changes --since "$n"
expect_eq "hold release hold revoke" "$(cut -f3 "$T/out" | tr '\n' ' ' | sed 's/ $//')" "change log ops"
expect_eq "$me" "$(cut -f7 "$T/out" | sort -u)" "change log actor is the OS user"
expect_eq "tca $b" "$(head -1 "$T/out" | cut -f4,5 | tr '\t' ' ')" "change log names issuer and serial"

# Bad input to revoke/hold/release/status.
rc 1 "unknown reason" "$V" -s "$S" revoke tca "$d" --reason stolen
expect_grep "unknown reason 'stolen'" "$T/err" "unknown reason message"
rc 1 "removeFromCRL is not a revocation" "$V" -s "$S" revoke tca "$d" --reason removeFromCRL
rc 1 "unknown issuer" "$V" -s "$S" revoke nosuch "$d"
expect_grep "unknown issuer label 'nosuch'" "$T/err" "unknown issuer message"
rc 1 "serial of another issuer" "$V" -s "$S" revoke tca "$o"
expect_grep "serial $o was not issued by 'tca' \(the store has it under 'other'\)" "$T/err" \
	"wrong-issuer serial message"
rc 1 "certificate of another issuer" "$V" -s "$S" revoke tca --cert "$C/other/certs/$o.pem"
expect_grep "not issued by 'tca'" "$T/err" "wrong-issuer certificate message"
rc 1 "unknown serial" "$V" -s "$S" revoke tca 0BADBEEF
expect_grep "not in the store" "$T/err" "unknown serial message"
rc 1 "bad serial" "$V" -s "$S" revoke tca xyz
rc 1 "bad time" "$V" -s "$S" revoke tca "$d" --time yesterday
rc 1 "time with a local offset" "$V" -s "$S" revoke tca "$d" --time 2026-01-01T00:00:00+02:00
rc 1 "time in the future" "$V" -s "$S" revoke tca "$d" --time 2099-01-01
rc 1 "invalidity after the revocation" "$V" -s "$S" revoke tca "$d" --time 2026-01-01 --invalidity 2026-01-02
rc 1 "status of an unknown serial" "$V" -s "$S" status tca 0BADBEEF
expect_eq good "$("$V" -s "$S" status tca "$d" | cut -f3)" "nothing happened to $d"

# Usage errors: exit 2.
rc 2 "no command" "$V" -s "$S"
rc 2 "unknown command" "$V" -s "$S" frobnicate
rc 2 "no store" "$V" list
rc 2 "both -c and -s" "$V" -s "$S" -c "$T/x.conf" list
rc 2 "serial and --cert together" "$V" -s "$S" revoke tca "$d" --cert "$C/tca/certs/$d.pem"
rc 2 "revoke without serial" "$V" -s "$S" revoke tca
rc 2 "bad list filter" "$V" -s "$S" list --status maybe
rc 2 "hold takes no reason" "$V" -s "$S" hold tca "$d" --reason superseded
rc 2 "import without files" "$V" -s "$S" import tca
rc 0 "help" "$V" help
expect_grep "import LABEL --index index.txt" "$T/out" "help lists the commands"
rc 1 "missing store" "$V" -s "$T/nostore" list
expect_grep "vactl init" "$T/err" "missing store hints at init"

# Backup: a consistent copy that opens and checks; not into a non-empty directory.
rc 0 "backup" "$V" -s "$S" backup "$T/bk"
expect_grep "check passed" "$T/err" "backup checked"
diff <("$V" -s "$S" list) <("$V" -s "$T/bk" list) || fail "backup content differs"
ok "backup lists the same entries"
diff <("$V" -s "$S" changes) <("$V" -s "$T/bk" changes) || fail "backup change log differs"
ok "backup has the same change log"
rc 0 "check of the backup" "$V" -s "$T/bk" check
rc 1 "backup into a non-empty directory" "$V" -s "$S" backup "$T/bk"
rc 0 "check" "$V" -s "$S" check
expect_grep "consistent" "$T/err" "check says consistent"

# -c FILE: store.path relative to the file's directory; -n checks the file.
mkdir -p "$T/etc"
cat >"$T/etc/va.conf" <<CONF
log = { level = "info"; syslog = false; };
store = { path = "../store"; map_size_mb = 64; };
signers = ( { name = "quick"; type = "file"; key = "q.key"; cert = "q.pem"; } );
CONF
rc 0 "-n on a good file" "$V" -c "$T/etc/va.conf" -n
rc 0 "-c FILE finds the store" "$V" -c "$T/etc/va.conf" status tca "$a"
expect_grep "revoked" "$T/out" "same store through the config"
sed 's/map_size_mb/map_size_megs/' "$T/etc/va.conf" >"$T/etc/bad.conf"
rc 1 "-n on a file with an unknown key" "$V" -c "$T/etc/bad.conf" -n
expect_grep "bad.conf:2" "$T/err" "-n names file and line"
printf 'store = { path = "x" \n' >"$T/etc/syntax.conf"
rc 1 "-n on a file with a syntax error" "$V" -c "$T/etc/syntax.conf" -n
printf 'store = { path = "x"; };\nstroe = 1;\n' >"$T/etc/top.conf"
rc 1 "-n on an unknown top-level key" "$V" -c "$T/etc/top.conf" -n
expect_grep "stroe" "$T/err" "-n names the unknown top-level key"
rc 1 "command with a bad config" "$V" -c "$T/etc/bad.conf" list
# A service section is checked by that service's own -n, run from vactl's directory.
cp "$T/etc/va.conf" "$T/etc/svc.conf"
echo 'ocspd = { no_such_ocspd_key = 1; };' >>"$T/etc/svc.conf"
if [ -x "$BIN/ocspd" ]; then
	rc 1 "-n on a bad ocspd section" "$V" -c "$T/etc/svc.conf" -n
	expect_grep "no_such_ocspd_key" "$T/err" "-n reports the service's problem"
	expect_grep "section ocspd has problems" "$T/err" "-n names the section"
else
	rc 0 "-n without ocspd built" "$V" -c "$T/etc/svc.conf" -n
	expect_grep "section ocspd not checked" "$T/err" "-n says the section was not checked"
fi
done_ok
