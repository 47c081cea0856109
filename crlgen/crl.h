/*
 * crl.h: building, verifying and publishing X.509 v2 CRLs (RFC 5280 section 5) without holding them in memory.
 *
 * Building streams: the entries come twice from a source callback (once to learn the exact length of the
 * revokedCertificates SEQUENCE, once to write the bytes), so memory does not grow with the number of entries.
 * The TBS bytes go to a file descriptor and into a digest at once; the digest is signed through crl_sign_ops.
 * Verification walks the written file with a bounded buffer and checks the signature over the exact TBS bytes.
 * Publication is atomic: temporary file in the publish directory, fsync, rename, previous CRL kept.
 *
 * Errors: 0 or a negative va_err (err.h). No global state: every function may run in any thread.
 */
#ifndef CRL_CRL_H
#define CRL_CRL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "err.h"
#include "store.h"

#define CRL_URI_MAX 512          /* idp / freshest_crl URIs */
#define CRL_NAME_MAX 64          /* CRL name in config and file names */
#define CRL_ENTRY_DER_MAX 160    /* one entry as build.c encodes it: at most 2 + 35 (serial) + 17 (time) + 40 (exts) */
#define CRL_ENTRY_PARSE_MAX 1024 /* longest entry the verifier accepts */
#define CRL_SMALL_MAX 16384      /* longest non-entry element (issuer Name, extensions) the verifier accepts */
#define CRL_IO_BUF (256 * 1024)  /* write and read buffer */
#define CRL_SIG_MAX 1024         /* signature octets (RSA 8192 bits) */
#define CRL_ALG_MAX 64           /* AlgorithmIdentifier DER */

/* One revokedCertificates entry. */
struct crl_entry {
	struct store_serial serial;
	int64_t revoked_at;
	int reason;         /* CRLReason to encode, or -1: no reasonCode (unspecified is left out, RFC 5280 5.3.1) */
	int64_t invalidity; /* invalidityDate (RFC 5280 5.3.2), 0 for none */
};

/* Entry source. Called with an emit function; calls emit(ctx, e) for each entry, in the same order and with
 * the same content every time it is called for one build (the builder detects a difference and fails with
 * VA_ERR_CONFLICT, see crl_build). Returns 0, a negative va_err, or what emit returned when non-zero. */
typedef int (*crl_emit_fn)(void *ctx, const struct crl_entry *e);
typedef int (*crl_source_fn)(void *src_arg, crl_emit_fn emit, void *ctx);

/* How to sign: the AlgorithmIdentifier, the digest, and a function signing a digest (crl_sign_ops_signer in
 * sign.c wraps common/signer; tests wrap an EVP_PKEY). */
struct crl_sign_ops {
	const EVP_MD *md;
	uint8_t alg[CRL_ALG_MAX];
	size_t alg_len;
	size_t max_sig; /* <= CRL_SIG_MAX */
	int (*sign)(void *arg, const uint8_t *dgst, size_t dlen, uint8_t *sig, size_t *siglen);
	void *arg;
};

struct crl_params {
	const uint8_t *issuer_name; /* DER Name of the CA (its certificate's subject), borrowed */
	size_t issuer_name_len;
	const uint8_t *akid;        /* authorityKeyIdentifier keyIdentifier octets (RFC 5280 5.2.1), borrowed */
	size_t akid_len;
	int64_t this_update;
	int64_t next_update;        /* RFC 5280 5.1.2.5: conforming CAs MUST include nextUpdate */
	uint64_t number;            /* cRLNumber (RFC 5280 5.2.3) */
	int is_delta;               /* deltaCRLIndicator (RFC 5280 5.2.4) naming base_number */
	uint64_t base_number;
	const char *idp_uri;        /* issuingDistributionPoint fullName URI, or NULL (RFC 5280 5.2.5) */
	const char *freshest_uri;   /* freshestCRL URI for full CRLs, or NULL (RFC 5280 5.2.6) */
};

struct crl_result {
	uint64_t entries;
	uint64_t tbs_len;  /* octets of the TBSCertList TLV */
	uint64_t file_len;
};

/* Writes the whole signed CRL to fd (positioned at 0, empty, opened read-write). VA_ERR_CONFLICT when the
 * source yielded different entries in its two passes (the store changed between them: retry),
 * VA_ERR_IO on a write failure (errno kept), VA_ERR_RANGE for a time not encodable, or the signer's error. */
VA_MUST_CHECK int crl_build(const struct crl_params *p, crl_source_fn src, void *src_arg,
			    const struct crl_sign_ops *sig, int fd, struct crl_result *res);

/* What crl_verify found. */
struct crl_info {
	uint64_t number;      /* cRLNumber, valid when has_number */
	int has_number;
	int is_delta;
	uint64_t base_number; /* when is_delta */
	int64_t this_update;
	int64_t next_update;  /* 0 when absent */
	uint64_t entries;
	uint64_t file_len;
	uint64_t tbs_off, tbs_len;
};

/* Walks the DER of the CRL in fd (from offset 0 to its end, reading with a bounded buffer) and checks its
 * structure (RFC 5280 5.1): v2, the inner and outer signature algorithms equal, issuer equal to issuer_name
 * when given, each entry well formed with known entry extensions, no unknown critical CRL extension, nothing
 * after the end. With pub non-NULL also checks the signature over the exact TBS bytes. Fills *info. */
VA_MUST_CHECK int crl_verify_fd(int fd, EVP_PKEY *pub, const uint8_t *issuer_name, size_t issuer_name_len,
				struct crl_info *info);

/* Atomic publication in directory dir of file `fname`:
 * crl_tmp_open creates dir/.fname.<6 random characters> (mode 0644) and returns its descriptor; tmp (PATH_MAX) receives its
 * path. crl_tmp_commit fsyncs it, keeps the current dir/fname as dir/fname.prev (hard link, then rename), renames
 * the temporary file over dir/fname and fsyncs the directory, so a reader sees the old or the new CRL, never a
 * partial one. It closes fd in all cases. crl_tmp_abort closes and unlinks the temporary file. */
int crl_tmp_open(const char *dir, const char *fname, char *tmp, size_t tmplen);
VA_MUST_CHECK int crl_tmp_commit(const char *dir, const char *fname, const char *tmp, int fd);
void crl_tmp_abort(const char *tmp, int fd);

#endif
