/*
 * store.h: the LMDB revocation store shared by every process (many readers, one writer at a time).
 *
 * One LMDB environment (a directory) with five named databases:
 *   issuers  key: issuer id (uint32 BE)           value: struct store_issuer encoding (label, CA cert DER, hashes)
 *   certs    key: issuer id (4, BE) || serial key  value: fixed-layout record (struct store_cert_rec, encoded LE)
 *   revoked  key: as in certs                      value: the record, as in certs; exactly the REVOKED and HOLD
 *                                                  certificates, so that a full CRL reads them without walking
 *                                                  the good ones (store_revoked_foreach)
 *   changes  key: sequence number (uint64 BE)      value: one status change (struct store_change)
 *   meta     key: ASCII name                       value: bytes (schema version, counters such as CRL numbers)
 *
 * Serial key: one byte (0x80 | len) for zero and a positive serial, len for a negative one, then the magnitude
 * in len big-endian octets without leading zeros. Lexicographic order of keys is therefore numeric order of zero
 * and the positive serials, which is what CRL building iterates in; negative serials (non-conforming) come
 * before them, by increasing magnitude (so numerically descending).
 *
 * Values are little-endian fixed layouts with a version byte first (store_codec.c); a value of the wrong size,
 * version or content is reported as VA_ERR_STORE, never trusted.
 *
 * Every write appends to `changes`, and every write of a certificate updates `revoked`, in the same transaction,
 * so a reader sees all of it or none.
 *
 * Schema versions: 1 had no `revoked` database. A read-write store_open of a version 1 store builds the index
 * and sets version 2 in one write transaction (once; a crash leaves version 1). A read-only open reads a
 * version 1 store as it is: store_revoked_foreach then walks every certificate, and store_check says that the
 * index was not checked. Programs older than version 2 refuse a version 2 store (VA_ERR_SCHEMA), which keeps
 * them from writing statuses without the index.
 * Errors: 0 or a negative va_err (err.h). Thread-safety: a store handle may be used from many threads at once;
 * writes are serialised by LMDB's writer lock (across processes too).
 * Open the store in the process that uses it, after any fork(), and only once per process (LMDB's locks are
 * per process: two handles on one environment in one process corrupt each other's locking).
 *
 * Readers: each thread that reads through a handle keeps one cached read transaction (one of the
 * LIM_STORE_READERS reader slots shared by all processes) until the thread exits or the store is closed. When
 * every slot is taken, reads return VA_ERR_BUSY. The map grows by itself (see store_open).
 *
 * Callbacks (the *_foreach and store_changes_since functions) run inside a read transaction: they may read
 * through the store but must not write through it (a write that has to grow the map would wait for the walk
 * to end), and must not keep the pointers they are given.
 */
#ifndef VA_STORE_H
#define VA_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"
#include "va_limits.h"

#define STORE_SCHEMA_VERSION 2

typedef struct store store;

enum store_open_flags {
	STORE_RDONLY = 0,
	STORE_RDWR = 1,
	STORE_CREATE = 2, /* with STORE_RDWR: create the directory and environment if missing */
	STORE_REINDEX = 4, /* with STORE_RDWR: rebuild the revoked index from `certs` (see store_open) */
};

/* Status of a certificate the CA issued. */
enum store_status {
	STORE_GOOD = 0,
	STORE_REVOKED = 1,
	STORE_HOLD = 2, /* revoked with reason certificateHold; may be released */
};

/* CRLReason, RFC 5280 5.3.1 (7 is unused). */
enum store_reason {
	STORE_REASON_UNSPECIFIED = 0,
	STORE_REASON_KEY_COMPROMISE = 1,
	STORE_REASON_CA_COMPROMISE = 2,
	STORE_REASON_AFFILIATION_CHANGED = 3,
	STORE_REASON_SUPERSEDED = 4,
	STORE_REASON_CESSATION = 5,
	STORE_REASON_CERTIFICATE_HOLD = 6,
	STORE_REASON_REMOVE_FROM_CRL = 8,
	STORE_REASON_PRIVILEGE_WITHDRAWN = 9,
	STORE_REASON_AA_COMPROMISE = 10,
};

/* Parses OpenSSL's names ("keyCompromise", "CACompromise", "certificateHold", ... as used in index.txt),
 * case-insensitively. Returns the reason or -1. */
int store_reason_parse(const char *name);
/* OpenSSL's name for a reason ("keyCompromise"); "unknown" for an invalid value. Static storage. */
const char *store_reason_name(int reason);
const char *store_status_name(int status);

/* A certificate serial in canonical form: sign and magnitude without leading zero octets. */
struct store_serial {
	uint8_t len;      /* octets used in mag, 0..LIM_SERIAL_MAX (0 means the value zero) */
	uint8_t negative; /* 1 for a negative serial (non-conforming but seen) */
	uint8_t mag[LIM_SERIAL_MAX];
};

/* Fills s from big-endian two's-complement DER INTEGER content octets. VA_ERR_RANGE if too long. */
VA_MUST_CHECK int store_serial_from_der(struct store_serial *s, const uint8_t *content, size_t len);
/* Fills s from big-endian unsigned magnitude octets (leading zeros allowed). */
VA_MUST_CHECK int store_serial_from_bytes(struct store_serial *s, const uint8_t *mag, size_t len);
/* Parses hex ("01AF", "0x01af", "01:af"); VA_ERR_INVAL / VA_ERR_RANGE. */
VA_MUST_CHECK int store_serial_from_hex(struct store_serial *s, const char *hex);
/* Uppercase hex of the magnitude, at least two digits, "-" prefix if negative; out needs 2*LIM_SERIAL_MAX+2. */
void store_serial_to_hex(const struct store_serial *s, char *out, size_t outlen);

/* Precomputed CertID hashes (RFC 6960 4.1.1): of the issuer's subject name DER and of its public key BIT STRING
 * value, for each hash algorithm OCSP clients use. */
enum store_hash { STORE_HASH_SHA1 = 0, STORE_HASH_SHA256, STORE_HASH_SHA384, STORE_HASH_SHA512, STORE_HASH_COUNT };

struct store_issuer {
	uint32_t id;                          /* assigned by store_issuer_add, never reused */
	char label[LIM_ISSUER_LABEL_MAX];     /* operator's name for the CA, unique */
	const uint8_t *cert_der;              /* CA certificate; owned by whoever filled the struct (see below) */
	size_t cert_len;
	uint8_t name_hash[STORE_HASH_COUNT][64];
	uint8_t key_hash[STORE_HASH_COUNT][64];
};
/* Digest length of each store_hash (20, 32, 48, 64). */
size_t store_hash_len(enum store_hash h);

/* Fixed-layout certificate record. */
struct store_cert_rec {
	uint8_t status;       /* enum store_status */
	uint8_t reason;       /* enum store_reason, meaningful when status != STORE_GOOD */
	uint8_t has_invalidity;
	int64_t not_after;    /* seconds since the epoch; 0 when unknown */
	int64_t revoked_at;   /* when status != STORE_GOOD */
	int64_t invalidity;   /* invalidity date (RFC 5280 5.3.2) when has_invalidity */
	uint64_t change_seq;  /* sequence number of the change that last touched this record */
};

enum store_change_op {
	STORE_OP_ISSUE = 1,    /* certificate recorded (status may already be revoked, from an index import) */
	STORE_OP_REVOKE = 2,
	STORE_OP_HOLD = 3,
	STORE_OP_RELEASE = 4,  /* hold lifted: delta CRLs carry removeFromCRL */
	STORE_OP_ISSUER_ADD = 5,
};

struct store_change {
	uint64_t seq;
	int64_t when;                 /* time of the change (clock_now) */
	uint8_t op;                   /* enum store_change_op */
	uint32_t issuer_id;
	struct store_serial serial;   /* empty for STORE_OP_ISSUER_ADD */
	struct store_cert_rec rec;    /* record after the change */
	char actor[LIM_ACTOR_MAX];    /* OS user (or service) that made it, NUL-terminated */
};

/* Opens (and with STORE_CREATE creates) the environment in directory path. map_size 0 means the default
 * (LIM_STORE_MAP_DEFAULT); it is address space, not disk; an existing store that has grown larger keeps its
 * size. A writer that fills the map doubles it (up to
 * LIM_STORE_MAP_MAX, then VA_ERR_FULL) and retries its transaction; readers, in this process or another one,
 * adopt a map grown elsewhere by themselves. Checks the schema version: VA_ERR_SCHEMA when it is neither
 * STORE_SCHEMA_VERSION nor 1 or when the environment is not a store; VA_ERR_NOTFOUND when there is no store at
 * path (without STORE_CREATE). With STORE_RDWR, a version 1 store is upgraded before this returns (see above;
 * O(certificates) once, logged); an upgrade that fails (a damaged record: VA_ERR_STORE) fails the open.
 * With STORE_REINDEX (and STORE_RDWR, else VA_ERR_INVAL), the revoked index is emptied and refilled from `certs`
 * by the code of the upgrade, in one write transaction: the repair of an index found damaged by store_check,
 * also when it is missing altogether (which otherwise fails every open with VA_ERR_SCHEMA). Readers in other
 * processes see the old index or the new one, never a part; statuses and the change log are not touched. A
 * record that does not decode fails the open (VA_ERR_STORE) and leaves the index as it was.
 * Clears reader slots left by dead processes (mdb_reader_check). On failure returns NULL and sets *err. */
store *store_open(const char *path, int flags, uint64_t map_size, int *err);
/* Closes the environment and frees every thread's cached read transaction. Accepts NULL. No other thread may
 * be inside a call on this handle, and no batch may be open. */
void store_close(store *st);

/* Actor recorded in the change log for writes through this handle, cut to LIM_ACTOR_MAX - 1 octets. NULL or
 * "" restores the default: the name of the effective user; under sudo (effective uid 0 and $SUDO_USER set)
 * "sudo:" followed by $SUDO_USER, since "root" alone does not say who made the change. Services set their own
 * name ("crlgen"). Not to be called while another thread writes through the handle. */
void store_set_actor(store *st, const char *actor);

/* Issuers. store_issuer_add computes the hashes from the certificate; VA_ERR_EXISTS if the same certificate is
 * there already (sets *id to it), VA_ERR_CONFLICT if the label is taken by another certificate. The label is 1
 * to LIM_ISSUER_LABEL_MAX - 1 characters of [A-Za-z0-9._-] (else VA_ERR_INVAL); der must be exactly one DER
 * certificate (else VA_ERR_INVAL) of 1..LIM_CERT_DER_MAX octets (else VA_ERR_RANGE); at most LIM_ISSUERS_MAX
 * issuers (VA_ERR_RANGE). Ids start at 1. The addition is logged as STORE_OP_ISSUER_ADD. */
VA_MUST_CHECK int store_issuer_add(store *st, const char *label, const uint8_t *der, size_t len, uint32_t *id);
/* Calls fn for each issuer, in id order. The issuer's cert_der points into the store's memory map and is valid
 * only during the call. A non-zero return from fn stops the walk and is returned. */
int store_issuer_foreach(store *st, int (*fn)(void *arg, const struct store_issuer *iss), void *arg);
/* Looks up by label; on success fills *iss with cert_der pointing to memory owned by the caller: free it with
 * free(iss->cert_der) (cast away const). */
VA_MUST_CHECK int store_issuer_get(store *st, const char *label, struct store_issuer *iss);

/* Certificates.
 * store_cert_get: status of (issuer, serial) in one read transaction and no heap allocation (except once per
 * thread, for its cached read transaction); VA_ERR_NOTFOUND if the CA never issued it (as far as the store
 * knows); VA_ERR_INVAL for a serial not in canonical form; VA_ERR_STORE for a damaged record. Safe from many
 * threads; hot path of ocspd. */
VA_MUST_CHECK int store_cert_get(store *st, uint32_t issuer, const struct store_serial *serial,
				 struct store_cert_rec *out);

/* Records an issued certificate, as store_batch_put does for one record in its own transaction.
 * rec->change_seq is ignored; fields that mean nothing for rec->status are cleared (a GOOD record has no
 * reason or dates; a HOLD has reason certificateHold). VA_ERR_INVAL when status, reason and dates do not go
 * together (REVOKED with certificateHold, removeFromCRL or 7; REVOKED or HOLD without revoked_at);
 * VA_ERR_NOTFOUND for an unknown issuer. For an existing record the status rules below apply:
 *   GOOD -> REVOKED or HOLD, HOLD -> GOOD or REVOKED: recorded as given (logged REVOKE / HOLD / RELEASE);
 *   REVOKED -> REVOKED with reason keyCompromise (from another reason): the reason (and the invalidity date, if
 *     given) change, the revocation date stays (logged REVOKE);
 *   REVOKED -> REVOKED otherwise, HOLD -> HOLD (any dates): VA_ERR_EXISTS, the record is kept;
 *   REVOKED -> GOOD or HOLD: VA_ERR_CONFLICT (a revocation is final).
 * notAfter is not status: 0 keeps the known value, another non-zero value replaces it (logged ISSUE).
 * Nothing changed: VA_ERR_EXISTS (a no-op, not an error for importers). */
VA_MUST_CHECK int store_cert_add(store *st, uint32_t issuer, const struct store_serial *serial,
				 const struct store_cert_rec *rec);

/* Status changes. revoke: GOOD or HOLD -> REVOKED (reason must not be certificateHold/removeFromCRL/7, else
 * VA_ERR_INVAL); REVOKED -> REVOKED only to change the reason to keyCompromise (the revocation date stays, the
 * invalidity date is set if given), else VA_ERR_EXISTS.
 * hold: GOOD -> HOLD; HOLD -> HOLD is VA_ERR_EXISTS; REVOKED -> VA_ERR_CONFLICT.
 * release: HOLD -> GOOD (revocation fields cleared, logged RELEASE), else VA_ERR_CONFLICT.
 * Unknown serial or issuer: VA_ERR_NOTFOUND. when 0 means now (clock_now); negative times are VA_ERR_INVAL.
 * invalidity may be 0 (none). */
VA_MUST_CHECK int store_cert_revoke(store *st, uint32_t issuer, const struct store_serial *serial, int reason,
				    int64_t when, int64_t invalidity);
VA_MUST_CHECK int store_cert_hold(store *st, uint32_t issuer, const struct store_serial *serial, int64_t when);
VA_MUST_CHECK int store_cert_release(store *st, uint32_t issuer, const struct store_serial *serial);

/* Iterates the certificates of one issuer in serial order. only_revoked: skip GOOD records (REVOKED and HOLD
 * are visited). All visits see one consistent snapshot (one read transaction). fn's pointers are valid only
 * during the call; a non-zero return stops the walk and is returned. */
int store_cert_foreach(store *st, uint32_t issuer, int only_revoked,
		       int (*fn)(void *arg, const struct store_serial *serial, const struct store_cert_rec *rec),
		       void *arg);
/* The REVOKED and HOLD certificates of one issuer, in serial order, from the revoked index alone: the same visits
 * as store_cert_foreach(st, issuer, 1, ...), reading O(revoked) pages instead of O(issued). An entry that does
 * not decode is VA_ERR_STORE (as in store_cert_foreach); one whose record says GOOD (only after damage) is
 * skipped and logged. On a version 1 store opened read-only: store_cert_foreach(.., 1, ..). Same rules for fn
 * as store_cert_foreach. */
int store_revoked_foreach(store *st, uint32_t issuer,
			  int (*fn)(void *arg, const struct store_serial *serial, const struct store_cert_rec *rec),
			  void *arg);
/* The same walk limited to the serials s with from <= s < to in numeric order (negative serials below zero,
 * below the positive ones; NULL from or to: no bound on that side), as a CRL partitioned by serial range needs.
 * The walk starts at the range (one B-tree descent, MDB_SET_RANGE) and stops at its end: it reads only what is
 * in it. Visits are in the order of store_revoked_foreach (key order: the negative serials first, by increasing
 * magnitude, then zero and the positive ones ascending), so a ranged walk visits exactly what the full walk
 * visits in the range, in the same order. from and to must be canonical (as store_serial_from_* makes them: no
 * leading zero octet, zero never negative, at most LIM_SERIAL_MAX octets), else VA_ERR_INVAL; from >= to is an
 * empty range. */
typedef int (*store_cert_fn)(void *arg, const struct store_serial *serial, const struct store_cert_rec *rec);
int store_revoked_foreach_range(store *st, uint32_t issuer, const struct store_serial *from,
				const struct store_serial *to, store_cert_fn fn, void *arg);

/* Change log. store_changes_last: highest sequence number (0 when empty). store_changes_since: calls fn for
 * every change with seq > after, in order, up to max (0: no limit); same return rules as foreach. */
VA_MUST_CHECK int store_changes_last(store *st, uint64_t *seq);
int store_changes_since(store *st, uint64_t after, size_t max,
			int (*fn)(void *arg, const struct store_change *ch), void *arg);

/* Meta counters: atomically reserves count values of the counter `name` (e.g. "crlnumber/3", "tsa-serial/tsa1")
 * and returns the first in *first; the counter starts at 1. Durable once this returns. count 0: VA_ERR_INVAL;
 * past UINT64_MAX: VA_ERR_RANGE. Names are 1..200 octets; counters and meta values are separate namespaces. */
VA_MUST_CHECK int store_counter_reserve(store *st, const char *name, uint64_t count, uint64_t *first);
/* Reads the next value the counter would hand out (1 if never used). */
VA_MUST_CHECK int store_counter_peek(store *st, const char *name, uint64_t *next);
/* Arbitrary small meta values (CRL publication state, import progress), at most 64 KiB (VA_ERR_RANGE).
 * VA_ERR_NOTFOUND when absent. store_meta_get copies at most *len bytes into buf and sets *len to the value's
 * size. */
VA_MUST_CHECK int store_meta_put(store *st, const char *name, const void *val, size_t len);
VA_MUST_CHECK int store_meta_get(store *st, const char *name, void *buf, size_t *len);

/* Bulk writes: one write transaction per LIM_STORE_BATCH records, each change logged. Records that already
 * exist unchanged are skipped (re-import is a no-op), so an import killed half-way is completed by running it
 * again. A batch is all or nothing. While a transaction is open (from the first put after a commit to the next
 * commit) the batch holds LMDB's writer lock: other writers, in any process, wait, and the thread that owns the
 * batch must not call any other writing function meanwhile (it would wait for itself). A batch is used by one
 * thread (LMDB write transactions belong to the thread that began them). */
typedef struct store_batch store_batch;
store_batch *store_batch_begin(store *st, int *err);
/* Adds or updates (status from rec) one certificate with the rules of store_cert_add; returns 0, or
 * VA_ERR_EXISTS for an unchanged record. VA_ERR_EXISTS, VA_ERR_CONFLICT, VA_ERR_INVAL and VA_ERR_NOTFOUND
 * concern that record only (nothing written for it, the batch goes on). Any other error aborted the open
 * transaction: its records since the last commit are lost and the batch refuses further puts (end it). */
VA_MUST_CHECK int store_batch_put(store_batch *b, uint32_t issuer, const struct store_serial *serial,
				  const struct store_cert_rec *rec);
/* Commits what is pending (also done automatically every LIM_STORE_BATCH puts). */
VA_MUST_CHECK int store_batch_commit(store_batch *b);
/* Commits the rest (commit != 0) or aborts the open transaction, and frees b. Accepts NULL. */
int store_batch_end(store_batch *b, int commit);

/* Statistics and maintenance. store_stats_get counts the whole store (every issuer) in one read transaction:
 * certs from LMDB's entry count of `certs`, revoked and hold by walking the revoked index, good = certs - revoked
 * - hold; O(revoked), not O(certificates). Exact on a store that passes store_check; after damage the figures
 * follow the index (a record that does not decode counts as good, an index entry whose copy says good or does
 * not decode counts in none). A version 1 store opened read-only (no index) has every record read: O(n), and a
 * record that does not decode counts in certs only. map_size is this process's view of the map, map_used the
 * pages in use (including LMDB's free pages). */
struct store_stats {
	uint64_t issuers, certs, good, revoked, hold, changes;
	uint64_t map_size, map_used; /* bytes */
};
VA_MUST_CHECK int store_stats_get(store *st, struct store_stats *out);
/* Consistent online copy into directory dest (must exist and be empty), compacting (mdb_env_copy2). */
VA_MUST_CHECK int store_backup(store *st, const char *dest);
/* Consistency check: every cert key decodes, records have valid status/reason, every cert's issuer exists,
 * change log sequence is dense and every entry decodes, each record's change_seq names a change that records
 * exactly this state of this certificate, the revoked index lists exactly the REVOKED and HOLD certificates
 * with their records byte for byte (each missing, extra or differing entry is a problem; a version 1 store
 * opened read-only has no index to check, which is logged and not a problem). Problems are logged; returns their count (>= 0) or a negative
 * va_err. Reads everything in one read transaction: O(n log n). */
int store_check(store *st);
/* Readable? (readiness probe: a read transaction can be started). */
int store_ping(store *st);
/* Drops this process's page-table references to the memory map (madvise MADV_DONTNEED on LMDB's read-only
 * shared map): the pages stay in the page cache and fault back in on the next touch, so data seen by live
 * transactions does not change. For long walks (CRL builds over 10^6 records) that would otherwise count the
 * whole map in the process's RSS. Safe from a foreach callback. */
int store_map_trim(store *st);

#endif
