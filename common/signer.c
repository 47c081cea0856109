/*
 * signer.c: the signer front end, the PEM-file backend, and the forwarding key handed to OpenSSL.
 *
 * For a PKCS#11 signer, callers and OpenSSL's builders never see libp11's EVP_PKEY (which points into a libp11
 * context that a reconnection frees). They see op_key: an RSA / EC key holding the certificate's public key,
 * whose RSA_METHOD / EC_KEY_METHOD forwards each private-key operation to the token key currently bound
 * (signer_p11.c: p11_acquire / p11_release). op_key stays valid across reconnections, until signer_free.
 * OpenSSL 3 keeps such "foreign" keys on its legacy EVP path, the one libp11 itself relies on.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* RSA_METHOD / EC_KEY_METHOD: the only way to forward legacy keys */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "va_limits.h"
#include "log.h"
#include "signer_int.h"

/* ex_data slots linking a forwarding RSA / EC_KEY to its signer; created once per process. */
static pthread_once_t exidx_once = PTHREAD_ONCE_INIT;
static int rsa_exidx = -1, ec_exidx = -1;

/* The last forwarded operation of this thread: lets signer_failed() tell "token gone" from other failures of an
 * OpenSSL builder that signed through op_key. */
static _Thread_local struct {
	const signer *s;
	int err;
} tl_last;

static void exidx_init(void)
{
	rsa_exidx = RSA_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	ec_exidx = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* ---- forwarding methods ---- */

static int fwd_rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to, RSA *rsa, int padding)
{
	signer *s = RSA_get_ex_data(rsa, rsa_exidx);
	EVP_PKEY *k;
	int err = VA_ERR_SIGNER_DOWN, n;

	if (s == NULL)
		return -1;
	tl_last.s = s;
	k = p11_acquire(s, &err);
	if (k == NULL) {
		tl_last.err = err;
		ERR_raise_data(ERR_LIB_RSA, ERR_R_OPERATION_FAIL, "signer %s: %s", s->conf.name, va_strerror(err));
		return -1;
	}
	/* libp11's RSA (legacy key: get0 returns the object itself) signs with CKM_RSA_PKCS / CKM_RSA_X_509. */
	n = RSA_private_encrypt(flen, from, to, (RSA *)EVP_PKEY_get0_RSA(k), padding);
	tl_last.err = p11_release(s, k, n < 0);
	return n;
}

static int fwd_rsa_priv_dec(int flen, const unsigned char *from, unsigned char *to, RSA *rsa, int padding)
{
	(void)flen, (void)from, (void)to, (void)rsa, (void)padding;
	return -1; /* signing keys never decrypt */
}

static ECDSA_SIG *fwd_ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv, const BIGNUM *r,
				  EC_KEY *ec)
{
	signer *s = EC_KEY_get_ex_data(ec, ec_exidx);
	EVP_PKEY *k;
	ECDSA_SIG *sig;
	int err = VA_ERR_SIGNER_DOWN;

	(void)kinv, (void)r;
	if (s == NULL)
		return NULL;
	tl_last.s = s;
	k = p11_acquire(s, &err);
	if (k == NULL) {
		tl_last.err = err;
		ERR_raise_data(ERR_LIB_EC, ERR_R_OPERATION_FAIL, "signer %s: %s", s->conf.name, va_strerror(err));
		return NULL;
	}
	sig = ECDSA_do_sign(dgst, dlen, (EC_KEY *)EVP_PKEY_get0_EC_KEY(k));
	tl_last.err = p11_release(s, k, sig == NULL);
	return sig;
}

static int fwd_ec_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig, unsigned int *siglen,
		       const BIGNUM *kinv, const BIGNUM *r, EC_KEY *ec)
{
	ECDSA_SIG *es = fwd_ec_sign_sig(dgst, dlen, kinv, r, ec);
	unsigned char *p = sig;
	int n;

	(void)type;
	if (es == NULL)
		return 0;
	n = i2d_ECDSA_SIG(es, &p);
	ECDSA_SIG_free(es);
	if (n <= 0)
		return 0;
	*siglen = (unsigned int)n;
	return 1;
}

static int fwd_ec_sign_setup(EC_KEY *ec, BN_CTX *ctx, BIGNUM **kinvp, BIGNUM **rp)
{
	(void)ec, (void)ctx, (void)kinvp, (void)rp;
	return 0; /* precomputed nonces would need the private key */
}

/* Builds op_key for a PKCS#11 signer from the certificate's public key. */
static int op_key_make(signer *s)
{
	int rc = VA_ERR_CRYPTO;

	pthread_once(&exidx_once, exidx_init);
	if (rsa_exidx < 0 || ec_exidx < 0)
		return VA_ERR_CRYPTO;
	s->op_key = EVP_PKEY_new();
	if (s->op_key == NULL)
		return VA_ERR_NOMEM;
	if (s->key_type == EVP_PKEY_RSA) {
		RSA *r = RSAPublicKey_dup(EVP_PKEY_get0_RSA(s->pub));

		s->rsa_meth = RSA_meth_dup(RSA_PKCS1_OpenSSL());
		if (r == NULL || s->rsa_meth == NULL || RSA_meth_set1_name(s->rsa_meth, "va-signer") != 1 ||
		    RSA_meth_set_priv_enc(s->rsa_meth, fwd_rsa_priv_enc) != 1 ||
		    RSA_meth_set_priv_dec(s->rsa_meth, fwd_rsa_priv_dec) != 1 ||
		    RSA_set_method(r, s->rsa_meth) != 1 || RSA_set_ex_data(r, rsa_exidx, s) != 1 ||
		    EVP_PKEY_assign_RSA(s->op_key, r) != 1) {
			RSA_free(r);
			goto out;
		}
	} else {
		EC_KEY *e = EC_KEY_dup(EVP_PKEY_get0_EC_KEY(s->pub));

		s->ec_meth = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
		if (e == NULL || s->ec_meth == NULL) {
			EC_KEY_free(e);
			goto out;
		}
		EC_KEY_METHOD_set_sign(s->ec_meth, fwd_ec_sign, fwd_ec_sign_setup, fwd_ec_sign_sig);
		if (EC_KEY_set_method(e, s->ec_meth) != 1 || EC_KEY_set_ex_data(e, ec_exidx, s) != 1 ||
		    EVP_PKEY_assign_EC_KEY(s->op_key, e) != 1) {
			EC_KEY_free(e);
			goto out;
		}
	}
	rc = VA_OK;
out:
	if (rc != VA_OK)
		log_openssl(LOG_LVL_ERR, "signer %s: cannot build the forwarding key", s->conf.name);
	return rc;
}

/* ---- files ---- */

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1; /* encrypted PEM keys are refused rather than prompting on a daemon's terminal */
}

static int certs_load(signer *s)
{
	FILE *f = fopen(s->conf.cert_file, "r");
	X509 *x;

	if (f == NULL) {
		log_err("signer %s: certificate %s: %s", s->conf.name, s->conf.cert_file, strerror(errno));
		return VA_ERR_CONFIG;
	}
	s->cert = PEM_read_X509(f, NULL, no_passphrase, NULL);
	fclose(f);
	if (s->cert == NULL) {
		log_openssl(LOG_LVL_ERR, "signer %s: no PEM certificate in %s", s->conf.name, s->conf.cert_file);
		return VA_ERR_CONFIG;
	}
	s->chain = sk_X509_new_null();
	if (s->chain == NULL)
		return VA_ERR_NOMEM;
	if (s->conf.chain_file[0] == '\0')
		return VA_OK;
	f = fopen(s->conf.chain_file, "r");
	if (f == NULL) {
		log_err("signer %s: chain %s: %s", s->conf.name, s->conf.chain_file, strerror(errno));
		return VA_ERR_CONFIG;
	}
	while ((x = PEM_read_X509(f, NULL, no_passphrase, NULL)) != NULL) {
		if (!sk_X509_push(s->chain, x)) {
			X509_free(x);
			fclose(f);
			return VA_ERR_NOMEM;
		}
	}
	fclose(f);
	/* The loop ends on "no start line" at end of file; anything else is a damaged file. */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE || sk_X509_num(s->chain) == 0) {
		log_openssl(LOG_LVL_ERR, "signer %s: bad chain file %s", s->conf.name, s->conf.chain_file);
		return VA_ERR_CONFIG;
	}
	ERR_clear_error();
	return VA_OK;
}

static int file_key_load(signer *s)
{
	FILE *f = fopen(s->conf.key_file, "r");

	if (f == NULL) {
		log_err("signer %s: key %s: %s", s->conf.name, s->conf.key_file, strerror(errno));
		return VA_ERR_CONFIG;
	}
	s->file_key = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	fclose(f);
	if (s->file_key == NULL) {
		log_openssl(LOG_LVL_ERR, "signer %s: no unencrypted PEM private key in %s", s->conf.name,
			    s->conf.key_file);
		return VA_ERR_CONFIG;
	}
	return VA_OK;
}

int signer_pin_read(const struct signer_conf *conf, char *out, size_t outlen)
{
	char buf[LIM_PIN_MAX + 2];
	size_t n;
	int rc = VA_OK;

	if (conf == NULL || out == NULL || outlen == 0)
		return VA_ERR_INVAL;
	out[0] = '\0';
	if (conf->pin_file[0] != '\0') {
		FILE *f = fopen(conf->pin_file, "r");

		if (f == NULL)
			return VA_ERR_IO; /* errno kept */
		if (fgets(buf, sizeof(buf), f) == NULL)
			buf[0] = '\0';
		fclose(f);
	} else if (conf->pin_env[0] != '\0') {
		const char *v = getenv(conf->pin_env);

		if (v == NULL)
			return VA_ERR_CONFIG;
		if (strlen(v) > LIM_PIN_MAX)
			return VA_ERR_RANGE;
		memcpy(buf, v, strlen(v) + 1);
	} else {
		return VA_ERR_CONFIG;
	}
	n = strcspn(buf, "\r\n");
	if (n == strlen(buf) && n > LIM_PIN_MAX) {
		rc = VA_ERR_RANGE; /* no newline within the limit */
		goto out;
	}
	buf[n] = '\0';
	if (n == 0) {
		rc = VA_ERR_INVAL;
		goto out;
	}
	if (n >= outlen) {
		rc = VA_ERR_RANGE;
		goto out;
	}
	memcpy(out, buf, n + 1);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/* ---- common ---- */

int signer_check_match(signer *s, EVP_PKEY *key)
{
	static const uint8_t probe[] = "va signer key/certificate match";
	uint8_t dgst[32], sig[1024];
	size_t siglen = sizeof(sig);
	EVP_PKEY_CTX *c = NULL;
	int rc = VA_ERR_CRYPTO;

	if (EVP_PKEY_get_size(s->pub) > (int)sizeof(sig))
		return VA_ERR_SIGNER;
	if (EVP_Digest(probe, sizeof(probe), dgst, NULL, EVP_sha256(), NULL) != 1)
		return VA_ERR_CRYPTO;
	c = EVP_PKEY_CTX_new(key, NULL);
	if (c == NULL || EVP_PKEY_sign_init(c) <= 0 || EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) <= 0 ||
	    (s->key_type == EVP_PKEY_RSA && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) <= 0))
		goto out;
	if (EVP_PKEY_sign(c, sig, &siglen, dgst, sizeof(dgst)) <= 0)
		goto out;
	EVP_PKEY_CTX_free(c);
	c = EVP_PKEY_CTX_new(s->pub, NULL);
	if (c == NULL || EVP_PKEY_verify_init(c) <= 0 || EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) <= 0) {
		rc = VA_ERR_CRYPTO;
		goto out;
	}
	if (s->key_type == EVP_PKEY_RSA && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) <= 0)
		goto out;
	rc = EVP_PKEY_verify(c, sig, siglen, dgst, sizeof(dgst)) == 1 ? VA_OK : VA_ERR_SIGNER;
	if (rc != VA_OK)
		ERR_clear_error();
out:
	EVP_PKEY_CTX_free(c);
	return rc;
}

signer *signer_open(const struct signer_conf *conf, int *err)
{
	signer *s = NULL;
	int rc = VA_ERR_INVAL;

	if (conf == NULL || conf->name[0] == '\0' || conf->cert_file[0] == '\0') {
		log_err("signer: a name and a certificate are required");
		goto out;
	}
	if (conf->type != SIGNER_FILE && conf->type != SIGNER_PKCS11) {
		log_err("signer %s: unknown type", conf->name);
		rc = VA_ERR_CONFIG;
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		rc = VA_ERR_NOMEM;
		goto out;
	}
	s->conf = *conf;
	if ((rc = certs_load(s)) != VA_OK)
		goto out;
	s->pub = X509_get0_pubkey(s->cert);
	s->key_type = s->pub ? EVP_PKEY_get_base_id(s->pub) : 0;
	if (s->key_type != EVP_PKEY_RSA && s->key_type != EVP_PKEY_EC) {
		log_err("signer %s: only RSA and EC keys are supported", conf->name);
		rc = VA_ERR_SIGNER;
		goto out;
	}
	if (conf->type == SIGNER_FILE) {
		if (conf->key_file[0] == '\0') {
			log_err("signer %s: type \"file\" needs a key", conf->name);
			rc = VA_ERR_CONFIG;
			goto out;
		}
		if ((rc = file_key_load(s)) != VA_OK)
			goto out;
		rc = signer_check_match(s, s->file_key);
		if (rc != VA_OK) {
			log_openssl(LOG_LVL_ERR, "signer %s: key %s does not match certificate %s", conf->name,
				    conf->key_file, conf->cert_file);
			rc = VA_ERR_SIGNER;
			goto out;
		}
		if (EVP_PKEY_up_ref(s->file_key) != 1) {
			rc = VA_ERR_CRYPTO;
			goto out;
		}
		s->op_key = s->file_key;
		goto out;
	}
	/* PKCS#11 */
	if ((rc = p11_uri_parse(conf->uri, &s->uri)) != VA_OK) {
		log_err("signer %s: bad uri", conf->name);
		goto out;
	}
	if (conf->pin_file[0] == '\0' && conf->pin_env[0] == '\0') {
		log_err("signer %s: pin_file or pin_env is required", conf->name);
		rc = VA_ERR_CONFIG;
		goto out;
	}
	if ((rc = op_key_make(s)) != VA_OK)
		goto out;
	rc = p11_attach(s);
	if (rc == VA_ERR_SIGNER_DOWN)
		log_warn("signer %s: starting without the token; will reconnect", conf->name);
out:
	if (rc != VA_OK && rc != VA_ERR_SIGNER_DOWN) {
		signer_free(s);
		s = NULL;
	}
	if (err != NULL)
		*err = rc;
	return s;
}

void signer_free(signer *s)
{
	if (s == NULL)
		return;
	if (s->mod != NULL)
		p11_detach(s);
	EVP_PKEY_free(s->op_key);
	EVP_PKEY_free(s->file_key);
	RSA_meth_free(s->rsa_meth);
	if (s->ec_meth != NULL)
		EC_KEY_METHOD_free(s->ec_meth); /* not NULL-safe in OpenSSL 3.0 */
	sk_X509_pop_free(s->chain, X509_free);
	X509_free(s->cert);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

const char *signer_name(const signer *s)
{
	return s->conf.name;
}

X509 *signer_cert(const signer *s)
{
	return s->cert;
}

STACK_OF(X509) *signer_chain(const signer *s)
{
	return s->chain;
}

int signer_key_type(const signer *s)
{
	return s->key_type;
}

size_t signer_max_sig_len(const signer *s)
{
	int n = EVP_PKEY_get_size(s->pub);

	return n > 0 ? (size_t)n : 0;
}

int signer_ready(signer *s)
{
	if (s == NULL)
		return 0;
	if (!atomic_load(&s->down))
		return 1;
	/* Down: readiness probes may be the only callers left (a load balancer routes nothing to a node that is not
	 * ready), so they drive the reconnection too, at the same rate limit as signing. */
	if (s->conf.type == SIGNER_PKCS11) {
		int err = VA_OK;
		EVP_PKEY *k = p11_acquire(s, &err);

		if (k != NULL)
			(void)p11_release(s, k, 0);
	}
	return !atomic_load(&s->down);
}

static int md_allowed(const EVP_MD *md)
{
	int t = md ? EVP_MD_get_type(md) : NID_undef;

	return t == NID_sha256 || t == NID_sha384 || t == NID_sha512;
}

int signer_sign_digest(signer *s, const EVP_MD *md, const uint8_t *dgst, size_t dlen, uint8_t *sig,
		       size_t *siglen)
{
	EVP_PKEY_CTX *c = NULL;
	size_t len;
	int rc = VA_ERR_INVAL;

	if (s == NULL || dgst == NULL || sig == NULL || siglen == NULL || !md_allowed(md) ||
	    dlen != (size_t)EVP_MD_get_size(md))
		return VA_ERR_INVAL;
	len = signer_max_sig_len(s);
	tl_last.s = s;
	tl_last.err = VA_OK;
	c = EVP_PKEY_CTX_new(s->op_key, NULL);
	if (c == NULL || EVP_PKEY_sign_init(c) <= 0 || EVP_PKEY_CTX_set_signature_md(c, md) <= 0 ||
	    (s->key_type == EVP_PKEY_RSA && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) <= 0)) {
		rc = VA_ERR_CRYPTO;
		goto out;
	}
	if (EVP_PKEY_sign(c, sig, &len, dgst, dlen) <= 0) {
		rc = tl_last.err != VA_OK ? tl_last.err : VA_ERR_CRYPTO;
		goto out;
	}
	*siglen = len;
	rc = VA_OK;
out:
	EVP_PKEY_CTX_free(c);
	return rc;
}

int signer_sign(signer *s, const EVP_MD *md, const uint8_t *data, size_t len, uint8_t *sig, size_t *siglen)
{
	uint8_t dgst[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;

	if (s == NULL || (data == NULL && len > 0) || !md_allowed(md))
		return VA_ERR_INVAL;
	if (EVP_Digest(data, len, dgst, &dl, md, NULL) != 1)
		return VA_ERR_CRYPTO;
	return signer_sign_digest(s, md, dgst, dl, sig, siglen);
}

int signer_probe(signer *s)
{
	static const uint8_t probe[32] = { 0x76, 0x61 };
	uint8_t sig[1024];
	size_t siglen = 0;
	int rc;

	if (s == NULL)
		return VA_ERR_INVAL;
	if (signer_max_sig_len(s) > sizeof(sig))
		return VA_ERR_SIGNER;
	rc = signer_sign_digest(s, EVP_sha256(), probe, sizeof(probe), sig, &siglen);
	if (rc == VA_OK)
		atomic_store(&s->down, 0);
	return rc;
}

int signer_sig_alg_der(const signer *s, const EVP_MD *md, uint8_t *out, size_t outlen)
{
	X509_ALGOR *a = NULL;
	unsigned char *p = out;
	int nid = NID_undef, len, rc = VA_ERR_INVAL;

	if (s == NULL || out == NULL || !md_allowed(md))
		return VA_ERR_INVAL;
	if (OBJ_find_sigid_by_algs(&nid, EVP_MD_get_type(md), s->key_type) != 1)
		return VA_ERR_INVAL;
	a = X509_ALGOR_new();
	if (a == NULL)
		return VA_ERR_NOMEM;
	/* RFC 4055 / RFC 3279 2.2.1: sha*WithRSAEncryption carries NULL parameters; RFC 5758 3.2: ecdsa-with-SHA*
	 * MUST omit them. */
	if (X509_ALGOR_set0(a, OBJ_nid2obj(nid), s->key_type == EVP_PKEY_RSA ? V_ASN1_NULL : V_ASN1_UNDEF, NULL) !=
	    1) {
		rc = VA_ERR_CRYPTO;
		goto out;
	}
	len = i2d_X509_ALGOR(a, NULL);
	if (len <= 0) {
		rc = VA_ERR_CRYPTO;
		goto out;
	}
	if ((size_t)len > outlen) {
		rc = VA_ERR_RANGE;
		goto out;
	}
	rc = i2d_X509_ALGOR(a, &p);
out:
	X509_ALGOR_free(a);
	return rc;
}

EVP_PKEY *signer_pkey(signer *s)
{
	if (s == NULL)
		return NULL;
	if (s->conf.type == SIGNER_PKCS11) {
		int err = VA_OK;
		EVP_PKEY *k = p11_acquire(s, &err); /* reconnects if due */

		if (k == NULL)
			return NULL;
		(void)p11_release(s, k, 0);
	}
	if (EVP_PKEY_up_ref(s->op_key) != 1)
		return NULL;
	return s->op_key;
}

int signer_failed(signer *s)
{
	if (s == NULL)
		return VA_ERR_INVAL;
	if (tl_last.s == s && tl_last.err == VA_ERR_SIGNER_DOWN)
		return VA_ERR_SIGNER_DOWN;
	if (atomic_load(&s->down))
		return VA_ERR_SIGNER_DOWN;
	return VA_ERR_CRYPTO;
}
