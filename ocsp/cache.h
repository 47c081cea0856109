/*
 * cache.h: the signed-response cache of ocspd.
 *
 * Key: the request's CertID DER (hash algorithm, issuer hashes and serial; strict DER makes it canonical), so
 * one certificate has one entry per hash algorithm a client uses. Value: the complete signed OCSPResponse DER.
 *
 * Read-mostly: a fixed bucket array under striped rwlocks; a hit takes one read lock and one atomic increment and
 * hands the entry out by reference (no copy): release it with ocsp_cache_entry_put(), which fits
 * http_response.body_free. Entries are immutable once inserted.
 *
 * Invalidation is ordered against concurrent signing through an epoch: read ocsp_cache_epoch() before reading
 * the certificate's status, and pass it to ocsp_cache_insert(); an entry whose status may predate a removal is
 * then never inserted.
 *
 * Single flight: ocsp_cache_flight_begin() admits one signer per key and bounds all signatures in flight.
 * Thread-safety: every function may be called from any thread.
 */
#ifndef OCSP_CACHE_H
#define OCSP_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct ocsp_cache_entry {
	atomic_uint refs;
	struct ocsp_cache_entry *next; /* bucket chain (cache-internal) */
	uint64_t hash;
	int64_t this_update, next_update, refresh_at;
	char etag[24];                 /* quoted strong ETag, NUL-terminated */
	char last_modified[32];        /* thisUpdate and nextUpdate as HTTP dates (RFC 9110 5.6.7), made once */
	char expires[32];
	size_t key_len, der_len;
	uint8_t *key;                  /* points into data[] */
	uint8_t *der;                  /* points into data[] */
	uint8_t data[];
};

typedef struct ocsp_cache ocsp_cache;

/* max_entries bounds memory (one entry is about the response size); max_flight bounds signatures in flight. */
ocsp_cache *ocsp_cache_new(size_t max_entries, unsigned max_flight);
/* Accepts NULL. Entries still referenced elsewhere stay alive until their last put. */
void ocsp_cache_free(ocsp_cache *c);

/* A new entry holding one reference, with copies of key and der, or NULL. */
struct ocsp_cache_entry *ocsp_cache_entry_new(const uint8_t *key, size_t key_len, const uint8_t *der,
					      size_t der_len, int64_t this_update, int64_t next_update,
					      int64_t refresh_at);
/* Drops one reference (frees at zero). Accepts NULL. The void * form is for http_response.body_free. */
void ocsp_cache_entry_put(struct ocsp_cache_entry *e);
void ocsp_cache_entry_release(void *e);

/* A referenced entry for key that is still fresh at now (now < refresh_at), or NULL. */
struct ocsp_cache_entry *ocsp_cache_get(ocsp_cache *c, const uint8_t *key, size_t key_len, int64_t now);
/* Like ocsp_cache_get, but also an entry past its refresh point while it is still valid (now < next_update):
 * served while another thread signs its replacement. */
struct ocsp_cache_entry *ocsp_cache_get_valid(ocsp_cache *c, const uint8_t *key, size_t key_len, int64_t now);
uint64_t ocsp_cache_epoch(ocsp_cache *c);
/* Inserts e (replacing an entry with the same key) if no removal happened since epoch; the cache takes its own
 * reference, the caller keeps theirs. Returns 1 if inserted, 0 if not. */
int ocsp_cache_insert(ocsp_cache *c, struct ocsp_cache_entry *e, uint64_t epoch);
/* Removes the entry for key if present (and advances the epoch). */
void ocsp_cache_remove(ocsp_cache *c, const uint8_t *key, size_t key_len);
/* Removes everything (advances the epoch). */
void ocsp_cache_clear(ocsp_cache *c);
/* Entries now held. */
size_t ocsp_cache_count(ocsp_cache *c);

/* Single flight. key NULL: an anonymous signature (nonce requests), only counted.
 * Returns 1: the caller is the one signer for key and must call ocsp_cache_flight_end(); 0: another thread was
 * signing the same key and has finished (or wait_ms passed): look the cache up again; VA_ERR_BUSY: max_flight
 * signatures are in flight (answer tryLater). */
int ocsp_cache_flight_begin(ocsp_cache *c, const uint8_t *key, size_t key_len, unsigned wait_ms);
void ocsp_cache_flight_end(ocsp_cache *c, const uint8_t *key, size_t key_len);

#endif
