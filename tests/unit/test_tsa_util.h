/*
 * test_tsa_util.h: throw-away PKI and an EVP_PKEY signer for the tsa unit tests (not linked into tsad).
 */
#ifndef VA_TEST_TSA_UTIL_H
#define VA_TEST_TSA_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct tt_pki {
	EVP_PKEY *ca_key;
	X509 *ca;
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) *chain; /* the CA */
};

/* key_type: EVP_PKEY_RSA or EVP_PKEY_EC. eku_critical: the timeStamping EKU critical (as RFC 3161 2.3 wants). */
int tt_pki_init(struct tt_pki *p, int key_type, int eku_critical);
/* The same with ous extra 60-character OU entries in every name (names of several KiB). */
int tt_pki_init_long_names(struct tt_pki *p, int key_type, int ous);
void tt_pki_clear(struct tt_pki *p);

/* A certificate for p->key issued by p->ca with the given extendedKeyUsage value ("critical,timeStamping", ...;
 * NULL: none) and, when eku2 is set, a second extendedKeyUsage extension. Caller frees. */
X509 *tt_cert_with_eku(const struct tt_pki *p, const char *eku, const char *eku2);

/* tsa_sign_fn over an EVP_PKEY (arg). */
int tt_sign(void *arg, const EVP_MD *md, const uint8_t *data, size_t len, uint8_t *sig, size_t *siglen);
/* AlgorithmIdentifier DER for key with SHA-256; returns the length or -1. */
int tt_sig_alg_der(EVP_PKEY *key, uint8_t *out, size_t outlen);

/* Builds a TimeStampReq: md (EVP_sha256()...), nonce (0: none), cert_req, policy (NULL: none). malloc'd DER. */
int tt_make_request(const EVP_MD *md, uint64_t nonce, int cert_req, const char *policy, uint8_t **der,
		    size_t *len);
/* Assembles DER from a readable text: hex octets (spaces ignored), "{...}" puts the minimal definite length of
 * what it encloses in front of it (the tag is the octet written just before), "<N>" or "<N:hh>" is N octets of
 * 0x11 or hh. "30{020101 04{<3>}}" is 30 08 02 01 01 04 03 11 11 11. Non-minimal or indefinite lengths are
 * written as plain hex. Returns the length, or -1 on a syntax error or when cap is too small. */
int tt_der_asm(const char *spec, uint8_t *out, size_t cap);
/* Verifies resp against req with OpenSSL's TS verifier, trusting p->ca. 1 if good. */
int tt_verify(const struct tt_pki *p, const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len);

#endif
