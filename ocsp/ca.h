/*
 * ca.h: per-CA responder set-up: signer certificate checks, ResponderID, and CertID matching against the issuer
 * table (built once at start from the store's issuers and their precomputed hashes).
 */
#ifndef OCSP_CA_H
#define OCSP_CA_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "err.h"
#include "request.h"
#include "store.h"

/* Checks that cert may sign OCSP responses for ca (RFC 6960 4.2.2.2): it is the CA itself (same subject and
 * key), or it was issued and signed by ca and carries id-kp-OCSPSigning in its extended key usage.
 * Returns 0, or VA_ERR_SIGNER with a human-readable reason in why. *delegated is set to 1 for a delegated
 * responder; *nocheck to whether id-pkix-ocsp-nocheck is present (RFC 6960 4.2.2.2.1). */
VA_MUST_CHECK int ocsp_ca_check_signer(X509 *ca, X509 *cert, int *delegated, int *nocheck, char *why,
				       size_t whylen);

/* The ResponderID TLV (RFC 6960 4.2.1) for cert: byName [1] EXPLICIT Name, or byKey [2] EXPLICIT KeyHash (SHA-1
 * of the subjectPublicKey BIT STRING value). *out is malloc'd (caller frees). */
VA_MUST_CHECK int ocsp_ca_responder_id(X509 *cert, int by_key, uint8_t **out, size_t *len);

/* One issuer as CertIDs name it. */
struct ocsp_issuer_hashes {
	uint8_t name_hash[STORE_HASH_COUNT][64];
	uint8_t key_hash[STORE_HASH_COUNT][64];
};

/* Computes the hashes from a CA certificate (same values as the store precomputes). */
VA_MUST_CHECK int ocsp_ca_hashes(X509 *ca, struct ocsp_issuer_hashes *h);

/* 1 if id names the issuer with hashes h (hash algorithm known, lengths and both hashes equal), else 0.
 * Constant work per call: a few memcmp. */
int ocsp_ca_certid_matches(const struct ocsp_issuer_hashes *h, const struct ocsp_certid *id);

#endif
