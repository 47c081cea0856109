/*
 * err.h: the one error convention of the project.
 *
 * Functions return 0 (VA_OK) on success and a negative va_err on failure; constructors return a pointer or NULL
 * (and, where the reason matters, store a va_err through an int *err argument). Protocol status (OCSP
 * responseStatus, TSA PKIStatus) and HTTP status are kept in their own variables, never in a va_err.
 */
#ifndef VA_ERR_H
#define VA_ERR_H

#define VA_MUST_CHECK __attribute__((warn_unused_result))

typedef enum {
	VA_OK = 0,
	VA_ERR_NOMEM = -1,       /* allocation failed */
	VA_ERR_INVAL = -2,       /* bad argument or malformed input */
	VA_ERR_NOTFOUND = -3,    /* no such issuer, certificate, key, ... */
	VA_ERR_EXISTS = -4,      /* already there (an idempotent no-op for importers) */
	VA_ERR_IO = -5,          /* file or socket error; errno is kept */
	VA_ERR_STORE = -6,       /* LMDB failure other than those below */
	VA_ERR_FULL = -7,        /* store map full and could not grow */
	VA_ERR_SCHEMA = -8,      /* store has another schema version */
	VA_ERR_CONFIG = -9,      /* configuration problem */
	VA_ERR_CRYPTO = -10,     /* OpenSSL failure (details on the OpenSSL error queue) */
	VA_ERR_SIGNER_DOWN = -11,/* transient: token absent, session lost, login failed; answer "try later" */
	VA_ERR_SIGNER = -12,     /* permanent signer problem: key/certificate mismatch, unsupported key */
	VA_ERR_BUSY = -13,       /* a bound was reached (signatures in flight, readers); try later */
	VA_ERR_CONFLICT = -14,   /* state does not allow it: serial of another issuer, release of a revoked cert */
	VA_ERR_RANGE = -15,      /* value out of its allowed range (serial too long, time out of bounds) */
	VA_ERR_CLOCK = -16,      /* clock not synchronised or stepped backwards */
} va_err;

/* Static English text for an error code; never NULL. */
const char *va_strerror(int err);

#endif
