/*
 * request.h: OCSP requests (RFC 6960 4.1) from a POST body or an RFC 5019 GET path.
 *
 * Parsing allocates nothing: every pointer in struct ocsp_request points into the caller's DER buffer and is
 * valid as long as that buffer.
 */
#ifndef OCSP_REQUEST_H
#define OCSP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "va_limits.h"
#include "store.h"

/* Largest CertID we accept (SHA-512 hashes + a 32-octet serial + headers). */
#define OCSP_CERTID_MAX 256

struct ocsp_certid {
	const uint8_t *der;     /* the whole CertID TLV, echoed verbatim in the response (RFC 6960 4.2.1) */
	size_t der_len;
	int hash;               /* enum store_hash, or -1 for a hash algorithm we do not know */
	const uint8_t *name_hash;
	size_t name_hash_len;
	const uint8_t *key_hash;
	size_t key_hash_len;
	struct store_serial serial;
};

struct ocsp_request {
	size_t ncertids;
	struct ocsp_certid certids[LIM_OCSP_CERTIDS_MAX];
	int has_nonce;
	const uint8_t *nonce_ext;  /* extnValue content of the nonce extension, echoed verbatim (RFC 8954 2.1) */
	size_t nonce_ext_len;
	size_t nonce_len;          /* length of the nonce itself */
};

enum ocsp_parse_result {
	OCSP_PARSE_OK = 0,
	OCSP_PARSE_MALFORMED = 1, /* answer malformedRequest */
};

struct ocsp_parse_limits {
	size_t max_certids;
	size_t nonce_min, nonce_max;
};

/* Parses a DER OCSPRequest of len octets. Returns 0 and fills *req, or VA_ERR_INVAL (malformedRequest): bad
 * DER, trailing bytes, an unsupported version, no CertID or more than max_certids, a nonce outside
 * [nonce_min, nonce_max], a duplicate or unknown critical extension. */
VA_MUST_CHECK int ocsp_request_parse(const uint8_t *der, size_t len, const struct ocsp_parse_limits *lim,
				     struct ocsp_request *req);

/* Decodes an RFC 5019 GET path: leading slashes are skipped, %XX escapes decoded, then base64 (standard or
 * URL-safe alphabet, padding optional; '/' is base64 data, so "//" inside is data too). Writes at most outcap
 * octets. VA_ERR_INVAL on bad input, VA_ERR_RANGE when out is too small. */
VA_MUST_CHECK int ocsp_get_decode(const char *path, size_t pathlen, uint8_t *out, size_t outcap, size_t *outlen);

/* The OCSPRequest DER of an RFC 5019 GET path, also behind a path prefix ("/ocsp/<base64>", as when the
 * responder URL has a path): the whole path is tried first, then what follows each later '/', and the first
 * decoding that is one complete DER SEQUENCE wins. VA_ERR_INVAL when none is. */
VA_MUST_CHECK int ocsp_get_request(const char *path, size_t pathlen, uint8_t *out, size_t outcap, size_t *outlen);

/* Writes the DER CertID a client would send for (hash, issuer hashes, serial); null_params selects the
 * AlgorithmIdentifier form with NULL parameters (OpenSSL, most clients) or without them. Used to find cache
 * entries of a certificate whose status changed. Returns the length, or VA_ERR_RANGE if out is too small. */
int ocsp_certid_build(int hash, int null_params, const uint8_t *name_hash, const uint8_t *key_hash,
		      const struct store_serial *serial, uint8_t *out, size_t outcap);

#endif
