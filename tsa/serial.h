/*
 * serial.h: TSTInfo serial numbers, unique forever (RFC 3161 2.4.2: "unique for each TimeStampToken issued by a
 * given TSA"), across restarts, kill -9 and several tsad processes sharing one store, without a disk sync per
 * token.
 *
 * Serials come in blocks reserved durably through a reserve callback (in tsad: store_counter_reserve on
 * "tsa-serial/NAME", an LMDB commit that is on disk before it returns). A block is never handed out before its
 * reservation is durable and is never reused: a crash loses at most the unused rest of the blocks it held.
 * Within a block serials are handed out by one atomic fetch-and-add, without a lock. When half of the current
 * block is used, the thread that crosses the mark reserves the next block (outside any lock the others need), so
 * the switch normally finds it ready and no thread waits for the store.
 *
 * Values start at 1 (positive, RFC 3161 2.4.2) and are at most 2^63 - 1, far below the 160 bits allowed.
 * Errors: 0 or a negative va_err. Thread-safe.
 */
#ifndef VA_TSA_SERIAL_H
#define VA_TSA_SERIAL_H

#include <stdint.h>

#include "err.h"

/* Reserves count consecutive values durably; sets *first. Called with no lock the fast path needs. */
typedef int (*tsa_serial_reserve_fn)(void *arg, uint64_t count, uint64_t *first);

typedef struct tsa_serial tsa_serial;

/* block: serials per reservation (>= 2). reserve_arg must outlive the allocator. The first block is reserved
 * lazily, by the first tsa_serial_next. Returns NULL on allocation failure. */
tsa_serial *tsa_serial_new(tsa_serial_reserve_fn reserve, void *reserve_arg, uint64_t block);
/* Accepts NULL. No thread may be inside tsa_serial_next. */
void tsa_serial_free(tsa_serial *s);

/* Next serial in *out. Errors of the reserve callback are returned (the caller answers systemFailure); a later
 * call tries again. */
VA_MUST_CHECK int tsa_serial_next(tsa_serial *s, uint64_t *out);

/* Reserves the next block now unless one is already waiting or being reserved (0 then). For a periodic retry
 * after the store failed, so that recovery does not wait for traffic. */
VA_MUST_CHECK int tsa_serial_reserve_ahead(tsa_serial *s);

/* Number of reservations made so far (for metrics and tests). */
uint64_t tsa_serial_reservations(const tsa_serial *s);

#endif
