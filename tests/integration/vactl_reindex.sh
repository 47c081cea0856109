#!/usr/bin/env bash
# `vactl reindex`: the repair of a revoked index that `vactl check` finds damaged. Copies of one store are damaged
# behind its back (rebuilt from mdb_dump output with the index edited, since mdb_load cannot delete, or
# overwritten with mdb_load), each the way check reports: entries missing, listed for good certificates or
# differing from their records; an entry that does not decode; the whole database gone. crlgen then publishes
# wrong entries or nothing; after `vactl reindex` check passes and crlgen publishes exactly the entries it
# published before the damage. A damaged certificate record is refused (the index is left as it was). Readers
# (`vactl list` processes) running through repeated rebuilds always see the whole index.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/vactl_lib.bash"

command -v mdb_dump >/dev/null && command -v mdb_load >/dev/null || fail "mdb_dump/mdb_load missing (lmdb-utils)"
V="$BIN/vactl"
vca_init "$T/ca" tca
S=$T/store
"$V" -q -s "$S" init && "$V" -q -s "$S" ca add tca "$T/ca/tca.pem" || fail "setup"
# 2000 certificates from 0x100000: one in 40 revoked (reasons and dates varying), one in 61 on hold.
vindex_mixed "$T/index.txt" 2000 40 61
"$V" -q -s "$S" import tca --index "$T/index.txt" || fail "import"
"$V" -q -s "$S" list tca --status revoked >"$T/rev.want" && "$V" -q -s "$S" list tca --status hold >"$T/hold.want" ||
	fail "list"
nwant=$(($(wc -l <"$T/rev.want") + $(wc -l <"$T/hold.want")))
[ "$nwant" -gt 60 ] || fail "expected revoked and held certificates, have $nwant"

# The CRL's entries (serials, dates, reasons): what a damaged index changes. The number and the times differ
# from one publication to the next by design.
crl_once() { # DIR STORE OUT: publishes once, writes the entries to OUT; fails like crlgen
	vcrl_conf "$1" "$2" tca
	rm -f "$1/crl/tca.crl"
	"$BIN/crlgen" -c "$1/va.conf" --once 2>"$1/crlgen.err" || return 1
	vcrl_entries "$1/crl/tca.crl" >"$3"
}
crl_once "$T/c0" "$S" "$T/crl.want" || { cat "$T/c0/crlgen.err" >&2; fail "crlgen on the sound store"; }
expect_eq "$nwant" "$(grep -c 'Serial Number' "$T/crl.want")" "the CRL lists every revoked and held certificate"

for db in issuers certs changes meta revoked; do
	mdb_dump -s "$db" "$S" >"$T/$db.dump" || fail "mdb_dump $db"
done
# copy DIR [EDIT...]: a copy of the store with its revoked index edited: del:SERIAL drops an entry, copy:A:B gives
# A's entry B's record, add:SERIAL lists SERIAL with its own record from certs, drop leaves the database out.
copy() {
	local dir=$1; shift
	mkdir -p "$dir"
	$PY - "$T" "$@" <<'PYEOF' || fail "editing the index dump"
import sys
t, edits = sys.argv[1], sys.argv[2:]
def load(name):
    lines = open("%s/%s.dump" % (t, name)).read().split("\n")
    h = lines.index("HEADER=END")
    e = lines.index("DATA=END")
    body = lines[h + 1:e]
    return lines[:h + 1], dict(zip(body[0::2], body[1::2]))
key = lambda serial: " 0000000183" + serial.lower()
_, certs = load("certs")
head, idx = load("revoked")
for ed in edits:
    op, _, arg = ed.partition(":")
    if op == "del":
        del idx[key(arg)]
    elif op == "copy":
        a, b = arg.split(":")
        assert key(a) in idx and key(b) in idx
        idx[key(a)] = idx[key(b)]
    elif op == "add":
        assert key(arg) not in idx
        idx[key(arg)] = certs[key(arg)]
    elif op != "drop":
        sys.exit("unknown edit " + ed)
if "drop" in edits:
    open(t + "/revoked.edit", "w").write("")
else:
    open(t + "/revoked.edit", "w").write("\n".join(head + [x for k in sorted(idx) for x in (k, idx[k])] + ["DATA=END", ""]))
PYEOF
	for db in issuers certs changes meta; do
		mdb_load -s "$db" -f "$T/$db.dump" "$dir" 2>"$T/load.err" || { cat "$T/load.err" >&2; fail "mdb_load $db"; }
	done
	if [ -s "$T/revoked.edit" ]; then
		mdb_load -s revoked -f "$T/revoked.edit" "$dir" 2>"$T/load.err" || { cat "$T/load.err" >&2; fail "mdb_load revoked"; }
	fi
}
repair() { # STORE WHAT: check fails, reindex repairs, check passes, lists and CRL entries as before the damage
	local rc=0
	"$V" -s "$1" check 2>"$T/check.err" || rc=$?
	expect_eq 1 "$rc" "$2: check fails"
	"$V" -s "$1" reindex 2>"$T/reindex.err" || { cat "$T/reindex.err" >&2; fail "$2: reindex"; }
	expect_grep "revoked index rebuilt from the certificates: $(wc -l <"$T/rev.want") revoked, $(wc -l <"$T/hold.want") on hold" \
		"$T/reindex.err" "$2: reindex says what it rebuilt"
	expect_grep "consistent" "$T/reindex.err" "$2: reindex checks the store again"
	"$V" -s "$1" check 2>"$T/check2.err" || { cat "$T/check2.err" >&2; fail "$2: check after the repair"; }
	"$V" -q -s "$1" list tca --status revoked >"$T/rev.got" && "$V" -q -s "$1" list tca --status hold >"$T/hold.got" ||
		fail "$2: list after the repair"
	cmp -s "$T/rev.want" "$T/rev.got" && cmp -s "$T/hold.want" "$T/hold.got" || fail "$2: lists differ after the repair"
	crl_once "$T/c-$2" "$1" "$T/crl.got" || { cat "$T/c-$2/crlgen.err" >&2; fail "$2: crlgen after the repair"; }
	cmp -s "$T/crl.want" "$T/crl.got" || { diff "$T/crl.want" "$T/crl.got" | head >&2; fail "$2: CRL entries differ"; }
	ok "$2: repaired, the CRL lists what it listed before the damage"
}

# Entries missing (0x10002F revoked, 0x100040 held), differing (0x100057 holds 0x100007's record: another
# date and reason), listed for a good certificate (0x100000): check names each; the CRL is wrong.
copy "$T/a" del:10002F del:100040 copy:100057:100007 add:100000
"$V" -s "$T/a" check 2>"$T/a.check" && fail "check passes a damaged index"
expect_grep 'certificate 1/10002F is revoked but not in the revoked index' "$T/a.check" "a missing entry named"
expect_grep 'certificate 1/100040 is hold but not in the revoked index' "$T/a.check" "a missing hold named"
expect_grep 'certificate 1/100057: its revoked index entry differs from its record' "$T/a.check" "a differing entry named"
expect_grep 'certificate 1/100000 is good but in the revoked index' "$T/a.check" "a good certificate listed, named"
expect_grep '4 revoked index problem\(s\).*`vactl reindex`' "$T/a.check" "check names the repair"
crl_once "$T/c-a0" "$T/a" "$T/crl.bad" || { cat "$T/c-a0/crlgen.err" >&2; fail "crlgen on the damaged index"; }
expect_eq "$((nwant - 2))" "$(grep -c 'Serial Number' "$T/crl.bad")" "the damaged index leaves two entries off the CRL"
cmp -s "$T/crl.want" "$T/crl.bad" && fail "the CRL of the damaged index is right: the damage is not what this test needs"
repair "$T/a" entries

# An entry that does not decode: crlgen refuses to publish from it.
copy "$T/b"
printf 'VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n 0000000183100057\n 00\nDATA=END\n' >"$T/bad.dump"
mdb_load -s revoked -f "$T/bad.dump" "$T/b" 2>"$T/load.err" || { cat "$T/load.err" >&2; fail "mdb_load bad entry"; }
crl_once "$T/c-b0" "$T/b" "$T/crl.bad" && fail "crlgen published from an undecodable index entry"
repair "$T/b" undecodable

# The database gone: nothing opens the store (an empty index would publish an empty CRL), check says how to
# repair it.
copy "$T/c" drop
"$V" -s "$T/c" check 2>"$T/c.check" && fail "check opens a store without its index"
expect_grep "database 'revoked' missing.*vactl reindex" "$T/c.check" "check names the repair of a missing index"
crl_once "$T/c-c0" "$T/c" "$T/crl.bad" && fail "crlgen published without the index"
repair "$T/c" missing

# A damaged certificate record: the index cannot be rebuilt without it; refused, the index left as it was.
copy "$T/d" del:10002F
printf 'VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n 0000000183100005\n 00\nDATA=END\n' >"$T/bad.dump"
mdb_load -s certs -f "$T/bad.dump" "$T/d" 2>"$T/load.err" || { cat "$T/load.err" >&2; fail "mdb_load bad record"; }
rc=0
"$V" -s "$T/d" reindex 2>"$T/d.err" || rc=$?
expect_eq 1 "$rc" "reindex refuses a store with a damaged certificate record"
expect_grep 'certificate 1/100005: damaged record' "$T/d.err" "reindex names the damaged record"
"$V" -s "$T/d" check 2>"$T/d.check" && fail "check passes after a refused reindex"
expect_grep 'certificate 1/10002F is revoked but not in the revoked index' "$T/d.check" "the index is as it was"

# Readers through rebuilds: `vactl list` processes (each one read transaction) running while the index is
# emptied and refilled ten times always list all of it.
: >"$T/reads"
(
	while [ ! -e "$T/stop" ]; do
		"$V" -q -s "$S" list tca --status revoked >"$T/rev.loop" || { echo fail >>"$T/reads"; break; }
		cmp -s "$T/rev.want" "$T/rev.loop" && echo ok >>"$T/reads" || { echo differ >>"$T/reads"; cp "$T/rev.loop" "$T/rev.bad"; }
	done
) &
reader=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do
	"$V" -q -s "$S" reindex || fail "reindex under readers"
done
touch "$T/stop"
wait "$reader"
grep -qv '^ok$' "$T/reads" && fail "a reader saw a partial index: $(grep -v '^ok$' "$T/reads" | sort | uniq -c)"
[ -s "$T/reads" ] || fail "the reader never ran"
ok "readers saw the whole index through 10 rebuilds ($(wc -l <"$T/reads") lists)"
"$V" -s "$S" check 2>/dev/null || fail "check after the rebuilds"
done_ok
