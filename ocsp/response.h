/*
 * response.h: building and signing OCSP responses (RFC 6960 4.2) directly in DER.
 *
 * The ResponseData is written by hand and its bytes are signed through a callback, so building needs no OpenSSL
 * object and a signer failure comes back as a typed va_err (VA_ERR_SIGNER_DOWN -> tryLater).
 */
#ifndef OCSP_RESPONSE_H
#define OCSP_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* OCSPResponseStatus (RFC 6960 4.2.1). */
enum ocsp_resp_status {
	OCSP_SUCCESSFUL = 0,
	OCSP_MALFORMED_REQUEST = 1,
	OCSP_INTERNAL_ERROR = 2,
	OCSP_TRY_LATER = 3,
	OCSP_SIG_REQUIRED = 5,
	OCSP_UNAUTHORIZED = 6,
};

enum ocsp_cert_status { OCSP_CS_GOOD = 0, OCSP_CS_REVOKED = 1, OCSP_CS_UNKNOWN = 2 };

/* One SingleResponse. */
struct ocsp_single {
	const uint8_t *certid_der; /* the request's CertID TLV (borrowed) */
	size_t certid_len;
	int status;                /* enum ocsp_cert_status */
	int64_t revoked_at;
	int reason;                /* CRLReason, or -1 to omit it */
	int has_invalidity;
	int64_t invalidity;        /* invalidityDate single extension (RFC 6960 4.4.5 via RFC 5280 5.3.2) */
	int extended_revoke;       /* this answer relies on RFC 6960 4.4.8 (a serial the CA never issued) */
};

/* How a CA's responses are signed; built once at start (ca.c) and read-only afterwards. */
struct ocsp_resp_signer {
	const uint8_t *responder_id;  /* the ResponderID TLV: [1] byName or [2] byKey */
	size_t responder_id_len;
	const uint8_t *sig_alg;       /* AlgorithmIdentifier DER of the signature */
	size_t sig_alg_len;
	const uint8_t *certs;         /* concatenated Certificate DERs for certs [0], or NULL */
	size_t certs_len;
	size_t max_sig;               /* upper bound of a signature's length */
	/* Signs tbs (hash + sign); returns 0 or a va_err. */
	int (*sign)(void *arg, const uint8_t *tbs, size_t len, uint8_t *sig, size_t *siglen);
	void *sign_arg;
};

struct ocsp_resp_times {
	int64_t produced_at, this_update, next_update;
};

/* Builds a successful OCSPResponse with n SingleResponses, signs it and returns the DER in *out (free()).
 * nonce_ext: extnValue content to echo (RFC 8954), or NULL. */
VA_MUST_CHECK int ocsp_response_build(const struct ocsp_resp_signer *sg, const struct ocsp_single *s, size_t n,
				      const struct ocsp_resp_times *tm, const uint8_t *nonce_ext, size_t nonce_len,
				      uint8_t **out, size_t *outlen);

/* The unsigned error response for status (malformedRequest, internalError, tryLater, unauthorized): 5 octets of
 * static storage. */
const uint8_t *ocsp_response_error(int status, size_t *len);

#endif
