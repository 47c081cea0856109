/*
 * signer_int.h: what signer.c (front end, file backend, OpenSSL key wrapper) and signer_p11.c (PKCS#11 backend)
 * share. Not for use outside common/signer*.c.
 */
#ifndef VA_SIGNER_INT_H
#define VA_SIGNER_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "signer.h"

/* RFC 7512 attributes we match on. Values are percent-decoded; id is binary. */
#define SIGNER_URI_VAL_MAX 256
struct p11_uri {
	char token[SIGNER_URI_VAL_MAX];
	char object[SIGNER_URI_VAL_MAX];
	char serial[SIGNER_URI_VAL_MAX];
	char model[SIGNER_URI_VAL_MAX];
	char manufacturer[SIGNER_URI_VAL_MAX];
	uint8_t id[SIGNER_URI_VAL_MAX];
	size_t id_len;
	unsigned has; /* P11_URI_* bits of the attributes present */
};
#define P11_URI_TOKEN 0x01u
#define P11_URI_OBJECT 0x02u
#define P11_URI_ID 0x04u
#define P11_URI_SERIAL 0x08u
#define P11_URI_MODEL 0x10u
#define P11_URI_MANUFACTURER 0x20u
#define P11_URI_TYPE 0x40u

struct p11_binding; /* signer_p11.c */
struct p11_module;  /* signer_p11.c */

struct signer {
	struct signer_conf conf;
	X509 *cert;
	STACK_OF(X509) *chain;
	EVP_PKEY *pub;        /* the certificate's public key (borrowed from cert) */
	int key_type;         /* EVP_PKEY_RSA, EVP_PKEY_EC */
	EVP_PKEY *file_key;   /* SIGNER_FILE: the private key */
	/* The key handed to OpenSSL: file_key for SIGNER_FILE, or a key whose RSA_METHOD / EC_KEY_METHOD forwards
	 * every private-key operation to the token currently bound (stable across reconnections). */
	EVP_PKEY *op_key;
	RSA_METHOD *rsa_meth;
	EC_KEY_METHOD *ec_meth;
	atomic_int down;      /* 1 while the token is unusable */
	/* PKCS#11 state, guarded by the module's lock */
	struct p11_uri uri;
	struct p11_module *mod;
	struct p11_binding *bind;
	struct signer *mod_next;      /* module's list of signers */
	int64_t last_attempt_ms;      /* monotonic time of the last reconnection attempt */
	int64_t last_warn_ms;         /* last reconnection attempt logged at its own level */
	int loud;                     /* this attempt logs at warning/error level (else debug: no flood while down) */
	uint8_t bad_pin_hash[32];     /* SHA-256 of a PIN the token refused: not retried (PIN lockout) */
	int bad_pin_set;
};

/* Key/certificate match: signs a fixed digest with key and verifies it with the certificate's key.
 * Returns 0, VA_ERR_SIGNER (mismatch) or the signing error. */
int signer_check_match(signer *s, EVP_PKEY *key);

/* RFC 7512 parsing; VA_ERR_INVAL with a logged reason on anything we refuse. */
VA_MUST_CHECK int p11_uri_parse(const char *uri, struct p11_uri *out);

/* PKCS#11 backend. */
/* Registers s with its module and tries to bind the key: 0, VA_ERR_SIGNER_DOWN (token absent, login failed), or
 * a permanent error (VA_ERR_NOTFOUND key missing, VA_ERR_SIGNER mismatch, VA_ERR_CONFIG module not loadable). */
int p11_attach(signer *s);
void p11_detach(signer *s);
/* For one private-key operation: the token's EVP_PKEY (bound, reconnecting if due) with an in-flight reference.
 * Returns NULL (and *err) when down. Release with p11_release(s, key, failed) where failed is 0 on success or
 * 1 if the operation failed (the OpenSSL error queue is then inspected to classify the failure). */
EVP_PKEY *p11_acquire(signer *s, int *err);
/* Returns VA_OK, VA_ERR_SIGNER_DOWN (and the signer marked down) or VA_ERR_CRYPTO. */
int p11_release(signer *s, EVP_PKEY *key, int failed);
/* Module loads (C_Initialize) made by this process so far: lets tests see when a reconnection reloads. */
unsigned long p11_load_count(void);

#endif
