/*
 * store_impl.h: internals shared by the store's source files (store.c, store_serial.c, store_issuer.c,
 * store_cert.c, store_revidx.c). Not for use outside common/store*.c.
 *
 * Concurrency model (see store.c for the details):
 *  - the environment is opened with MDB_NOTLS, so a read transaction is not bound to a thread's LMDB slot;
 *    each thread keeps one cached read transaction per store handle (reset between uses, renewed on the next
 *    use) so the hot path (store_cert_get) allocates nothing once a thread has warmed up;
 *  - every transaction of this process runs while holding st->map_lock for reading; changing the map size
 *    (growth after MDB_MAP_FULL, or adopting a size grown by another process after MDB_MAP_RESIZED) takes it
 *    for writing, because mdb_env_set_mapsize() unmaps the memory that live transactions point into.
 */
#ifndef VA_STORE_IMPL_H
#define VA_STORE_IMPL_H

#include <lmdb.h>
#include <pthread.h>

#include "store.h"

/* Internal result of a write callback: LMDB said MDB_MAP_FULL; the caller grows the map and retries. Never
 * returned through the public API. */
#define STORE_EMAPFULL (-1000)
/* Internal: the reader must adopt a map grown by another process (MDB_MAP_RESIZED). */
#define STORE_ERESIZED (-1001)

/* Record encodings (little-endian, fixed layout, version byte first). */
#define STORE_REC_VERSION 1
#define STORE_CERT_VAL_LEN 36        /* ver, status, reason, has_inv, not_after, revoked_at, invalidity, seq */
#define STORE_CHANGE_FIXED_LEN 52    /* without the serial magnitude and the actor bytes */
#define STORE_ISSUER_FIXED_LEN (1 + LIM_ISSUER_LABEL_MAX + 2 * STORE_HASH_COUNT * 64)
#define STORE_SERIAL_KEY_MAX (1 + LIM_SERIAL_MAX)
#define STORE_CERT_KEY_MAX (4 + STORE_SERIAL_KEY_MAX)
#define STORE_META_NAME_MAX 200

/* Key of the schema version (uint32 LE) in `meta`. */
#define STORE_META_SCHEMA "schema"
/* The last schema without the `revoked` index: opened read-write, such a store is upgraded in place (the index
 * built in one write transaction); opened read-only, it is read as it is (store_revoked_foreach walks every
 * certificate instead). */
#define STORE_SCHEMA_NO_REVIDX 1

struct store_slot; /* one thread's cached read transaction */

struct store {
	MDB_env *env;
	MDB_dbi db_issuers, db_certs, db_changes, db_meta;
	MDB_dbi db_revoked;            /* valid when has_revidx */
	int has_revidx;                /* 0 only for a store of schema STORE_SCHEMA_NO_REVIDX opened read-only */
	int rdwr;
	pthread_rwlock_t map_lock;     /* read: any transaction in flight; write: remapping */
	pthread_key_t slot_key;        /* this thread's struct store_slot */
	pthread_mutex_t slots_mutex;   /* guards the slots list */
	struct store_slot *slots;      /* every thread's cached read transaction, freed by store_close */
	char actor[LIM_ACTOR_MAX];
};

/* Maps an LMDB return code onto va_err (MDB_MAP_FULL -> STORE_EMAPFULL, MDB_MAP_RESIZED -> STORE_ERESIZED),
 * logging unexpected ones with what. */
int store_lmdb_err(int rc, const char *what);

/* Short read transaction: begins (under map_lock) a fresh read-only transaction. store_rtxn_end aborts it. */
int store_rtxn_begin(store *st, MDB_txn **txn);
void store_rtxn_end(store *st, MDB_txn *txn);
/* Hot-path read transaction: this thread's cached one (renewed; allocates only on the thread's first use).
 * *handle is passed back to store_hot_end, which resets the transaction for the next use. */
int store_hot_begin(store *st, void **handle, MDB_txn **txn);
void store_hot_end(store *st, void *handle);

/* Runs fn in a write transaction, growing the map and retrying on MDB_MAP_FULL. fn returns 0 to commit, or a
 * va_err (or STORE_EMAPFULL) to abort. */
int store_write(store *st, int (*fn)(store *st, MDB_txn *txn, void *arg), void *arg);
/* Grows the map after MDB_MAP_FULL was seen with map size seen (a no-op if another thread grew it already). */
int store_map_grow(store *st, uint64_t seen);
/* Adopts the map size another process set (after MDB_MAP_RESIZED). */
int store_map_adopt(store *st);
uint64_t store_map_size(store *st);

/* Little-endian / big-endian helpers. */
void store_put_le64(uint8_t *p, uint64_t v);
uint64_t store_get_le64(const uint8_t *p);
void store_put_le32(uint8_t *p, uint32_t v);
uint32_t store_get_le32(const uint8_t *p);
void store_put_be32(uint8_t *p, uint32_t v);
uint32_t store_get_be32(const uint8_t *p);
void store_put_be64(uint8_t *p, uint64_t v);
uint64_t store_get_be64(const uint8_t *p);

/* Serial keys (format in store.h). store_serial_key returns the key length. store_serial_key_decode checks the
 * canonical form (length byte, no leading zero octet) and returns the bytes consumed or a va_err. */
size_t store_serial_key(const struct store_serial *s, uint8_t *key);
int store_serial_key_decode(const uint8_t *key, size_t len, struct store_serial *s);
size_t store_cert_key(uint32_t issuer, const struct store_serial *s, uint8_t *key);

/* Certificate record encoding. decode: VA_ERR_STORE for a value of the wrong size, version or content. */
void store_cert_rec_encode(const struct store_cert_rec *rec, uint8_t *val);
int store_cert_rec_decode(const uint8_t *val, size_t len, struct store_cert_rec *rec);
/* Status, reason and dates consistent with each other. */
int store_cert_rec_valid(const struct store_cert_rec *rec);

/* Change log encoding; buf needs STORE_CHANGE_FIXED_LEN + LIM_SERIAL_MAX + LIM_ACTOR_MAX bytes. */
size_t store_change_encode(const struct store_change *ch, uint8_t *buf);
int store_change_decode(uint64_t seq, const uint8_t *val, size_t len, struct store_change *ch);

/* Issuer value decoding (cert_der points into val). */
int store_issuer_decode(uint32_t id, const uint8_t *val, size_t len, struct store_issuer *iss);
/* Whether issuer id exists, inside txn: 0, VA_ERR_NOTFOUND or an error. */
int store_issuer_exists(store *st, MDB_txn *txn, uint32_t id);

/* Next change sequence number inside txn (last + 1). */
int store_changes_next(store *st, MDB_txn *txn, uint64_t *seq);
/* Appends ch (ch->seq set by the caller) to the change log inside txn. */
int store_change_append(store *st, MDB_txn *txn, const struct store_change *ch);

/* Schema version in meta inside txn: 0 (*ver set), VA_ERR_NOTFOUND when absent, VA_ERR_SCHEMA when malformed. */
int store_schema_get(store *st, MDB_txn *txn, uint32_t *ver);
int store_schema_put(store *st, MDB_txn *txn, uint32_t ver);

/* The revoked index (store_revidx.c): key = the certificate's key in `certs`, value = its encoded record
 * (the same STORE_CERT_VAL_LEN bytes), present exactly when the record's status is not GOOD. store_revidx_set,
 * inside the write transaction that writes the record: val (the encoded record) lists key with it, NULL
 * removes it. */
int store_revidx_set(store *st, MDB_txn *txn, const uint8_t *key, size_t klen, const uint8_t *val);
/* Opens the index of a schema-2 store into st->db_revoked (flags: MDB_CREATE for a new store). 0: open;
 * 1: missing and missing_ok (a reindex will create it); VA_ERR_SCHEMA: missing, logged with the repair to run. */
int store_revidx_open(store *st, MDB_txn *txn, unsigned flags, int missing_ok);
/* Opens (creating it if needed) the index of a store of schema STORE_SCHEMA_NO_REVIDX, fills it from `certs`
 * and sets the current schema, all in one write transaction; a store another process upgraded meanwhile only
 * gets its index opened. Sets st->db_revoked and st->has_revidx. Called by store_open before the handle is
 * shared. */
int store_revidx_upgrade(store *st);
/* Empties the index of a store of the current schema (creating the database if it is missing) and refills it
 * from `certs`, in one write transaction, the upgrade's code (store_open with STORE_REINDEX). Sets
 * st->db_revoked and st->has_revidx. */
int store_revidx_rebuild(store *st);
/* Part of store_check inside txn: the index against `certs`, both ways. Logs each problem; returns their
 * count or a negative va_err. */
long store_revidx_check(store *st, MDB_txn *txn);

#endif
