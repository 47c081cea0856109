#!/usr/bin/env bash
# A store written before the revoked index (schema 1, rebuilt here from a current one with mdb_dump/mdb_load
# without the `revoked` database): read-only vactl commands read it as it is (list through the full walk, check
# says the index was not checked, stats gives the figures it gives through the index); `vactl init` upgrades it
# in place; crlgen, opening it read-write, upgrades it too and publishes the same entries as from the original
# store. Then `vactl check` catches an index changed behind the store's back (an entry for a good certificate,
# loaded with mdb_load).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/vactl_lib.bash"

command -v mdb_dump >/dev/null && command -v mdb_load >/dev/null || fail "mdb_dump/mdb_load missing (lmdb-utils)"
V="$BIN/vactl"
vca_init "$T/ca" tca
S=$T/store
"$V" -q -s "$S" init && "$V" -q -s "$S" ca add tca "$T/ca/tca.pem" || fail "setup"
# 3000 certificates from 0x100000: one in 50 revoked (reasons in turn, some with an invalidity date), one in 77
# on hold, the rest good.
vindex_mixed "$T/index.txt" 3000 50 77
"$V" -q -s "$S" import tca --index "$T/index.txt" || fail "import"
"$V" -q -s "$S" list tca --status revoked >"$T/rev.want" && "$V" -q -s "$S" list tca --status hold >"$T/hold.want" ||
	fail "list"
nrev=$(wc -l <"$T/rev.want")
nhold=$(wc -l <"$T/hold.want")
[ "$nrev" -eq 60 ] && [ "$nhold" -gt 30 ] || fail "expected 60 revoked and some held, have $nrev and $nhold"

# The schema 1 layout: the four databases it had, and version 1 (meta "schema" = 01000000, LE).
mkold() { # DIR
	mkdir -p "$1"
	for db in issuers certs changes meta; do
		mdb_dump -s "$db" "$S" >"$T/$db.dump" || fail "mdb_dump $db"
	done
	$PY - "$T/meta.dump" <<'PYEOF' || fail "schema edit"
import sys
lines = open(sys.argv[1]).read().split("\n")
key = " " + b"schema".hex()
i = lines.index(key)
assert lines[i + 1] == " 02000000", lines[i + 1]
lines[i + 1] = " 01000000"
open(sys.argv[1], "w").write("\n".join(lines))
PYEOF
	for db in issuers certs changes meta; do
		# (mdb_load 0.9.24 notes the db_pagesize header line of mdb_dump's output and ignores it.)
		mdb_load -s "$db" -f "$T/$db.dump" "$1" 2>"$T/load.err" || { cat "$T/load.err" >&2; fail "mdb_load $db"; }
	done
}
O=$T/old
mkold "$O"
mdb_dump -s revoked "$O" >/dev/null 2>&1 && fail "the old layout has a revoked database"

# Read-only commands on it: same answers, a warning that says how to upgrade, nothing written.
"$V" -s "$O" list tca --status revoked >"$T/rev.old" 2>"$T/list.err" || fail "list on the old store"
cmp -s "$T/rev.want" "$T/rev.old" || fail "list --status revoked differs on the old store"
expect_grep 'schema 1 \(no revoked index\).*vactl init' "$T/list.err" "read-only open warns and names the fix"
"$V" -s "$O" check 2>"$T/check.err" || { cat "$T/check.err" >&2; fail "check on the old store"; }
expect_grep 'no revoked index.*not checked' "$T/check.err" "check says the index was not checked"
mdb_dump -s revoked "$O" >/dev/null 2>&1 && fail "a read-only command wrote the index"
# `vactl stats` counts from the index (revoked and held; good = the rest) and, without one, from every record:
# the same figures, and those of the lists.
"$V" -q -s "$S" stats | sed -n '/^issuers/,/^last_change/p' >"$T/stats.new" || fail "stats"
"$V" -q -s "$O" stats 2>/dev/null | sed -n '/^issuers/,/^last_change/p' >"$T/stats.old" || fail "stats on the old store"
cmp -s "$T/stats.new" "$T/stats.old" || { diff "$T/stats.old" "$T/stats.new" >&2; fail "stats differ with and without the index"; }
expect_eq "$nrev" "$(sed -n 's/^revoked\t//p' "$T/stats.new")" "stats: revoked as listed"
expect_eq "$nhold" "$(sed -n 's/^hold\t//p' "$T/stats.new")" "stats: held as listed"
expect_eq "$("$V" -q -s "$S" list tca --status good | wc -l)" "$(sed -n 's/^good\t//p' "$T/stats.new")" "stats: good as listed"
expect_eq 3000 "$(sed -n 's/^certificates\t//p' "$T/stats.new")" "stats: every certificate"
ok "schema 1 store read as it is"

# `vactl init` upgrades it: the index lists exactly the revoked and held certificates.
cp -a "$O" "$T/old2"
"$V" -s "$O" init 2>"$T/init.err" || fail "init on the old store"
expect_grep "upgraded from schema 1 to 2: revoked index built \\($((nrev + nhold)) entries\\)" "$T/init.err" \
	"init upgrades, counting the entries"
"$V" -s "$O" check 2>"$T/check2.err" || { cat "$T/check2.err" >&2; fail "check after the upgrade"; }
grep -q 'not checked' "$T/check2.err" && fail "check after the upgrade still without the index"
"$V" -q -s "$O" list tca --status revoked >"$T/rev.up" && "$V" -q -s "$O" list tca --status hold >"$T/hold.up" ||
	fail "list after the upgrade"
cmp -s "$T/rev.want" "$T/rev.up" && cmp -s "$T/hold.want" "$T/hold.up" || fail "lists differ after the upgrade"
"$V" -s "$O" init 2>"$T/init2.err" || fail "init again"
grep -q upgraded "$T/init2.err" && fail "upgraded twice"
ok "vactl init upgrades once"

# crlgen opens the store read-write: it upgrades the second copy itself, and publishes the same entries as
# from the original store (both copies were taken before any CRL, so both are CRL number 1).
mkdir -p "$T/cnew" "$T/cold"
vcrl_conf "$T/cnew" "$S" tca
vcrl_conf "$T/cold" "$T/old2" tca
"$BIN/crlgen" -c "$T/cnew/va.conf" --once 2>"$T/cnew.err" || { cat "$T/cnew.err" >&2; fail "crlgen (current store)"; }
"$BIN/crlgen" -c "$T/cold/va.conf" --once 2>"$T/cold.err" || { cat "$T/cold.err" >&2; fail "crlgen (old store)"; }
expect_grep "upgraded from schema 1 to 2" "$T/cold.err" "crlgen upgrades the old store"
vcrl_entries "$T/cnew/crl/tca.crl" >"$T/crl.new"
vcrl_entries "$T/cold/crl/tca.crl" >"$T/crl.old"
expect_eq "$((nrev + nhold))" "$(grep -c 'Serial Number' "$T/crl.new")" "every revoked and held certificate listed"
cmp -s "$T/crl.new" "$T/crl.old" || fail "CRL entries differ between the original and the upgraded store"
ok "crlgen upgrades and lists the same entries"

# An index entry for a good certificate (issuer 1, serial 0x100000: key 00000001 83 100000), loaded behind the
# store's back: `vactl check` fails and names it.
mdb_dump -s revoked "$O" | sed -n '1,/^HEADER=END$/p' >"$T/tamper.dump"
printf ' 0000000183100000\n \nDATA=END\n' >>"$T/tamper.dump"
mdb_load -s revoked -f "$T/tamper.dump" "$O" 2>"$T/load.err" || { cat "$T/load.err" >&2; fail "mdb_load tamper"; }
rc=0
"$V" -s "$O" check 2>"$T/check3.err" || rc=$?
expect_eq 1 "$rc" "check fails on a tampered index"
expect_grep 'certificate 1/100000 is good but in the revoked index' "$T/check3.err" "check names the entry"
ok "vactl check catches a tampered index"
done_ok
