/*
 * store_revidx.c: the `revoked` index: one entry per revoked or held certificate, keyed as in `certs`, whose
 * value is the certificate's record, byte for byte.
 *
 * Why: a full CRL lists the revoked certificates of one issuer, and walking `certs` for them costs the whole
 * issuer (10^6 good certificates for a few hundred revoked ones, on every CRL). Why a copy of the record and not
 * an empty value with a lookup in `certs` per entry: measured with perf/bench_crl.sh, the lookups made a CRL of
 * 10^6 revoked certificates 1.7x slower than the plain walk, and revocations spread over the serials touched
 * every page of `certs` anyway (the build's RSS stayed at the size of the table). With the record in the index
 * a CRL reads the index only. The copy is written in the transaction that writes the record, from the same
 * encoded bytes (store_cert.c, cert_write), so the two cannot disagree after a crash; store_check compares
 * them byte for byte. Damage found there is repaired by rebuilding the index from `certs` (vactl reindex,
 * store_revidx_rebuild), with the code that builds it when a schema 1 store is upgraded.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_impl.h"

int store_revidx_set(store *st, MDB_txn *txn, const uint8_t *key, size_t klen, const uint8_t *val)
{
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key },
		v = { .mv_size = STORE_CERT_VAL_LEN, .mv_data = (void *)val };
	int rc;

	/* A writable handle always has its index (store_open upgrades an old store before returning it). */
	if (!st->has_revidx)
		return VA_ERR_SCHEMA;
	if (val != NULL)
		return store_lmdb_err(mdb_put(txn, st->db_revoked, &k, &v, 0), "writing the revoked index");
	rc = mdb_del(txn, st->db_revoked, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : store_lmdb_err(rc, "writing the revoked index");
}

/* "issuer/SERIAL" for a certs or index key, or a note that the key does not decode. */
static void key_name(const MDB_val *k, char *out, size_t outlen)
{
	struct store_serial s;
	char hex[2 * LIM_SERIAL_MAX + 2];
	int n = k->mv_size > 4 ? store_serial_key_decode((const uint8_t *)k->mv_data + 4, k->mv_size - 4, &s)
			       : VA_ERR_STORE;

	if (n < 0 || (size_t)n != k->mv_size - 4) {
		snprintf(out, outlen, "(malformed key of %zu octets)", k->mv_size);
		return;
	}
	store_serial_to_hex(&s, hex, sizeof(hex));
	snprintf(out, outlen, "%u/%s", (unsigned)store_get_be32(k->mv_data), hex);
}

/* The index from scratch inside txn: opened (created if missing), emptied, filled from `certs`. What both the
 * upgrade and a rebuild do: one copy of it, so that a repaired index is the one an upgrade would have built. */
static int revidx_fill(store *st, MDB_txn *txn, uint64_t *listed)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint8_t kb[STORE_CERT_KEY_MAX], vb[STORE_CERT_VAL_LEN];
	char name[64 + 2 * LIM_SERIAL_MAX];
	int rc, op;

	*listed = 0;
	if ((rc = store_lmdb_err(mdb_dbi_open(txn, "revoked", MDB_CREATE, &st->db_revoked), "opening the index")))
		return rc;
	/* Empty for an upgrade (the version is written in the same transaction); whatever damage was found, for a
	 * rebuild. Readers keep the pages of their snapshot: they see the old index until this commits. */
	if ((rc = store_lmdb_err(mdb_drop(txn, st->db_revoked, 0), "emptying the index")) != 0)
		return rc;
	if ((rc = store_lmdb_err(mdb_cursor_open(txn, st->db_certs, &cur), "cursor")) != 0)
		return rc;
	for (op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
		struct store_cert_rec rec;
		if (store_cert_rec_decode(v.mv_data, v.mv_size, &rec) != 0) {
			/* A CRL must not be built from an index that silently lacks a certificate: refuse, as a CRL build
			 * over the damaged record would. */
			key_name(&k, name, sizeof(name));
			log_err("store: building the revoked index: certificate %s: damaged record (%zu octets); run "
				"`vactl check`", name, v.mv_size);
			rc = VA_ERR_STORE;
			goto out;
		}
		if (rec.status == STORE_GOOD)
			continue;
		if (k.mv_size > sizeof(kb)) {
			log_err("store: building the revoked index: certificate key of %zu octets; run `vactl check`",
				k.mv_size);
			rc = VA_ERR_STORE;
			goto out;
		}
		/* What LMDB returned is valid until the next update: the put gets copies. */
		memcpy(kb, k.mv_data, k.mv_size);
		memcpy(vb, v.mv_data, sizeof(vb));
		MDB_val ik = { .mv_size = k.mv_size, .mv_data = kb }, iv = { .mv_size = sizeof(vb), .mv_data = vb };
		/* Keys come in order into an empty database: appending fills pages completely. */
		rc = store_lmdb_err(mdb_put(txn, st->db_revoked, &ik, &iv, MDB_APPEND), "filling the index");
		if (rc)
			goto out;
		(*listed)++;
	}
	rc = rc == MDB_NOTFOUND ? 0 : store_lmdb_err(rc, "walking certificates");
out:
	mdb_cursor_close(cur);
	return rc;
}

int store_revidx_open(store *st, MDB_txn *txn, unsigned flags, int missing_ok)
{
	int rc = mdb_dbi_open(txn, "revoked", flags, &st->db_revoked);

	if (rc == MDB_NOTFOUND && missing_ok)
		return 1;
	if (rc == MDB_NOTFOUND) {
		log_err("store: database 'revoked' missing in a store of schema %u; `vactl reindex` rebuilds it",
			(unsigned)STORE_SCHEMA_VERSION);
		return VA_ERR_SCHEMA;
	}
	return store_lmdb_err(rc, "opening the revoked index");
}

struct upgrade {
	uint64_t listed;
	int upgraded;
};

static int upgrade_txn(store *st, MDB_txn *txn, void *arg)
{
	struct upgrade *u = arg;
	uint32_t ver;
	int rc;

	u->listed = 0;
	u->upgraded = 0;
	if ((rc = store_schema_get(st, txn, &ver)) != 0)
		return rc == VA_ERR_NOTFOUND ? VA_ERR_SCHEMA : rc;
	if (ver == STORE_SCHEMA_VERSION) {
		/* Another process upgraded it since this one read the version. */
		return store_revidx_open(st, txn, 0, 0);
	}
	if (ver != STORE_SCHEMA_NO_REVIDX)
		return VA_ERR_SCHEMA;
	if ((rc = revidx_fill(st, txn, &u->listed)) != 0)
		return rc;
	rc = store_schema_put(st, txn, STORE_SCHEMA_VERSION);
	u->upgraded = rc == 0;
	return rc;
}

int store_revidx_upgrade(store *st)
{
	struct upgrade u = { 0 };
	int rc = store_write(st, upgrade_txn, &u);

	if (rc != 0) {
		log_err("store: upgrade to schema %u (revoked index) failed: %s", (unsigned)STORE_SCHEMA_VERSION,
			va_strerror(rc));
		return rc;
	}
	st->has_revidx = 1;
	/* A warning, not information: from now on programs built before the index refuse this store, which an
	 * operator running mixed versions must hear about (and vactl shows warnings by default). */
	if (u.upgraded)
		log_warn("store: upgraded from schema %u to %u: revoked index built (%llu entries); earlier versions "
			 "of the programs no longer open this store", (unsigned)STORE_SCHEMA_NO_REVIDX,
			 (unsigned)STORE_SCHEMA_VERSION, (unsigned long long)u.listed);
	return 0;
}

static int rebuild_txn(store *st, MDB_txn *txn, void *arg)
{
	uint32_t ver;
	int rc;

	/* store_open read the version in an earlier transaction; it can only have gone up since, and a version this
	 * program does not know is not one whose index it may write. */
	if ((rc = store_schema_get(st, txn, &ver)) != 0)
		return rc == VA_ERR_NOTFOUND ? VA_ERR_SCHEMA : rc;
	if (ver != STORE_SCHEMA_VERSION)
		return VA_ERR_SCHEMA;
	return revidx_fill(st, txn, arg);
}

int store_revidx_rebuild(store *st)
{
	uint64_t listed = 0;
	int rc = store_write(st, rebuild_txn, &listed);

	if (rc != 0) {
		log_err("store: rebuilding the revoked index failed (the index is as it was): %s", va_strerror(rc));
		return rc;
	}
	st->has_revidx = 1;
	log_info("store: revoked index rebuilt from the certificates (%llu entries)", (unsigned long long)listed);
	return 0;
}

/*
 * Ranged walks. Serial keys are (0x80 | len) || magnitude for zero and the positive serials, len || magnitude for
 * the negative ones (store.h), compared by LMDB as byte strings (memcmp, the shorter first on a tie). So in key
 * order the negative serials come first, by magnitude (-1, -2, ..., -0x100: numerically descending), then zero,
 * then the positive serials by length and value (numerically ascending). A numeric range [from, to) is
 * therefore at most two stretches of keys:
 *   negative serials -m with from <= -m < to, i.e. b < m <= a for from = -a (no bound when from is absent) and
 *     to = -b (no bound when to is absent or not negative): the keys after key(-b) up to key(-a) included;
 *   zero and positive serials v with from <= v < to: the keys from key(max(from, 0)) up to key(to) excluded.
 * "After k" is k || 00, the first byte string above k, and "k included" is "before k || 00", so each stretch is
 * half-open: [lo, hi).
 */
struct revidx_span {
	uint8_t lo[STORE_CERT_KEY_MAX + 1], hi[STORE_CERT_KEY_MAX + 1];
	size_t lolen, hilen; /* hilen 0: up to the end of the issuer's keys */
};

/* key(s), followed by 00 when after (the first key above key(s)); s NULL: the key of zero, where the negative
 * serials end. */
static size_t span_key(uint32_t issuer, const struct store_serial *s, int after, uint8_t *out)
{
	static const struct store_serial zero = { .len = 0 };
	size_t n = store_cert_key(issuer, s ? s : &zero, out);

	if (after)
		out[n++] = 0;
	return n;
}

/* The stretches of [from, to) in key order; returns how many (0 to 2). */
static int range_spans(uint32_t issuer, const struct store_serial *from, const struct store_serial *to,
		       struct revidx_span sp[2])
{
	int n = 0;

	if (from == NULL || from->negative) {
		if (to != NULL && to->negative) {
			sp[n].lolen = span_key(issuer, to, 1, sp[n].lo);
		} else {
			store_put_be32(sp[n].lo, issuer);
			sp[n].lolen = 4;
		}
		sp[n].hilen = span_key(issuer, from, from != NULL, sp[n].hi);
		n++;
	}
	if (to == NULL || !to->negative) {
		sp[n].lolen = span_key(issuer, from != NULL && !from->negative ? from : NULL, 0, sp[n].lo);
		sp[n].hilen = to != NULL ? span_key(issuer, to, 0, sp[n].hi) : 0;
		n++;
	}
	return n;
}

/* A bound must be a serial as the store writes it, or its key would not sort where its value does. */
static int serial_canonical(const struct store_serial *s)
{
	return s == NULL || (s->len <= LIM_SERIAL_MAX && (s->len == 0 ? !s->negative : s->mag[0] != 0));
}

int store_revoked_foreach_range(store *st, uint32_t issuer, const struct store_serial *from,
				const struct store_serial *to, store_cert_fn fn, void *arg)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	struct revidx_span sp[2];
	uint64_t stale = 0;
	int rc = 0, nspans;

	if (st == NULL || fn == NULL || !serial_canonical(from) || !serial_canonical(to))
		return VA_ERR_INVAL;
	nspans = range_spans(issuer, from, to, sp);
	if ((rc = store_rtxn_begin(st, &txn)) != 0)
		return rc;
	/* A version 1 store opened read-only has no index: the same stretches of `certs`, good ones skipped. */
	MDB_dbi dbi = st->has_revidx ? st->db_revoked : st->db_certs;
	if ((rc = store_lmdb_err(mdb_cursor_open(txn, dbi, &cur), "cursor")) != 0)
		goto out;
	for (int i = 0; i < nspans; i++) {
		MDB_val hi = { .mv_size = sp[i].hilen, .mv_data = sp[i].hi };
		int op;
		k.mv_size = sp[i].lolen;
		k.mv_data = sp[i].lo;
		/* MDB_SET_RANGE: the first key at or above lo, one descent; then forward to hi. */
		for (op = MDB_SET_RANGE; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
			struct store_serial s;
			struct store_cert_rec rec;
			if (k.mv_size < 4 || store_get_be32(k.mv_data) != issuer ||
			    (hi.mv_size > 0 && mdb_cmp(txn, dbi, &k, &hi) >= 0))
				break;
			int n = store_serial_key_decode((const uint8_t *)k.mv_data + 4, k.mv_size - 4, &s);
			if (n < 0 || (size_t)n != k.mv_size - 4 ||
			    store_cert_rec_decode(v.mv_data, v.mv_size, &rec) != 0) {
				/* As for a damaged entry of `certs`: a CRL is not built past what cannot be read. */
				log_err("store: damaged %s entry of issuer %u; run `vactl check`",
					st->has_revidx ? "revoked index" : "certificate", (unsigned)issuer);
				rc = VA_ERR_STORE;
				goto out;
			}
			if (rec.status == STORE_GOOD) {
				if (st->has_revidx)
					stale++; /* in `certs` (no index), good certificates are simply not ours */
				continue;
			}
			if ((rc = fn(arg, &s, &rec)) != 0)
				goto out;
		}
		if (rc != 0 && rc != MDB_NOTFOUND) {
			rc = store_lmdb_err(rc, "walking the revoked index");
			goto out;
		}
		rc = 0;
	}
out:
	if (stale > 0)
		log_warn("store: revoked index of issuer %u: %llu entries of good certificates (skipped); run `vactl "
			 "check`", (unsigned)issuer, (unsigned long long)stale);
	if (cur)
		mdb_cursor_close(cur);
	store_rtxn_end(st, txn);
	return rc;
}

int store_revoked_foreach(store *st, uint32_t issuer,
			  int (*fn)(void *arg, const struct store_serial *serial, const struct store_cert_rec *rec),
			  void *arg)
{
	return store_revoked_foreach_range(st, issuer, NULL, NULL, fn, arg);
}

/* One merge walk over `certs` and the index (both in key order): O(n), no lookups. */
long store_revidx_check(store *st, MDB_txn *txn)
{
	MDB_cursor *cc = NULL, *xc = NULL;
	MDB_val ck, cv, xk, xv;
	char name[64 + 2 * LIM_SERIAL_MAX];
	long problems = 0;
	int rc, rx, cmp;

	if (!st->has_revidx) {
		/* Not damage: an old store opened read-only. It is upgraded by the next read-write open. */
		log_warn("store check: no revoked index (schema %u, opened read-only); not checked. `vactl init` "
			 "upgrades the store", (unsigned)STORE_SCHEMA_NO_REVIDX);
		return 0;
	}
	if ((rc = store_lmdb_err(mdb_cursor_open(txn, st->db_certs, &cc), "cursor")) != 0 ||
	    (rc = store_lmdb_err(mdb_cursor_open(txn, st->db_revoked, &xc), "cursor")) != 0)
		goto out;
	rx = mdb_cursor_get(xc, &xk, &xv, MDB_FIRST);
	for (int op = MDB_FIRST; (rc = mdb_cursor_get(cc, &ck, &cv, op)) == 0; op = MDB_NEXT) {
		struct store_cert_rec rec;
		int listed = 0, same = 0;
		/* Index keys before this certificate's key have no certificate. */
		while (rx == 0 && (cmp = mdb_cmp(txn, st->db_revoked, &xk, &ck)) <= 0) {
			if (cmp == 0) {
				listed = 1;
				same = xv.mv_size == cv.mv_size && memcmp(xv.mv_data, cv.mv_data, cv.mv_size) == 0;
			} else {
				key_name(&xk, name, sizeof(name));
				log_warn("store check: revoked index entry %s: no such certificate", name);
				problems++;
			}
			rx = mdb_cursor_get(xc, &xk, &xv, MDB_NEXT);
		}
		if (store_cert_rec_decode(cv.mv_data, cv.mv_size, &rec) != 0)
			continue; /* reported by store_check's own walk */
		if (rec.status != STORE_GOOD && !listed) {
			key_name(&ck, name, sizeof(name));
			log_warn("store check: certificate %s is %s but not in the revoked index", name,
				 store_status_name(rec.status));
			problems++;
		} else if (rec.status == STORE_GOOD && listed) {
			key_name(&ck, name, sizeof(name));
			log_warn("store check: certificate %s is good but in the revoked index", name);
			problems++;
		} else if (listed && !same) {
			/* CRLs are built from the index's copy: it must be the record itself. */
			key_name(&ck, name, sizeof(name));
			log_warn("store check: certificate %s: its revoked index entry differs from its record", name);
			problems++;
		}
	}
	if (rc != MDB_NOTFOUND) {
		rc = store_lmdb_err(rc, "check");
		goto out;
	}
	for (; rx == 0; rx = mdb_cursor_get(xc, &xk, &xv, MDB_NEXT)) {
		key_name(&xk, name, sizeof(name));
		log_warn("store check: revoked index entry %s: no such certificate", name);
		problems++;
	}
	rc = rx == MDB_NOTFOUND ? 0 : store_lmdb_err(rx, "check");
out:
	if (xc)
		mdb_cursor_close(xc);
	if (cc)
		mdb_cursor_close(cc);
	return rc ? rc : problems;
}
