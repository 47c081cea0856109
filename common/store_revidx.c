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
		rc = mdb_dbi_open(txn, "revoked", 0, &st->db_revoked);
		if (rc == MDB_NOTFOUND) {
			log_err("store: database 'revoked' missing in a store of schema %u; `vactl reindex` rebuilds it",
				(unsigned)ver);
			return VA_ERR_SCHEMA;
		}
		return store_lmdb_err(rc, "opening the revoked index");
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

int store_revoked_foreach(store *st, uint32_t issuer,
			  int (*fn)(void *arg, const struct store_serial *serial, const struct store_cert_rec *rec),
			  void *arg)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	uint8_t kb[4];
	MDB_val k = { .mv_size = 4, .mv_data = kb }, v;
	uint64_t stale = 0;
	int rc, op;

	if (st == NULL || fn == NULL)
		return VA_ERR_INVAL;
	if (!st->has_revidx)
		return store_cert_foreach(st, issuer, 1, fn, arg);
	if ((rc = store_rtxn_begin(st, &txn)) != 0)
		return rc;
	if ((rc = store_lmdb_err(mdb_cursor_open(txn, st->db_revoked, &cur), "cursor")) != 0)
		goto out;
	store_put_be32(kb, issuer);
	for (op = MDB_SET_RANGE; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
		struct store_serial s;
		struct store_cert_rec rec;
		if (k.mv_size < 4 || store_get_be32(k.mv_data) != issuer)
			break;
		int n = store_serial_key_decode((const uint8_t *)k.mv_data + 4, k.mv_size - 4, &s);
		if (n < 0 || (size_t)n != k.mv_size - 4 || store_cert_rec_decode(v.mv_data, v.mv_size, &rec) != 0) {
			/* As for a damaged entry of `certs`: a CRL is not built past what cannot be read. */
			log_err("store: damaged revoked index entry of issuer %u; run `vactl check`", (unsigned)issuer);
			rc = VA_ERR_STORE;
			goto out;
		}
		if (rec.status == STORE_GOOD) {
			stale++;
			continue;
		}
		if ((rc = fn(arg, &s, &rec)) != 0)
			goto out;
	}
	rc = (rc == 0 || rc == MDB_NOTFOUND) ? 0 : store_lmdb_err(rc, "walking the revoked index");
out:
	if (stale > 0)
		log_warn("store: revoked index of issuer %u: %llu entries of good certificates (skipped); run `vactl "
			 "check`", (unsigned)issuer, (unsigned long long)stale);
	if (cur)
		mdb_cursor_close(cur);
	store_rtxn_end(st, txn);
	return rc;
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
