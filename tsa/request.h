/*
 * request.h: parsing and validation of an RFC 3161 TimeStampReq (section 2.4.1), and the status/failInfo a
 * rejected request gets (section 2.4.2).
 *
 * Errors: 0 or a negative va_err (err.h). A request that is well-formed DER but not acceptable is not an error of
 * the function: it returns VA_ERR_INVAL and fills a struct tsa_reject with the PKIFailureInfo bit and a text for
 * the client. Protocol status (PKIStatus/failInfo) is kept apart from the return value.
 */
#ifndef VA_TSA_REQUEST_H
#define VA_TSA_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>

#include "err.h"

/* Bounds on fields copied from a request into the token. */
#define TSA_NONCE_MAX 64       /* nonce octets: RFC 3161 leaves it open; clients send 8 (openssl) to 32 */
#define TSA_OID_DER_MAX 64     /* encoded policy OID (tag, length, content) */
#define TSA_IMPRINT_DER_MAX 128 /* encoded MessageImprint: AlgorithmIdentifier + OCTET STRING of <= 64 */
#define TSA_POLICIES_MAX 16    /* accepted policies */
#define TSA_DIGESTS_MAX 8      /* accepted imprint algorithms */

/* PKIStatus (RFC 3161 2.4.2). */
enum tsa_pki_status {
	TSA_STATUS_GRANTED = 0,
	TSA_STATUS_GRANTED_WITH_MODS = 1,
	TSA_STATUS_REJECTION = 2,
	TSA_STATUS_WAITING = 3,
};

/* PKIFailureInfo bit numbers (RFC 3161 2.4.2). */
enum tsa_failure {
	TSA_FAIL_NONE = -1,
	TSA_FAIL_BAD_ALG = 0,
	TSA_FAIL_BAD_REQUEST = 2,
	TSA_FAIL_BAD_DATA_FORMAT = 5,
	TSA_FAIL_TIME_NOT_AVAILABLE = 14,
	TSA_FAIL_UNACCEPTED_POLICY = 15,
	TSA_FAIL_UNACCEPTED_EXTENSION = 16,
	TSA_FAIL_ADD_INFO_NOT_AVAILABLE = 17,
	TSA_FAIL_SYSTEM_FAILURE = 25,
};

/* Why a request is not granted: status, failInfo bit (TSA_FAIL_NONE for none) and a static text. */
struct tsa_reject {
	int status;
	int failure;
	const char *text;
	const char *metric; /* short label for metrics ("bad_alg", ...) */
};

/* What the TSA accepts. Filled at start-up, read-only afterwards (shared by all threads). */
struct tsa_accept {
	uint8_t policy_der[TSA_OID_DER_MAX];    /* default policy, encoded OID */
	size_t policy_len;
	/* accepted policies as encoded OIDs; the default one is always accepted */
	uint8_t accepted_der[TSA_POLICIES_MAX][TSA_OID_DER_MAX];
	size_t accepted_len[TSA_POLICIES_MAX];
	size_t naccepted;
	int digest_nids[TSA_DIGESTS_MAX];       /* NID_sha256, ... */
	size_t ndigests;
};

/* Sets the default policy from dotted text ("1.3.6.1.4.1.55555.1.1"); VA_ERR_CONFIG if not an OID. */
VA_MUST_CHECK int tsa_accept_set_policy(struct tsa_accept *a, const char *oid);
/* Adds an accepted policy; VA_ERR_CONFIG on a bad OID, VA_ERR_RANGE past TSA_POLICIES_MAX. */
VA_MUST_CHECK int tsa_accept_add_policy(struct tsa_accept *a, const char *oid);
/* Adds an imprint algorithm by name ("sha256", "sha384", "sha512", "sha1"); VA_ERR_CONFIG when unknown or not a
 * hash fit for imprints (MD5 and friends are refused here). */
VA_MUST_CHECK int tsa_accept_add_digest(struct tsa_accept *a, const char *name);

/* A validated request. Everything is copied out of the DER: no pointer into the input remains. */
struct tsa_request {
	int digest_nid;                          /* of the imprint */
	uint8_t imprint_der[TSA_IMPRINT_DER_MAX]; /* MessageImprint, DER, copied into TSTInfo (RFC 3161 2.4.2) */
	size_t imprint_len;
	const uint8_t *policy_der;               /* the policy to put in TSTInfo: points into struct tsa_accept */
	size_t policy_len;
	uint8_t nonce_der[TSA_NONCE_MAX + 8];    /* INTEGER, DER, when has_nonce */
	size_t nonce_len;
	int has_nonce;
	int cert_req;
};

/*
 * Decodes der[0..len) as a DER TimeStampReq (a walk with common/der.h: nothing allocated, no OpenSSL decoder) and
 * checks it against a, in this order:
 *   anything not DER or not a TimeStampReq, trailing bytes: badDataFormat; version 1 (else badRequest);
 *   imprint algorithm in the accepted list with absent or NULL parameters and a hash of its length (else
 *   badAlg); requested policy accepted (else unacceptedPolicy); nonce of 1..TSA_NONCE_MAX octets of magnitude
 *   (badRequest); no critical extension (none is supported: unacceptedExtension).
 * Returns 0 and fills *out, or VA_ERR_INVAL and fills *rej. Thread-safe (a is read only).
 */
VA_MUST_CHECK int tsa_request_parse(const struct tsa_accept *a, const uint8_t *der, size_t len,
				    struct tsa_request *out, struct tsa_reject *rej);

/* Fills rej (static texts) for the given failure. */
void tsa_reject_set(struct tsa_reject *rej, int failure, const char *text, const char *metric);

#endif
