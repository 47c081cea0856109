/*
 * store_issuer.c: issuing CAs: registration with their CertID hashes, lookup, iteration.
 *
 * issuer value: 0 version | 1 label (LIM_ISSUER_LABEL_MAX octets, NUL-padded) | name hashes (STORE_HASH_COUNT x
 * 64, each left-aligned, zero-padded) | key hashes (same) | certificate DER (the rest).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "clock.h"
#include "log.h"
#include "store.h"
#include "store_impl.h"

size_t store_hash_len(enum store_hash h)
{
	static const size_t len[STORE_HASH_COUNT] = { 20, 32, 48, 64 };
	return (unsigned)h < STORE_HASH_COUNT ? len[h] : 0;
}

static const EVP_MD *hash_md(enum store_hash h)
{
	switch (h) {
	case STORE_HASH_SHA1: return EVP_sha1();
	case STORE_HASH_SHA256: return EVP_sha256();
	case STORE_HASH_SHA384: return EVP_sha384();
	case STORE_HASH_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

static int label_valid(const char *label)
{
	size_t n = 0;

	if (label == NULL)
		return 0;
	for (const char *p = label; *p; p++, n++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return 0;
		if (n + 1 >= LIM_ISSUER_LABEL_MAX)
			return 0;
	}
	return n > 0;
}

/* RFC 6960 4.1.1: issuerNameHash is the hash of the issuer's DN (the DER of the subject Name of the CA
 * certificate); issuerKeyHash is the hash of the value of the subjectPublicKey BIT STRING, without tag, length
 * and unused-bits octet (as OpenSSL's OCSP_cert_id_new and every client compute it). */
static int issuer_hashes(const uint8_t *der, size_t len, struct store_issuer *iss)
{
	const uint8_t *p = der;
	X509 *x = NULL;
	uint8_t *name = NULL;
	int name_len, rc = VA_ERR_INVAL;
	const ASN1_BIT_STRING *key;

	x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL || p != der + len) {
		log_openssl(LOG_LVL_ERR, "store: issuer certificate does not parse as one DER certificate");
		goto out;
	}
	name_len = i2d_X509_NAME(X509_get_subject_name(x), &name);
	key = X509_get0_pubkey_bitstr(x);
	if (name_len <= 0 || key == NULL) {
		log_openssl(LOG_LVL_ERR, "store: issuer certificate has no usable subject or key");
		goto out;
	}
	for (int h = 0; h < STORE_HASH_COUNT; h++) {
		unsigned n = 0;
		if (!EVP_Digest(name, (size_t)name_len, iss->name_hash[h], &n, hash_md((enum store_hash)h), NULL) ||
		    !EVP_Digest(key->data, (size_t)key->length, iss->key_hash[h], &n, hash_md((enum store_hash)h),
				NULL)) {
			log_openssl(LOG_LVL_ERR, "store: hashing the issuer");
			rc = VA_ERR_CRYPTO;
			goto out;
		}
	}
	rc = 0;
out:
	OPENSSL_free(name);
	X509_free(x);
	return rc;
}

int store_issuer_decode(uint32_t id, const uint8_t *val, size_t len, struct store_issuer *iss)
{
	if (len <= STORE_ISSUER_FIXED_LEN || len - STORE_ISSUER_FIXED_LEN > LIM_CERT_DER_MAX ||
	    val[0] != STORE_REC_VERSION || val[LIM_ISSUER_LABEL_MAX] != '\0' || val[1] == '\0')
		return VA_ERR_STORE;
	memset(iss, 0, sizeof(*iss));
	iss->id = id;
	memcpy(iss->label, val + 1, LIM_ISSUER_LABEL_MAX);
	memcpy(iss->name_hash, val + 1 + LIM_ISSUER_LABEL_MAX, sizeof(iss->name_hash));
	memcpy(iss->key_hash, val + 1 + LIM_ISSUER_LABEL_MAX + sizeof(iss->name_hash), sizeof(iss->key_hash));
	iss->cert_der = val + STORE_ISSUER_FIXED_LEN;
	iss->cert_len = len - STORE_ISSUER_FIXED_LEN;
	return 0;
}

int store_issuer_exists(store *st, MDB_txn *txn, uint32_t id)
{
	uint8_t kb[4];
	MDB_val k = { .mv_size = 4, .mv_data = kb }, v;

	store_put_be32(kb, id);
	return store_lmdb_err(mdb_get(txn, st->db_issuers, &k, &v), "reading an issuer");
}

struct issuer_add_op {
	const char *label;
	const uint8_t *der;
	size_t len;
	struct store_issuer *iss;
	uint32_t id;
};

static int issuer_add_txn(store *st, MDB_txn *txn, void *arg)
{
	struct issuer_add_op *op = arg;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint32_t last = 0;
	uint64_t count = 0, seq;
	uint8_t kb[4], *val = NULL;
	struct store_change ch;
	int rc, c;

	if ((rc = store_lmdb_err(mdb_cursor_open(txn, st->db_issuers, &cur), "cursor")) != 0)
		return rc;
	for (c = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, c)) == 0; c = MDB_NEXT) {
		struct store_issuer other;
		if (k.mv_size != 4 || store_issuer_decode(store_get_be32(k.mv_data), v.mv_data, v.mv_size, &other)) {
			rc = VA_ERR_STORE;
			goto out;
		}
		last = other.id;
		count++;
		if (other.cert_len == op->len && memcmp(other.cert_der, op->der, op->len) == 0) {
			op->id = other.id;
			rc = VA_ERR_EXISTS;
			goto out;
		}
		if (strcmp(other.label, op->label) == 0) {
			log_err("store: issuer label '%s' is taken by another certificate", op->label);
			rc = VA_ERR_CONFLICT;
			goto out;
		}
	}
	if (rc != MDB_NOTFOUND) {
		rc = store_lmdb_err(rc, "walking issuers");
		goto out;
	}
	if (count >= LIM_ISSUERS_MAX || last == UINT32_MAX) {
		log_err("store: at most %d issuers", LIM_ISSUERS_MAX);
		rc = VA_ERR_RANGE;
		goto out;
	}
	op->id = last + 1;

	val = calloc(1, STORE_ISSUER_FIXED_LEN + op->len);
	if (val == NULL) {
		rc = VA_ERR_NOMEM;
		goto out;
	}
	val[0] = STORE_REC_VERSION;
	memcpy(val + 1, op->label, strlen(op->label));
	memcpy(val + 1 + LIM_ISSUER_LABEL_MAX, op->iss->name_hash, sizeof(op->iss->name_hash));
	memcpy(val + 1 + LIM_ISSUER_LABEL_MAX + sizeof(op->iss->name_hash), op->iss->key_hash,
	       sizeof(op->iss->key_hash));
	memcpy(val + STORE_ISSUER_FIXED_LEN, op->der, op->len);
	store_put_be32(kb, op->id);
	k.mv_size = 4;
	k.mv_data = kb;
	v.mv_size = STORE_ISSUER_FIXED_LEN + op->len;
	v.mv_data = val;
	if ((rc = store_lmdb_err(mdb_put(txn, st->db_issuers, &k, &v, MDB_NOOVERWRITE), "adding an issuer")) != 0)
		goto out;

	if ((rc = store_changes_next(st, txn, &seq)) != 0)
		goto out;
	memset(&ch, 0, sizeof(ch));
	ch.seq = seq;
	ch.when = clock_now_sec();
	ch.op = STORE_OP_ISSUER_ADD;
	ch.issuer_id = op->id;
	ch.rec.change_seq = seq;
	memcpy(ch.actor, st->actor, sizeof(ch.actor));
	rc = store_change_append(st, txn, &ch);
out:
	free(val);
	mdb_cursor_close(cur);
	return rc;
}

int store_issuer_add(store *st, const char *label, const uint8_t *der, size_t len, uint32_t *id)
{
	struct store_issuer iss;
	struct issuer_add_op op = { .label = label, .der = der, .len = len, .iss = &iss };
	int rc;

	if (st == NULL || der == NULL || id == NULL || !label_valid(label))
		return VA_ERR_INVAL;
	if (len == 0 || len > LIM_CERT_DER_MAX)
		return VA_ERR_RANGE;
	memset(&iss, 0, sizeof(iss));
	if ((rc = issuer_hashes(der, len, &iss)) != 0)
		return rc;
	rc = store_write(st, issuer_add_txn, &op);
	if (rc == 0 || rc == VA_ERR_EXISTS)
		*id = op.id;
	return rc;
}

int store_issuer_foreach(store *st, int (*fn)(void *arg, const struct store_issuer *iss), void *arg)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc, c;

	if (st == NULL || fn == NULL)
		return VA_ERR_INVAL;
	if ((rc = store_rtxn_begin(st, &txn)) != 0)
		return rc;
	if ((rc = store_lmdb_err(mdb_cursor_open(txn, st->db_issuers, &cur), "cursor")) != 0)
		goto out;
	for (c = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, c)) == 0; c = MDB_NEXT) {
		struct store_issuer iss;
		if (k.mv_size != 4 || store_issuer_decode(store_get_be32(k.mv_data), v.mv_data, v.mv_size, &iss)) {
			log_err("store: damaged issuer entry");
			rc = VA_ERR_STORE;
			goto out;
		}
		if ((rc = fn(arg, &iss)) != 0)
			goto out;
	}
	rc = rc == MDB_NOTFOUND ? 0 : store_lmdb_err(rc, "walking issuers");
out:
	if (cur)
		mdb_cursor_close(cur);
	store_rtxn_end(st, txn);
	return rc;
}

struct issuer_find {
	const char *label;
	struct store_issuer *out;
	int found;
};

static int issuer_find_cb(void *arg, const struct store_issuer *iss)
{
	struct issuer_find *f = arg;
	uint8_t *copy;

	if (strcmp(iss->label, f->label) != 0)
		return 0;
	copy = malloc(iss->cert_len);
	if (copy == NULL)
		return VA_ERR_NOMEM;
	memcpy(copy, iss->cert_der, iss->cert_len);
	*f->out = *iss;
	f->out->cert_der = copy;
	f->found = 1;
	return 1;
}

int store_issuer_get(store *st, const char *label, struct store_issuer *iss)
{
	struct issuer_find f = { .label = label, .out = iss };
	int rc;

	if (st == NULL || label == NULL || iss == NULL)
		return VA_ERR_INVAL;
	rc = store_issuer_foreach(st, issuer_find_cb, &f);
	if (f.found)
		return 0;
	return rc < 0 ? rc : VA_ERR_NOTFOUND;
}
