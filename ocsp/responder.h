/*
 * responder.h: the OCSP answering engine of ocspd: CAs and their signers, status lookup, the signed-response
 * cache with its invalidation through the store's change log, and background pre-production.
 *
 * Lifetime: built from a configuration and an open store (borrowed: it must outlive the responder); answers may
 * be asked from any number of threads at once. A reload builds a new responder and frees the old one once no
 * request uses it (serve.c).
 */
#ifndef OCSP_RESPONDER_H
#define OCSP_RESPONDER_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "conf.h"
#include "metrics.h"
#include "store.h"

/* Cache bounds: entries kept, and certificates pre-signed per CA in the background. */
#define OCSP_CACHE_ENTRIES_MAX 200000
#define OCSP_PREFILL_MAX 20000
/* Signatures in flight (single-flight misses + nonce requests); past it: tryLater. */
#define OCSP_SIGN_INFLIGHT_MAX 64
/* How long a request waits for another thread's signature of the same certificate. */
#define OCSP_FLIGHT_WAIT_MS 5000
/* Past this many unseen changes, the whole cache is dropped rather than walked entry by entry. */
#define OCSP_CHANGES_BATCH 4096

typedef struct ocsp_responder ocsp_responder;

/* Metrics of the responder, registered once at start (they outlive reloads). Any member may be NULL. try_later is
 * not counted by the responder but by serve.c when a tryLater is sent: the HTTP layer answers one too, when its
 * deferred queue is full. */
struct ocsp_counters {
	metrics_counter *hits, *misses, *signatures, *signer_errors, *try_later, *malformed, *unauthorized;
	metrics_gauge *entries;
};
/* Registers the counters in m (m may be NULL: all members NULL). */
void ocsp_counters_init(struct ocsp_counters *c, metrics *m);

/* Opens the signers, checks each CA's signer certificate (refusing one without id-kp-OCSPSigning or not issued
 * by that CA), builds the issuer table from the store, and starts pre-production. cnt is borrowed and must outlive the responder.
 * Returns NULL on failure (logged) and sets *err. A PKCS#11 token that is absent is not fatal (not ready). */
ocsp_responder *ocsp_responder_new(const struct ocspd_conf *conf, store *st, const struct ocsp_counters *cnt,
				   int *err);
/* Asks pre-production to stop after the signature it may be making; returns at once. Accepts NULL. */
void ocsp_responder_stop_request(ocsp_responder *r);
/* Stops pre-production, waiting at most wait_ms for the signature it may be making. VA_OK once its thread is
 * gone; VA_ERR_BUSY (logged) if it is still inside the signer (a PKCS#11 call hung in the HSM): r must then not
 * be freed, and a daemon shutting down ends the process instead (SIGTERM stays bounded). Accepts NULL. */
VA_MUST_CHECK int ocsp_responder_stop(ocsp_responder *r, unsigned wait_ms);
/* Stops pre-production (waiting for it without limit, unless ocsp_responder_stop did) and frees. Accepts NULL.
 * Entries handed out stay valid until put. */
void ocsp_responder_free(ocsp_responder *r);

struct ocsp_answer {
	int resp_status;                 /* enum ocsp_resp_status */
	struct ocsp_cache_entry *entry;  /* the DER to send, one reference held (also for non-cached answers) */
	const uint8_t *err_der;          /* when entry is NULL: the static error response */
	size_t err_len;
	int cacheable;                   /* 1: a cached-kind answer (RFC 5019 caching headers apply) */
	const char *result;              /* metrics label: "hit", "signed", "malformed", ... */
};

/* Answers one DER OCSPRequest. Always fills *a (errors become OCSP error responses). May sign: slow. */
void ocsp_responder_answer(ocsp_responder *r, const uint8_t *der, size_t len, struct ocsp_answer *a);
/* The part of ocsp_responder_answer that needs no signature: a fresh cached answer, or an error answer (malformed,
 * unauthorized). Returns 1 with *a filled, or 0 (a is then empty, nothing counted) when the request needs a
 * signature (cache miss or past its refresh point, a nonce to echo, several CertIDs): ask ocsp_responder_answer
 * then. */
int ocsp_responder_answer_cached(ocsp_responder *r, const uint8_t *der, size_t len, struct ocsp_answer *a);

/* Called about every 200 ms: drops cached responses of certificates whose status changed (change log). */
void ocsp_responder_tick(ocsp_responder *r);

/* Readiness: store readable and every CA's signer ready. 0 when ready, else a reason in why. */
int ocsp_responder_ready(ocsp_responder *r, char *why, size_t whylen);

#endif
