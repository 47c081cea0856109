/*
 * signer.h: signing keys, wherever they live.
 *
 * Backends:
 *   SIGNER_PKCS11: key in an HSM through libp11, addressed by an RFC 7512 "pkcs11:" URI; module path configurable
 *                  (SoftHSM2 by default). The PIN comes from a file or an environment variable, never the config.
 *   SIGNER_FILE:   PEM private key file. For tests and quick starts only: not for production.
 * The certificate (and optional chain) always come from PEM files.
 *
 * Thread-safety: every function may be called from many threads at once, except signer_open / signer_free (one
 * thread, no other call on that signer in progress). Signatures from several threads run in parallel: libp11
 * 0.4.12 keeps a pool of up to 16 PKCS#11 sessions per slot and holds no lock during C_Sign; we only count
 * operations in flight under a short mutex. (SoftHSM2's file object store reads and fcntl-locks files on every
 * operation, which bounds EC rates; RSA-2048 scales with the cores.)
 *
 * Errors are typed: VA_ERR_SIGNER_DOWN means "token absent / session lost / login failed": callers answer
 * tryLater (OCSP) or systemFailure (TSA) and report not-ready; the signer reconnects by itself (at most once per
 * second, on the next call after a failure: it waits for the operations in flight, reloads the module -- C_Finalize,
 * C_Initialize -- logs in again and finds the key again), without a restart. All PKCS#11 signers of a process that
 * use the same module share one libp11 context (C_Finalize is process-wide), so a reconnection of one makes the
 * others find their keys again on their next call, transparently. A PIN the token refused is not presented again
 * until the PIN file / variable changes (HSMs lock the PIN after a few failures).
 *
 * Fork: open signers after daemonising (fork) and before starting threads.
 */
#ifndef VA_SIGNER_H
#define VA_SIGNER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "err.h"

enum signer_type { SIGNER_FILE = 0, SIGNER_PKCS11 = 1 };

#define SIGNER_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"

struct signer_conf {
	char name[64];            /* referenced by the services' sections */
	enum signer_type type;
	char module[PATH_MAX];    /* PKCS#11 module; SIGNER_DEFAULT_MODULE when empty */
	char uri[1024];           /* pkcs11: URI of the private key (RFC 7512) */
	char pin_file[PATH_MAX];  /* file whose first line is the PIN */
	char pin_env[64];         /* or: name of an environment variable holding the PIN */
	char key_file[PATH_MAX];  /* SIGNER_FILE: PEM private key */
	char cert_file[PATH_MAX]; /* PEM certificate of the key */
	char chain_file[PATH_MAX];/* optional PEM file of further certificates (issuer first) */
};

typedef struct signer signer;

/* Loads the certificate and chain, opens the key, and checks that the key matches the certificate.
 * A PKCS#11 token that is not there yet is not fatal: the signer starts down (signer_ready() == 0) and
 * reconnects later; *err is then VA_ERR_SIGNER_DOWN with a non-NULL return. So is a PIN the token refuses.
 * Other failures return NULL with *err: VA_ERR_INVAL (bad URI: RFC 7512 attributes token, object, id, type=private,
 * serial, model, manufacturer; no pin-value or other query attributes), VA_ERR_CONFIG (unreadable certificate,
 * chain, key file or module; no PIN source), VA_ERR_NOTFOUND (token present, no such private key),
 * VA_ERR_SIGNER (key does not match the certificate -- checked by signing a test digest and verifying it with the
 * certificate's key --, key type other than RSA or EC, URI matching several keys). */
signer *signer_open(const struct signer_conf *conf, int *err);
/* Accepts NULL. */
void signer_free(signer *s);

const char *signer_name(const signer *s);
/* Borrowed; valid until signer_free. */
X509 *signer_cert(const signer *s);
/* Borrowed; may be NULL or empty; valid until signer_free. */
STACK_OF(X509) *signer_chain(const signer *s);
/* EVP_PKEY_RSA, EVP_PKEY_EC, EVP_PKEY_ED25519 ... of the certificate's key. */
int signer_key_type(const signer *s);
/* Upper bound of a signature's length in octets. */
size_t signer_max_sig_len(const signer *s);

/* 1 if the last operation succeeded or a reconnection did; 0 while down. Cheap while up (an atomic load). While
 * down it also makes the reconnection attempt when one is due (at most once per second), so a signer whose only
 * caller is a /readyz probe (no traffic routed to a node that is not ready) still comes back by itself. */
int signer_ready(signer *s);
/* Performs a real check (a test signature) and updates readiness; returns 0 or a va_err. For /readyz probes
 * called at most every few seconds. */
VA_MUST_CHECK int signer_probe(signer *s);

/* Signs a digest already computed with md (SHA-256/384/512): RSA PKCS#1 v1.5 (with DigestInfo) or ECDSA (DER
 * Ecdsa-Sig-Value). sig must hold signer_max_sig_len() octets; *siglen is set to the length written. */
VA_MUST_CHECK int signer_sign_digest(signer *s, const EVP_MD *md, const uint8_t *dgst, size_t dlen,
				     uint8_t *sig, size_t *siglen);
/* Hashes data with md and signs the digest. */
VA_MUST_CHECK int signer_sign(signer *s, const EVP_MD *md, const uint8_t *data, size_t len, uint8_t *sig,
			      size_t *siglen);

/* DER of the AlgorithmIdentifier for signatures made with md by this key (sha256WithRSAEncryption,
 * ecdsa-with-SHA256, ...). Returns the length written, or a negative va_err if out is too small / unsupported.
 * 64 octets always suffice. */
int signer_sig_alg_der(const signer *s, const EVP_MD *md, uint8_t *out, size_t outlen);

/* An EVP_PKEY for OpenSSL's own builders (TS_RESP_CTX, OCSP_basic_sign, X509_CRL_sign) that signs through this
 * signer. The caller owns one reference (EVP_PKEY_free), which must be released before signer_free. NULL while
 * down. For PKCS#11 it is not libp11's key but a key holding the certificate's public key whose private-key
 * operations are forwarded to the token key currently bound, so a reference stays valid (and signs again) across
 * reconnections. After such a builder fails, call signer_failed() from the same thread to learn whether the
 * token went away. */
EVP_PKEY *signer_pkey(signer *s);
/* Classifies the failure of an operation made with signer_pkey(): VA_ERR_SIGNER_DOWN (and marks the signer down)
 * if the token is gone, else VA_ERR_CRYPTO. */
int signer_failed(signer *s);

/* Reads a PIN: from file (first line, trailing newline removed) or env. Writes at most outlen-1 octets + NUL.
 * Returns 0, VA_ERR_IO (file unreadable, errno kept), VA_ERR_CONFIG (no source, or the variable is unset),
 * VA_ERR_INVAL (empty PIN), VA_ERR_RANGE (longer than LIM_PIN_MAX or outlen). Logs nothing: the caller reports.
 * Used by the PKCS#11 backend; exposed for vactl/tests. */
VA_MUST_CHECK int signer_pin_read(const struct signer_conf *conf, char *out, size_t outlen);

#endif
