/*
 * store_cert.c: certificate records, their status changes, the change log and bulk batches.
 *
 * Every write of a record appends one change in the same transaction, and the record remembers the sequence
 * number of that change, so a reader sees both or neither and delta CRLs / cache invalidation can follow the log.
 * The same write updates the revoked index (store_revidx.c).
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "store.h"
#include "store_impl.h"

static int serial_valid(const struct store_serial *s)
{
	return s != NULL && s->len <= LIM_SERIAL_MAX && s->negative <= 1 && (s->len == 0 || s->mag[0] != 0) &&
	       !(s->negative && s->len == 0);
}

int store_changes_next(store *st, MDB_txn *txn, uint64_t *seq)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = store_lmdb_err(mdb_cursor_open(txn, st->db_changes, &cur), "cursor");

	if (rc)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == MDB_NOTFOUND) {
		*seq = 1;
		rc = 0;
	} else if (rc == 0) {
		rc = k.mv_size == 8 ? 0 : VA_ERR_STORE;
		*seq = rc ? 0 : store_get_be64(k.mv_data) + 1;
	} else {
		rc = store_lmdb_err(rc, "reading the change log");
	}
	mdb_cursor_close(cur);
	return rc;
}

int store_change_append(store *st, MDB_txn *txn, const struct store_change *ch)
{
	uint8_t kb[8], vb[STORE_CHANGE_FIXED_LEN + LIM_SERIAL_MAX + LIM_ACTOR_MAX];
	MDB_val k = { .mv_size = 8, .mv_data = kb }, v;

	store_put_be64(kb, ch->seq);
	v.mv_size = store_change_encode(ch, vb);
	v.mv_data = vb;
	/* Sequence numbers only grow: MDB_APPEND fills pages completely and fails if the log is not dense. */
	return store_lmdb_err(mdb_put(txn, st->db_changes, &k, &v, MDB_APPEND), "appending a change");
}

static int cert_read(store *st, MDB_txn *txn, const uint8_t *key, size_t klen, struct store_cert_rec *rec)
{
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key }, v;
	int rc = mdb_get(txn, st->db_certs, &k, &v);

	if (rc == MDB_NOTFOUND)
		return VA_ERR_NOTFOUND;
	if (rc)
		return store_lmdb_err(rc, "reading a certificate");
	rc = store_cert_rec_decode(v.mv_data, v.mv_size, rec);
	if (rc)
		log_err("store: damaged certificate record (%zu octets)", v.mv_size);
	return rc;
}

/* Writes rec (change_seq set to seq) and appends its change. */
static int cert_write(store *st, MDB_txn *txn, uint64_t seq, uint32_t issuer, const struct store_serial *s,
		      struct store_cert_rec *rec, uint8_t op)
{
	uint8_t kb[STORE_CERT_KEY_MAX], vb[STORE_CERT_VAL_LEN];
	MDB_val k = { .mv_data = kb }, v = { .mv_size = sizeof(vb), .mv_data = vb };
	struct store_change ch;
	int rc;

	rec->change_seq = seq;
	k.mv_size = store_cert_key(issuer, s, kb);
	store_cert_rec_encode(rec, vb);
	if ((rc = store_lmdb_err(mdb_put(txn, st->db_certs, &k, &v, 0), "writing a certificate")) != 0)
		return rc;
	/* Every status write goes through here, so the revoked index follows each one in the same transaction. */
	if ((rc = store_revidx_set(st, txn, kb, k.mv_size, rec->status != STORE_GOOD ? vb : NULL)) != 0)
		return rc;
	memset(&ch, 0, sizeof(ch));
	ch.seq = seq;
	ch.when = clock_now_sec();
	ch.op = op;
	ch.issuer_id = issuer;
	ch.serial = *s;
	ch.rec = *rec;
	memcpy(ch.actor, st->actor, sizeof(ch.actor));
	return store_change_append(st, txn, &ch);
}

/* Normalises a record given by a caller (fields that mean nothing for its status are zeroed); VA_ERR_INVAL if
 * the status, reason and dates do not go together. */
static int rec_normalise(const struct store_cert_rec *in, struct store_cert_rec *out)
{
	*out = *in;
	out->change_seq = 0;
	if (out->status == STORE_GOOD) {
		out->reason = 0;
		out->revoked_at = 0;
		out->has_invalidity = 0;
	} else if (out->status == STORE_HOLD) {
		out->reason = STORE_REASON_CERTIFICATE_HOLD;
	}
	if (out->has_invalidity > 1)
		out->has_invalidity = 1;
	if (!out->has_invalidity)
		out->invalidity = 0;
	return store_cert_rec_valid(out) ? 0 : VA_ERR_INVAL;
}

/* What recording `in` (already normalised) does to an existing record old, with the same rules as
 * store_cert_revoke/hold/release: 0 with *out and *op set; VA_ERR_EXISTS when nothing changes (also: already
 * revoked or already on hold, whatever date or reason `in` carries, except a reason that becomes
 * keyCompromise); VA_ERR_CONFLICT when `in` would make a revoked certificate good or on hold again.
 * notAfter is metadata, not status: a known one is replaced by a different non-zero one (logged as ISSUE). */
static int put_transition(const struct store_cert_rec *old, const struct store_cert_rec *in,
			  struct store_cert_rec *out, uint8_t *op)
{
	int64_t not_after = in->not_after ? in->not_after : old->not_after;

	*out = *old;
	*op = STORE_OP_ISSUE;
	switch (old->status) {
	case STORE_GOOD:
		if (in->status != STORE_GOOD) {
			*out = *in;
			*op = in->status == STORE_REVOKED ? STORE_OP_REVOKE : STORE_OP_HOLD;
		}
		break;
	case STORE_HOLD:
		if (in->status == STORE_GOOD) {
			*out = *in;
			*op = STORE_OP_RELEASE;
		} else if (in->status == STORE_REVOKED) {
			*out = *in;
			*op = STORE_OP_REVOKE;
		}
		break;
	default:
		if (in->status != STORE_REVOKED)
			return VA_ERR_CONFLICT;
		/* RFC 5280 5.3.1: the reason may later become keyCompromise; the revocation date stays. */
		if (in->reason == STORE_REASON_KEY_COMPROMISE && old->reason != STORE_REASON_KEY_COMPROMISE) {
			out->reason = STORE_REASON_KEY_COMPROMISE;
			if (in->has_invalidity) {
				out->has_invalidity = 1;
				out->invalidity = in->invalidity;
			}
			*op = STORE_OP_REVOKE;
		}
		break;
	}
	out->not_after = not_after;
	if (*op == STORE_OP_ISSUE && not_after == old->not_after)
		return VA_ERR_EXISTS;
	return 0;
}

/* Applies a put inside txn: 0 (written with change seq), or VA_ERR_EXISTS / CONFLICT / INVAL / NOTFOUND
 * (nothing written), or an LMDB error. */
static int put_apply(store *st, MDB_txn *txn, uint64_t seq, uint32_t issuer, const struct store_serial *s,
		     const struct store_cert_rec *in)
{
	uint8_t kb[STORE_CERT_KEY_MAX];
	size_t klen = store_cert_key(issuer, s, kb);
	struct store_cert_rec norm, old, out;
	uint8_t op = STORE_OP_ISSUE;
	int rc;

	if ((rc = rec_normalise(in, &norm)) != 0)
		return rc;
	rc = cert_read(st, txn, kb, klen, &old);
	if (rc == VA_ERR_NOTFOUND) {
		if ((rc = store_issuer_exists(st, txn, issuer)) != 0)
			return rc;
		out = norm;
	} else if (rc == 0) {
		if ((rc = put_transition(&old, &norm, &out, &op)) != 0)
			return rc;
	} else {
		return rc;
	}
	return cert_write(st, txn, seq, issuer, s, &out, op);
}

int store_cert_get(store *st, uint32_t issuer, const struct store_serial *serial, struct store_cert_rec *out)
{
	uint8_t kb[STORE_CERT_KEY_MAX];
	MDB_val k = { .mv_data = kb }, v;
	MDB_txn *txn;
	void *h;
	int rc;

	if (st == NULL || out == NULL || !serial_valid(serial))
		return VA_ERR_INVAL;
	k.mv_size = store_cert_key(issuer, serial, kb);
	if ((rc = store_hot_begin(st, &h, &txn)) != 0)
		return rc;
	rc = mdb_get(txn, st->db_certs, &k, &v);
	if (rc == 0)
		rc = store_cert_rec_decode(v.mv_data, v.mv_size, out);
	else
		rc = store_lmdb_err(rc, "reading a certificate");
	store_hot_end(st, h);
	return rc;
}

/* One single-record write: add, revoke, hold or release. */
enum cert_op_kind { OPK_ADD, OPK_REVOKE, OPK_HOLD, OPK_RELEASE };

struct cert_op {
	enum cert_op_kind kind;
	uint32_t issuer;
	const struct store_serial *serial;
	const struct store_cert_rec *rec; /* OPK_ADD */
	int reason;
	int64_t when, invalidity;
};

static int cert_op_txn(store *st, MDB_txn *txn, void *arg)
{
	struct cert_op *o = arg;
	uint8_t kb[STORE_CERT_KEY_MAX];
	size_t klen;
	struct store_cert_rec old, rec;
	uint8_t op;
	uint64_t seq;
	int rc;

	if ((rc = store_changes_next(st, txn, &seq)) != 0)
		return rc;
	if (o->kind == OPK_ADD)
		return put_apply(st, txn, seq, o->issuer, o->serial, o->rec);

	klen = store_cert_key(o->issuer, o->serial, kb);
	if ((rc = cert_read(st, txn, kb, klen, &old)) != 0)
		return rc;
	rec = old;
	switch (o->kind) {
	case OPK_REVOKE:
		op = STORE_OP_REVOKE;
		if (old.status == STORE_REVOKED) {
			/* RFC 5280 5.3.1 / CA/B BR 4.9.1: a revocation's reason may later be found to be keyCompromise;
			 * the revocation date stays the date of the revocation. Nothing else changes a revocation. */
			if (o->reason != STORE_REASON_KEY_COMPROMISE || old.reason == STORE_REASON_KEY_COMPROMISE)
				return VA_ERR_EXISTS;
			rec.reason = STORE_REASON_KEY_COMPROMISE;
			if (o->invalidity) {
				rec.has_invalidity = 1;
				rec.invalidity = o->invalidity;
			}
			break;
		}
		rec.status = STORE_REVOKED;
		rec.reason = (uint8_t)o->reason;
		rec.revoked_at = o->when;
		rec.has_invalidity = o->invalidity != 0;
		rec.invalidity = o->invalidity;
		break;
	case OPK_HOLD:
		op = STORE_OP_HOLD;
		if (old.status == STORE_HOLD)
			return VA_ERR_EXISTS;
		if (old.status != STORE_GOOD)
			return VA_ERR_CONFLICT;
		rec.status = STORE_HOLD;
		rec.reason = STORE_REASON_CERTIFICATE_HOLD;
		rec.revoked_at = o->when;
		break;
	default:
		op = STORE_OP_RELEASE;
		if (old.status != STORE_HOLD)
			return VA_ERR_CONFLICT;
		rec.status = STORE_GOOD;
		rec.reason = 0;
		rec.revoked_at = 0;
		rec.has_invalidity = 0;
		rec.invalidity = 0;
		break;
	}
	return cert_write(st, txn, seq, o->issuer, o->serial, &rec, op);
}

static int cert_op_run(store *st, struct cert_op *o)
{
	if (st == NULL || !serial_valid(o->serial))
		return VA_ERR_INVAL;
	return store_write(st, cert_op_txn, o);
}

int store_cert_add(store *st, uint32_t issuer, const struct store_serial *serial, const struct store_cert_rec *rec)
{
	struct cert_op o = { .kind = OPK_ADD, .issuer = issuer, .serial = serial, .rec = rec };

	if (rec == NULL)
		return VA_ERR_INVAL;
	return cert_op_run(st, &o);
}

static int reason_for_revoke(int reason)
{
	/* certificateHold goes through store_cert_hold; removeFromCRL only appears in delta CRLs (RFC 5280
	 * 5.3.1); 7 is unassigned. */
	return reason >= STORE_REASON_UNSPECIFIED && reason <= STORE_REASON_AA_COMPROMISE && reason != 7 &&
	       reason != STORE_REASON_CERTIFICATE_HOLD && reason != STORE_REASON_REMOVE_FROM_CRL;
}

int store_cert_revoke(store *st, uint32_t issuer, const struct store_serial *serial, int reason, int64_t when,
		      int64_t invalidity)
{
	struct cert_op o = { .kind = OPK_REVOKE, .issuer = issuer, .serial = serial, .reason = reason,
			     .when = when ? when : clock_now_sec(), .invalidity = invalidity };

	if (!reason_for_revoke(reason) || when < 0 || invalidity < 0)
		return VA_ERR_INVAL;
	return cert_op_run(st, &o);
}

int store_cert_hold(store *st, uint32_t issuer, const struct store_serial *serial, int64_t when)
{
	struct cert_op o = { .kind = OPK_HOLD, .issuer = issuer, .serial = serial,
			     .when = when ? when : clock_now_sec() };

	if (when < 0)
		return VA_ERR_INVAL;
	return cert_op_run(st, &o);
}

int store_cert_release(store *st, uint32_t issuer, const struct store_serial *serial)
{
	struct cert_op o = { .kind = OPK_RELEASE, .issuer = issuer, .serial = serial };

	return cert_op_run(st, &o);
}

int store_cert_foreach(store *st, uint32_t issuer, int only_revoked,
		       int (*fn)(void *arg, const struct store_serial *serial, const struct store_cert_rec *rec),
		       void *arg)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	uint8_t kb[4];
	MDB_val k = { .mv_size = 4, .mv_data = kb }, v;
	int rc, op;

	if (st == NULL || fn == NULL)
		return VA_ERR_INVAL;
	if ((rc = store_rtxn_begin(st, &txn)) != 0)
		return rc;
	if ((rc = store_lmdb_err(mdb_cursor_open(txn, st->db_certs, &cur), "cursor")) != 0)
		goto out;
	store_put_be32(kb, issuer);
	for (op = MDB_SET_RANGE; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
		struct store_serial s;
		struct store_cert_rec rec;
		if (k.mv_size < 4 || store_get_be32(k.mv_data) != issuer)
			break;
		int n = store_serial_key_decode((const uint8_t *)k.mv_data + 4, k.mv_size - 4, &s);
		if (n < 0 || (size_t)n != k.mv_size - 4 || store_cert_rec_decode(v.mv_data, v.mv_size, &rec) != 0) {
			log_err("store: damaged certificate entry of issuer %u", (unsigned)issuer);
			rc = VA_ERR_STORE;
			goto out;
		}
		if (only_revoked && rec.status == STORE_GOOD)
			continue;
		if ((rc = fn(arg, &s, &rec)) != 0)
			goto out;
	}
	rc = (rc == 0 || rc == MDB_NOTFOUND) ? 0 : store_lmdb_err(rc, "walking certificates");
out:
	if (cur)
		mdb_cursor_close(cur);
	store_rtxn_end(st, txn);
	return rc;
}

int store_changes_last(store *st, uint64_t *seq)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc;

	if (st == NULL || seq == NULL)
		return VA_ERR_INVAL;
	if ((rc = store_rtxn_begin(st, &txn)) != 0)
		return rc;
	if ((rc = store_lmdb_err(mdb_cursor_open(txn, st->db_changes, &cur), "cursor")) != 0)
		goto out;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == MDB_NOTFOUND) {
		*seq = 0;
		rc = 0;
	} else if (rc == 0) {
		rc = k.mv_size == 8 ? 0 : VA_ERR_STORE;
		if (rc == 0)
			*seq = store_get_be64(k.mv_data);
	} else {
		rc = store_lmdb_err(rc, "reading the change log");
	}
out:
	if (cur)
		mdb_cursor_close(cur);
	store_rtxn_end(st, txn);
	return rc;
}

int store_changes_since(store *st, uint64_t after, size_t max, int (*fn)(void *arg, const struct store_change *ch),
			void *arg)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	uint8_t kb[8];
	MDB_val k = { .mv_size = 8, .mv_data = kb }, v;
	size_t n = 0;
	int rc, op;

	if (st == NULL || fn == NULL)
		return VA_ERR_INVAL;
	if (after == UINT64_MAX)
		return 0;
	if ((rc = store_rtxn_begin(st, &txn)) != 0)
		return rc;
	if ((rc = store_lmdb_err(mdb_cursor_open(txn, st->db_changes, &cur), "cursor")) != 0)
		goto out;
	store_put_be64(kb, after + 1);
	for (op = MDB_SET_RANGE; (max == 0 || n < max) && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0;
	     op = MDB_NEXT) {
		struct store_change ch;
		if (k.mv_size != 8 || store_change_decode(store_get_be64(k.mv_data), v.mv_data, v.mv_size, &ch)) {
			log_err("store: damaged change log entry");
			rc = VA_ERR_STORE;
			goto out;
		}
		n++;
		if ((rc = fn(arg, &ch)) != 0)
			goto out;
	}
	rc = (rc == 0 || rc == MDB_NOTFOUND) ? 0 : store_lmdb_err(rc, "reading the change log");
out:
	if (cur)
		mdb_cursor_close(cur);
	store_rtxn_end(st, txn);
	return rc;
}

/* Bulk batches. The batch keeps the records written in its open transaction so that, when LMDB says the map
 * is full, it can abort, grow the map and write them again in a new transaction. */
struct batch_ent {
	uint32_t issuer;
	struct store_serial serial;
	struct store_cert_rec rec;
};

struct store_batch {
	store *st;
	MDB_txn *txn;        /* open write transaction, or NULL */
	uint64_t seen_map;   /* map size when txn began */
	uint64_t next_seq;   /* next change sequence number inside txn */
	size_t npending;
	int failed;          /* a hard error aborted a transaction: the batch accepts nothing more */
	struct batch_ent pending[];
};

static void batch_abort_txn(store_batch *b)
{
	if (b->txn == NULL)
		return;
	mdb_txn_abort(b->txn);
	b->txn = NULL;
	pthread_rwlock_unlock(&b->st->map_lock);
}

static int batch_begin_txn(store_batch *b)
{
	store *st = b->st;
	int rc;

	for (int attempt = 0; attempt < 4; attempt++) {
		pthread_rwlock_rdlock(&st->map_lock);
		b->seen_map = store_map_size(st);
		rc = store_lmdb_err(mdb_txn_begin(st->env, NULL, 0, &b->txn), "write transaction");
		if (rc == 0) {
			rc = store_changes_next(st, b->txn, &b->next_seq);
			if (rc)
				batch_abort_txn(b);
			return rc;
		}
		b->txn = NULL;
		pthread_rwlock_unlock(&st->map_lock);
		if (rc != STORE_ERESIZED)
			return rc;
		if ((rc = store_map_adopt(st)) != 0)
			return rc;
	}
	return VA_ERR_STORE;
}

/* One record in the open transaction. Soft results (EXISTS, CONFLICT, INVAL, NOTFOUND) leave it usable. */
static int batch_apply(store_batch *b, const struct batch_ent *e)
{
	int rc = put_apply(b->st, b->txn, b->next_seq, e->issuer, &e->serial, &e->rec);

	if (rc == 0)
		b->next_seq++;
	return rc;
}

static int soft_err(int rc)
{
	return rc == VA_ERR_EXISTS || rc == VA_ERR_CONFLICT || rc == VA_ERR_INVAL || rc == VA_ERR_NOTFOUND;
}

/* After MDB_MAP_FULL: grow the map, start over and write the pending records again. The store may have
 * changed in between (another writer), so records that no longer apply are dropped from the batch. */
static int batch_regrow(store_batch *b)
{
	for (int attempt = 0; attempt < 64; attempt++) {
		uint64_t seen = b->seen_map;
		size_t keep = 0;
		int rc;

		batch_abort_txn(b);
		if ((rc = store_map_grow(b->st, seen)) != 0)
			return rc;
		if ((rc = batch_begin_txn(b)) != 0)
			return rc;
		for (size_t i = 0; i < b->npending; i++) {
			rc = batch_apply(b, &b->pending[i]);
			if (rc == 0)
				b->pending[keep++] = b->pending[i];
			else if (!soft_err(rc))
				break;
			rc = 0;
		}
		if (rc == STORE_EMAPFULL)
			continue;
		if (rc)
			return rc;
		b->npending = keep;
		return 0;
	}
	return VA_ERR_FULL;
}

static int batch_fail(store_batch *b, int rc)
{
	batch_abort_txn(b);
	b->npending = 0;
	b->failed = 1;
	return rc == STORE_EMAPFULL || rc == STORE_ERESIZED ? VA_ERR_STORE : rc;
}

store_batch *store_batch_begin(store *st, int *err)
{
	store_batch *b = NULL;
	int rc = 0;

	if (st == NULL || !st->rdwr) {
		rc = VA_ERR_INVAL;
		goto out;
	}
	b = calloc(1, sizeof(*b) + LIM_STORE_BATCH * sizeof(struct batch_ent));
	if (b == NULL) {
		rc = VA_ERR_NOMEM;
		goto out;
	}
	b->st = st;
out:
	if (err)
		*err = rc;
	return b;
}

int store_batch_put(store_batch *b, uint32_t issuer, const struct store_serial *serial,
		    const struct store_cert_rec *rec)
{
	struct batch_ent e;
	int rc;

	if (b == NULL || rec == NULL || !serial_valid(serial))
		return VA_ERR_INVAL;
	if (b->failed)
		return VA_ERR_STORE;
	e.issuer = issuer;
	e.serial = *serial;
	e.rec = *rec;
	if (b->txn == NULL && (rc = batch_begin_txn(b)) != 0)
		return rc;
	for (;;) {
		rc = batch_apply(b, &e);
		if (rc != STORE_EMAPFULL)
			break;
		if ((rc = batch_regrow(b)) != 0)
			return batch_fail(b, rc);
	}
	if (soft_err(rc))
		return rc;
	if (rc)
		return batch_fail(b, rc);
	b->pending[b->npending++] = e;
	if (b->npending >= LIM_STORE_BATCH)
		return store_batch_commit(b);
	return 0;
}

int store_batch_commit(store_batch *b)
{
	int rc;

	if (b == NULL)
		return VA_ERR_INVAL;
	if (b->failed)
		return VA_ERR_STORE;
	while (b->txn != NULL) {
		rc = store_lmdb_err(mdb_txn_commit(b->txn), "batch commit");
		if (rc == 0) {
			b->txn = NULL;
			b->npending = 0;
			pthread_rwlock_unlock(&b->st->map_lock);
			return 0;
		}
		/* A failed commit has freed the transaction. */
		b->txn = NULL;
		pthread_rwlock_unlock(&b->st->map_lock);
		if (rc != STORE_EMAPFULL)
			return batch_fail(b, rc);
		/* seen_map still holds the size the failed transaction began with. */
		if ((rc = batch_regrow(b)) != 0)
			return batch_fail(b, rc);
	}
	return 0;
}

int store_batch_end(store_batch *b, int commit)
{
	int rc = 0;

	if (b == NULL)
		return 0;
	if (commit)
		rc = store_batch_commit(b);
	batch_abort_txn(b);
	free(b);
	return rc;
}
