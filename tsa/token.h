/*
 * token.h: building TimeStampResp messages (RFC 3161 2.4.2): granted ones with a TSTInfo signed as CMS SignedData
 * (RFC 5652) carrying ESSCertIDv2 with SHA-256 (RFC 5816), and rejections carrying PKIStatusInfo only.
 *
 * The DER is written by hand (common/der.h) into one buffer of the exact size per response: everything that does
 * not change per request (certificates, SignerIdentifier, the signingCertificateV2 attribute, the tsa name, the
 * accuracy) is encoded once at start-up, so a request costs one TSTInfo, three hashes and one signature. No
 * OpenSSL TS_RESP_CTX is used, so nothing per thread needs to be set up and signing errors keep their va_err type.
 *
 * Errors: 0 or a negative va_err (err.h).
 * Thread-safety: a tsa_token_ctx is immutable after tsa_token_ctx_new and may be used from many threads at once,
 * provided the sign callback is thread-safe.
 */
#ifndef VA_TSA_TOKEN_H
#define VA_TSA_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "err.h"
#include "request.h"

/* Signs data (hashing it with md) and writes at most max_sig_len octets into sig. Returns 0 or a va_err;
 * VA_ERR_SIGNER_DOWN is passed on to the caller unchanged. */
typedef int (*tsa_sign_fn)(void *arg, const EVP_MD *md, const uint8_t *data, size_t len, uint8_t *sig,
			   size_t *siglen);

struct tsa_token_conf {
	X509 *cert;                 /* TSA certificate (borrowed during tsa_token_ctx_new only) */
	STACK_OF(X509) *chain;      /* further certificates to include with certReq (borrowed; may be NULL) */
	const uint8_t *sig_alg_der; /* AlgorithmIdentifier of the signature made by sign with SHA-256 */
	size_t sig_alg_len;
	size_t max_sig_len;         /* upper bound of a signature */
	tsa_sign_fn sign;
	void *sign_arg;             /* must outlive the context */
	unsigned accuracy_ms;       /* 0: no accuracy field */
	int precision_ms;           /* genTime with milliseconds (else whole seconds) */
	int tsa_name;               /* include the TSA's subject as tsa [0] GeneralName */
	int verify;                 /* verify every signature with the certificate's key after signing */
};

typedef struct tsa_token_ctx tsa_token_ctx;

/* Precomputes the constant parts. Returns NULL on failure and sets *err. */
tsa_token_ctx *tsa_token_ctx_new(const struct tsa_token_conf *conf, int *err);
/* Accepts NULL. */
void tsa_token_ctx_free(tsa_token_ctx *c);

/*
 * Builds a granted TimeStampResp for rq with the given serial (positive, from serial.c) and genTime.
 * genTime is truncated (never rounded: a token must not claim a later time than it was made) to the configured
 * precision. On success *out is a malloc'd buffer of *outlen octets the caller frees.
 */
VA_MUST_CHECK int tsa_token_build(const tsa_token_ctx *c, const struct tsa_request *rq, uint64_t serial,
				  struct timespec gen_time, uint8_t **out, size_t *outlen);

/* Encodes a TimeStampResp with status rej->status, rej->text as statusString and the failInfo bit (if any)
 * into out (at most outlen octets; 256 always suffice for the texts of request.c). Returns the length or a
 * negative va_err. */
int tsa_reject_encode(const struct tsa_reject *rej, uint8_t *out, size_t outlen);

/* Formats t as GeneralizedTime content per RFC 3161 2.4.2 ("YYYYMMDDhhmmss[.fff]Z", no trailing zeros in the
 * fraction, no fraction when it is zero). out needs 24 octets. Returns the length or VA_ERR_RANGE. */
int tsa_gentime_format(struct timespec t, int precision_ms, char *out, size_t outlen);

#endif
