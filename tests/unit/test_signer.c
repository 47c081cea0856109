/*
 * test_signer.c: common/signer against a throw-away SoftHSM2 token (own SOFTHSM2_CONF in a temp dir; keys made
 * with pkcs11-tool, certificates with openssl's pkcs11 engine) and against PEM files. Signatures are checked with
 * OpenSSL's verification, never with the signer itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "err.h"
#include "log.h"
#include "signer.h"
#include "signer_int.h"

#define MODULE SIGNER_DEFAULT_MODULE
#define PIN "4321"

static char dir[256];   /* temp dir of the run */
static char tokdir[300];

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

static void path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static void write_file(const char *name, const char *text)
{
	char p[512];
	FILE *f;

	path(p, sizeof(p), name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void p11_conf(struct signer_conf *c, const char *name, const char *uri, const char *cert)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->type = SIGNER_PKCS11;
	snprintf(c->uri, sizeof(c->uri), "%s", uri);
	path(c->pin_file, sizeof(c->pin_file), "pin");
	path(c->cert_file, sizeof(c->cert_file), cert);
}

static void file_conf(struct signer_conf *c, const char *name, const char *key, const char *cert)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->type = SIGNER_FILE;
	path(c->key_file, sizeof(c->key_file), key);
	path(c->cert_file, sizeof(c->cert_file), cert);
}

static int group_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char conf[512];
	size_t n;

	(void)state;
	log_init("test_signer", 0, LOG_LVL_DEBUG);
	n = (size_t)snprintf(dir, sizeof(dir), "%s/va-signer.", tmp ? tmp : "/tmp");
	if (n + 7 > sizeof(dir))
		return -1;
	memset(dir + n, 'X', 6); /* mkdtemp's template */
	dir[n + 6] = '\0';
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(tokdir, sizeof(tokdir), "%s/tokens", dir);
	snprintf(conf, sizeof(conf), "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n",
		 tokdir);
	write_file("softhsm2.conf", conf);
	path(conf, sizeof(conf), "softhsm2.conf");
	setenv("SOFTHSM2_CONF", conf, 1);
	write_file("pin", PIN "\n");
	sh("mkdir %s && softhsm2-util --init-token --free --label va --pin " PIN " --so-pin 87654321 >/dev/null",
	   tokdir);
	sh("cd %s && P='pkcs11-tool --module " MODULE " --token-label va -l --pin " PIN "' && "
	   "$P --keypairgen --key-type rsa:2048 --label rsa1 --id 01 >/dev/null && "
	   "$P --keypairgen --key-type EC:prime256v1 --label ec1 --id 02 >/dev/null && "
	   "$P --keypairgen --key-type rsa:2048 --label other --id 03 >/dev/null && "
	   "$P --keypairgen --key-type EC:prime256v1 --label 'my key' --id a0b1 >/dev/null",
	   dir);
	sh("cd %s && for k in rsa1 ec1; do openssl req -new -x509 -engine pkcs11 -keyform engine "
	   "-key \"pkcs11:token=va;object=$k;type=private;pin-value=" PIN "\" -subj /CN=$k -days 30 -sha256 "
	   "-out $k.pem 2>/dev/null >/dev/null || exit 1; "
	   "openssl req -new -x509 -engine pkcs11 -keyform engine "
	   "-key \"pkcs11:token=va;object=$k;type=private;pin-value=" PIN "\" -subj /CN=$k-tsa -days 30 -sha256 "
	   "-addext extendedKeyUsage=critical,timeStamping -out $k-ts.pem 2>/dev/null >/dev/null || exit 1; done",
	   dir);
	/* File keys, and a certificate of another key for mismatch tests. */
	sh("cd %s && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out frsa.key 2>/dev/null && "
	   "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out fec.key && "
	   "openssl req -new -x509 -key frsa.key -subj /CN=frsa -days 30 -out frsa.pem && "
	   "openssl req -new -x509 -key fec.key -subj /CN=fec -days 30 -out fec.pem && "
	   "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out fother.key 2>/dev/null && "
	   "openssl pkey -in frsa.key -aes128 -passout pass:secret -out fenc.key && "
	   "openssl genpkey -algorithm ED25519 -out fed.key && "
	   "openssl req -new -x509 -key fed.key -subj /CN=fed -days 30 -out fed.pem && "
	   "cat fec.pem frsa.pem > chain.pem && echo garbage > bad.pem",
	   dir);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (dir[0] != '\0' && getenv("KEEP") == NULL)
		sh("rm -rf %s", dir);
	return 0;
}

/* OpenSSL's verdict on a signature made by the signer, with the certificate's key. */
static int verify(const signer *s, const EVP_MD *md, const uint8_t *dgst, size_t dlen, const uint8_t *sig,
		  size_t siglen)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(X509_get0_pubkey(signer_cert(s)), NULL);
	int ok;

	assert_non_null(c);
	assert_int_equal(EVP_PKEY_verify_init(c), 1);
	assert_true(EVP_PKEY_CTX_set_signature_md(c, md) > 0);
	ok = EVP_PKEY_verify(c, sig, siglen, dgst, dlen) == 1;
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return ok;
}

static int sign_and_verify(signer *s, const EVP_MD *md)
{
	uint8_t dgst[EVP_MAX_MD_SIZE], sig[1024];
	unsigned dl = 0;
	size_t sl = 0;
	char msg[64];
	int rc;

	snprintf(msg, sizeof(msg), "message %ld", (long)random());
	assert_int_equal(EVP_Digest(msg, strlen(msg), dgst, &dl, md, NULL), 1);
	rc = signer_sign_digest(s, md, dgst, dl, sig, &sl);
	if (rc != VA_OK)
		return rc;
	assert_true(sl > 0 && sl <= signer_max_sig_len(s));
	assert_true(verify(s, md, dgst, dl, sig, sl));
	/* a changed digest must not verify: the check above can fail */
	dgst[0] ^= 1;
	assert_false(verify(s, md, dgst, dl, sig, sl));
	return VA_OK;
}

/* ---- URIs ---- */

static void test_uri_good(void **state)
{
	struct p11_uri u;

	(void)state;
	assert_int_equal(p11_uri_parse("pkcs11:token=va;object=ocsp1;type=private", &u), VA_OK);
	assert_string_equal(u.token, "va");
	assert_string_equal(u.object, "ocsp1");
	assert_int_equal(u.has, P11_URI_TOKEN | P11_URI_OBJECT | P11_URI_TYPE);
	assert_int_equal(p11_uri_parse("pkcs11:object=my%20key;id=%a0%B1;serial=0123;model=SoftHSM%20v2;"
				       "manufacturer=SoftHSM%20project",
				       &u),
			 VA_OK);
	assert_string_equal(u.object, "my key");
	assert_int_equal(u.id_len, 2);
	assert_int_equal(u.id[0], 0xa0);
	assert_int_equal(u.id[1], 0xb1);
	assert_string_equal(u.serial, "0123");
	assert_string_equal(u.model, "SoftHSM v2");
	assert_string_equal(u.manufacturer, "SoftHSM project");
	assert_int_equal(p11_uri_parse("pkcs11:id=%00", &u), VA_OK);
	assert_int_equal(u.id_len, 1);
	assert_int_equal(u.id[0], 0);
}

static void test_uri_bad(void **state)
{
	static const char *bad[] = {
		"",
		"pkcs12:object=x",
		"PKCS11:object=x",
		"pkcs11:",
		"pkcs11:token=va",                 /* no key named */
		"pkcs11:object=a;object=b",        /* RFC 7512 2.3: once */
		"pkcs11:object=x;type=public",
		"pkcs11:object=x;type=cert",
		"pkcs11:object=x?pin-value=1234",  /* PIN never in the URI */
		"pkcs11:object=x;pin-value=1234",
		"pkcs11:object=x?pin-source=file:/etc/pin",
		"pkcs11:object=x?module-path=/lib/x.so",
		"pkcs11:object=%zz",
		"pkcs11:object=%4",
		"pkcs11:object=ab%",
		"pkcs11:object=",
		"pkcs11:object",
		"pkcs11:object=a b",
		"pkcs11:object=caf\xc3\xa9",
		"pkcs11:object=%0a",               /* control character in a label */
		"pkcs11:foo=bar;object=x",
		"pkcs11:slot-id=1;object=x",
		"pkcs11:id=",
	};
	char longv[600];
	struct p11_uri u;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (p11_uri_parse(bad[i], &u) != VA_ERR_INVAL)
			fail_msg("accepted bad URI \"%s\"", bad[i]);
	}
	assert_int_equal(p11_uri_parse(NULL, &u), VA_ERR_INVAL);
	memcpy(longv, "pkcs11:object=", 14);
	memset(longv + 14, 'a', sizeof(longv) - 15);
	longv[sizeof(longv) - 1] = '\0';
	assert_int_equal(p11_uri_parse(longv, &u), VA_ERR_INVAL);
}

/* ---- PIN ---- */

static void test_pin_read(void **state)
{
	struct signer_conf c;
	char pin[64];

	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "p");
	assert_int_equal(signer_pin_read(&c, pin, sizeof(pin)), VA_ERR_CONFIG);
	path(c.pin_file, sizeof(c.pin_file), "pin");
	assert_int_equal(signer_pin_read(&c, pin, sizeof(pin)), VA_OK);
	assert_string_equal(pin, PIN);
	write_file("pin-crlf", "abcd\r\nsecond line\n");
	path(c.pin_file, sizeof(c.pin_file), "pin-crlf");
	assert_int_equal(signer_pin_read(&c, pin, sizeof(pin)), VA_OK);
	assert_string_equal(pin, "abcd");
	assert_int_equal(signer_pin_read(&c, pin, 4), VA_ERR_RANGE);
	write_file("pin-empty", "\n");
	path(c.pin_file, sizeof(c.pin_file), "pin-empty");
	assert_int_equal(signer_pin_read(&c, pin, sizeof(pin)), VA_ERR_INVAL);
	path(c.pin_file, sizeof(c.pin_file), "no-such-pin");
	assert_int_equal(signer_pin_read(&c, pin, sizeof(pin)), VA_ERR_IO);
	c.pin_file[0] = '\0';
	snprintf(c.pin_env, sizeof(c.pin_env), "VA_TEST_PIN_UNSET");
	unsetenv("VA_TEST_PIN_UNSET");
	assert_int_equal(signer_pin_read(&c, pin, sizeof(pin)), VA_ERR_CONFIG);
	setenv("VA_TEST_PIN_UNSET", "9999", 1);
	assert_int_equal(signer_pin_read(&c, pin, sizeof(pin)), VA_OK);
	assert_string_equal(pin, "9999");
	unsetenv("VA_TEST_PIN_UNSET");
}

/* ---- PKCS#11 ---- */

static void check_p11_sign(const char *uri, const char *cert, int type)
{
	static const uint8_t rsa_sha256[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
					      0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00 };
	static const uint8_t ec_sha256[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
					     0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
	struct signer_conf c;
	uint8_t alg[64], sig[1024];
	size_t sl;
	int err = 1, n;
	signer *s;

	p11_conf(&c, "p", uri, cert);
	s = signer_open(&c, &err);
	assert_non_null(s);
	assert_int_equal(err, VA_OK);
	assert_int_equal(signer_ready(s), 1);
	assert_int_equal(signer_key_type(s), type);
	assert_string_equal(signer_name(s), "p");
	assert_non_null(signer_cert(s));
	assert_int_equal(sign_and_verify(s, EVP_sha256()), VA_OK);
	assert_int_equal(sign_and_verify(s, EVP_sha384()), VA_OK);
	assert_int_equal(sign_and_verify(s, EVP_sha512()), VA_OK);
	assert_int_equal(signer_probe(s), VA_OK);
	n = signer_sig_alg_der(s, EVP_sha256(), alg, sizeof(alg));
	if (type == EVP_PKEY_RSA) {
		assert_int_equal(n, sizeof(rsa_sha256));
		assert_memory_equal(alg, rsa_sha256, sizeof(rsa_sha256));
	} else {
		assert_int_equal(n, sizeof(ec_sha256));
		assert_memory_equal(alg, ec_sha256, sizeof(ec_sha256));
	}
	assert_int_equal(signer_sig_alg_der(s, EVP_sha256(), alg, 5), VA_ERR_RANGE);
	assert_int_equal(signer_sig_alg_der(s, EVP_sha1(), alg, sizeof(alg)), VA_ERR_INVAL);
	/* bad arguments */
	sl = 0;
	assert_int_equal(signer_sign_digest(s, EVP_sha256(), sig, 31, sig, &sl), VA_ERR_INVAL);
	assert_int_equal(signer_sign_digest(s, EVP_sha1(), sig, 20, sig, &sl), VA_ERR_INVAL);
	assert_int_equal(signer_sign_digest(s, EVP_md5(), sig, 16, sig, &sl), VA_ERR_INVAL);
	assert_int_equal(signer_sign(s, EVP_sha256(), (const uint8_t *)"abc", 3, sig, &sl), VA_OK);
	assert_true(sl > 0);
	signer_free(s);
}

static void test_p11_sign_rsa(void **state)
{
	(void)state;
	check_p11_sign("pkcs11:token=va;object=rsa1;type=private", "rsa1.pem", EVP_PKEY_RSA);
	check_p11_sign("pkcs11:id=%01", "rsa1.pem", EVP_PKEY_RSA);
}

static void test_p11_sign_ec(void **state)
{
	(void)state;
	check_p11_sign("pkcs11:token=va;object=ec1;type=private", "ec1.pem", EVP_PKEY_EC);
	check_p11_sign("pkcs11:manufacturer=SoftHSM%20project;object=ec1;id=%02", "ec1.pem", EVP_PKEY_EC);
}

/* signer_pkey() through OpenSSL's own builders (X509_CRL_sign verified by OpenSSL, also from the command line;
 * OCSP_basic_sign verified by OCSP_basic_verify; TS_RESP_CTX below). */
static void check_crl(const char *uri, const char *cert)
{
	struct signer_conf c;
	char p[512];
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, time(NULL));
	EVP_PKEY *k;
	FILE *f;
	int err;
	signer *s;

	p11_conf(&c, "crl", uri, cert);
	s = signer_open(&c, &err);
	assert_non_null(s);
	k = signer_pkey(s);
	assert_non_null(k);
	assert_int_equal(X509_CRL_set_version(crl, 1), 1);
	assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(signer_cert(s))), 1);
	assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
	assert_true(X509_CRL_sign(crl, k, EVP_sha256()) > 0);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(signer_cert(s))), 1);
	path(p, sizeof(p), "test.crl");
	f = fopen(p, "w");
	assert_non_null(f);
	PEM_write_X509_CRL(f, crl);
	fclose(f);
	sh("openssl crl -in %s/test.crl -CAfile %s/%s -noout 2>&1 | grep -q 'verify OK'", dir, dir, cert);
	X509_CRL_free(crl);

	/* OCSP_basic_sign, checked by OCSP_basic_verify (signature only: the test certificate is self-signed) */
	{
		OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
		OCSP_CERTID *id = OCSP_cert_to_id(NULL, signer_cert(s), signer_cert(s));
		STACK_OF(X509) *certs = sk_X509_new_null();
		X509_STORE *st = X509_STORE_new();

		assert_non_null(bs);
		assert_non_null(id);
		assert_non_null(OCSP_basic_add1_status(bs, id, V_OCSP_CERTSTATUS_GOOD, 0, NULL, t, t));
		assert_int_equal(OCSP_basic_sign(bs, signer_cert(s), k, EVP_sha256(), NULL, OCSP_NOCERTS), 1);
		sk_X509_push(certs, signer_cert(s));
		assert_int_equal(OCSP_basic_verify(bs, certs, st, OCSP_NOVERIFY | OCSP_TRUSTOTHER), 1);
		OCSP_CERTID_free(id);
		sk_X509_free(certs);
		X509_STORE_free(st);
		OCSP_BASICRESP_free(bs);
	}
	EVP_PKEY_free(k);
	ASN1_TIME_free(t);
	signer_free(s);
}

static ASN1_INTEGER *ts_serial(struct TS_resp_ctx *ctx, void *data)
{
	ASN1_INTEGER *i = ASN1_INTEGER_new();

	(void)ctx, (void)data;
	if (i != NULL)
		ASN1_INTEGER_set(i, 42);
	return i;
}

/* signer_pkey() in TS_RESP_CTX: a granted response whose signature and imprint TS_RESP_verify_response accepts. */
static void check_ts(const char *uri, const char *cert)
{
	struct signer_conf c;
	uint8_t h[32] = { 7 };
	TS_RESP_CTX *ctx = TS_RESP_CTX_new();
	TS_REQ *req = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_OBJECT *pol = OBJ_txt2obj("1.3.6.1.4.1.55555.1.1", 1);
	TS_VERIFY_CTX *v = TS_VERIFY_CTX_new();
	X509_STORE *st = X509_STORE_new();
	BIO *b = BIO_new(BIO_s_mem());
	TS_RESP *resp;
	EVP_PKEY *k;
	int err;
	signer *s;

	p11_conf(&c, "ts", uri, cert);
	s = signer_open(&c, &err);
	assert_non_null(s);
	k = signer_pkey(s);
	assert_non_null(k);
	assert_int_equal(TS_RESP_CTX_set_signer_cert(ctx, signer_cert(s)), 1);
	assert_int_equal(TS_RESP_CTX_set_signer_key(ctx, k), 1);
	assert_int_equal(TS_RESP_CTX_set_def_policy(ctx, pol), 1);
	assert_int_equal(TS_RESP_CTX_add_md(ctx, EVP_sha256()), 1);
	assert_int_equal(TS_RESP_CTX_set_signer_digest(ctx, EVP_sha256()), 1);
	TS_RESP_CTX_set_serial_cb(ctx, ts_serial, NULL);
	assert_int_equal(X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL), 1);
	assert_int_equal(TS_MSG_IMPRINT_set_algo(mi, alg), 1);
	assert_int_equal(TS_MSG_IMPRINT_set_msg(mi, h, sizeof(h)), 1);
	assert_int_equal(TS_REQ_set_version(req, 1), 1);
	assert_int_equal(TS_REQ_set_msg_imprint(req, mi), 1);
	assert_int_equal(TS_REQ_set_cert_req(req, 1), 1); /* the response carries the signer certificate */
	assert_int_equal(i2d_TS_REQ_bio(b, req), 1);
	resp = TS_RESP_create_response(ctx, b);
	assert_non_null(resp);
	assert_int_equal(ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp))), TS_STATUS_GRANTED);
	/* the self-signed test certificate is its own trust anchor */
	assert_int_equal(X509_STORE_add_cert(st, signer_cert(s)), 1);
	X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN);
	TS_VERIFY_CTX_set_store(v, st);
	assert_non_null(TS_VERIFY_CTX_set_imprint(v, OPENSSL_memdup(h, sizeof(h)), sizeof(h)));
	TS_VERIFY_CTX_set_flags(v, TS_VFY_SIGNATURE | TS_VFY_IMPRINT | TS_VFY_VERSION);
	if (TS_RESP_verify_response(v, resp) != 1) {
		ERR_print_errors_fp(stderr);
		fail_msg("TS response does not verify");
	}
	TS_RESP_free(resp);
	TS_VERIFY_CTX_free(v); /* frees the store and the imprint */
	BIO_free(b);
	ASN1_OBJECT_free(pol);
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	TS_REQ_free(req);
	TS_RESP_CTX_free(ctx);
	EVP_PKEY_free(k);
	signer_free(s);
}

static void test_p11_pkey_builder(void **state)
{
	(void)state;
	check_crl("pkcs11:token=va;object=rsa1;type=private", "rsa1.pem");
	check_crl("pkcs11:token=va;object=ec1;type=private", "ec1.pem");
	check_ts("pkcs11:token=va;object=rsa1;type=private", "rsa1-ts.pem");
	check_ts("pkcs11:token=va;object=ec1;type=private", "ec1-ts.pem");
}

static void test_p11_refused(void **state)
{
	struct signer_conf c;
	int err;

	(void)state;
	/* key missing */
	p11_conf(&c, "p", "pkcs11:token=va;object=nope;type=private", "rsa1.pem");
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_NOTFOUND);
	/* key/cert mismatch: same type, other key; and other type */
	p11_conf(&c, "p", "pkcs11:token=va;object=other;type=private", "rsa1.pem");
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_SIGNER);
	p11_conf(&c, "p", "pkcs11:token=va;object=ec1;type=private", "rsa1.pem");
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_SIGNER);
	/* bad URIs */
	p11_conf(&c, "p", "pkcs11:token=va;object=rsa1;type=private;pin-value=" PIN, "rsa1.pem");
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_INVAL);
	p11_conf(&c, "p", "file:rsa1", "rsa1.pem");
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_INVAL);
	/* no PIN source, missing module, missing certificate */
	p11_conf(&c, "p", "pkcs11:object=rsa1", "rsa1.pem");
	c.pin_file[0] = '\0';
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_CONFIG);
	p11_conf(&c, "p", "pkcs11:object=rsa1", "rsa1.pem");
	snprintf(c.module, sizeof(c.module), "%s/no-such-module.so", dir);
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_CONFIG);
	p11_conf(&c, "p", "pkcs11:object=rsa1", "missing.pem");
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_CONFIG);
	p11_conf(&c, "", "pkcs11:object=rsa1", "rsa1.pem");
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_INVAL);
	assert_null(signer_open(NULL, &err));
	signer_free(NULL);
}

static void wait_retry(void)
{
	struct timespec ts = { .tv_sec = 1, .tv_nsec = 100 * 1000 * 1000 };

	nanosleep(&ts, NULL); /* the signer retries at most once per second */
}

static void test_p11_wrong_pin(void **state)
{
	struct signer_conf c;
	uint8_t sig[512], d[32] = { 0 };
	size_t sl;
	int err;
	signer *s;

	(void)state;
	write_file("badpin", "0000\n");
	p11_conf(&c, "p", "pkcs11:token=va;object=rsa1;type=private", "rsa1.pem");
	path(c.pin_file, sizeof(c.pin_file), "badpin");
	s = signer_open(&c, &err);
	assert_non_null(s);
	assert_int_equal(err, VA_ERR_SIGNER_DOWN);
	assert_int_equal(signer_ready(s), 0);
	assert_null(signer_pkey(s));
	assert_int_equal(signer_sign_digest(s, EVP_sha256(), d, 32, sig, &sl), VA_ERR_SIGNER_DOWN);
	assert_int_equal(signer_failed(s), VA_ERR_SIGNER_DOWN);
	wait_retry();
	/* same wrong PIN: not retried, still down */
	assert_int_equal(signer_probe(s), VA_ERR_SIGNER_DOWN);
	/* the operator fixes the PIN file: recovers without a restart */
	write_file("badpin", PIN "\n");
	wait_retry();
	assert_int_equal(sign_and_verify(s, EVP_sha256()), VA_OK);
	assert_int_equal(signer_ready(s), 1);
	signer_free(s);
}

/* Token removed (whole token directory, or the token's own directory), then restored. */
static void check_removal(const char *what, int key_type)
{
	struct signer_conf c;
	char from[600], to[600];
	uint8_t d[32] = { 1 }, sig[512];
	size_t sl = 0, siglen = sizeof(sig);
	EVP_PKEY *old;
	EVP_PKEY_CTX *pc;
	int err;
	signer *s, *s2;

	if (key_type == EVP_PKEY_RSA)
		p11_conf(&c, "rm", "pkcs11:token=va;object=rsa1;type=private", "rsa1.pem");
	else
		p11_conf(&c, "rm", "pkcs11:token=va;object=ec1;type=private", "ec1.pem");
	s = signer_open(&c, &err);
	assert_non_null(s);
	assert_int_equal(err, VA_OK);
	/* a second signer on the same module and token keeps working through the reconnection */
	p11_conf(&c, "rm2", "pkcs11:token=va;object=ec1;type=private", "ec1.pem");
	s2 = signer_open(&c, &err);
	assert_non_null(s2);
	old = signer_pkey(s); /* held across the reconnection */
	assert_non_null(old);
	assert_int_equal(sign_and_verify(s, EVP_sha256()), VA_OK);

	if (strcmp(what, "tokendir") == 0) {
		snprintf(from, sizeof(from), "%s", tokdir);
	} else {
		/* the token's own directory, inside the token directory */
		FILE *p;
		char cmd[600], name[256] = "";

		snprintf(cmd, sizeof(cmd), "ls %s | head -1", tokdir);
		p = popen(cmd, "r");
		assert_non_null(p);
		assert_non_null(fgets(name, sizeof(name), p));
		pclose(p);
		name[strcspn(name, "\n")] = '\0';
		snprintf(from, sizeof(from), "%s/%s", tokdir, name);
	}
	snprintf(to, sizeof(to), "%s/gone", dir);
	sh("mv %s %s", from, to);
	assert_int_equal(signer_sign_digest(s, EVP_sha256(), d, 32, sig, &sl), VA_ERR_SIGNER_DOWN);
	assert_int_equal(signer_ready(s), 0);
	assert_int_equal(signer_failed(s), VA_ERR_SIGNER_DOWN);
	/* while the token is away, attempts fail with the typed error */
	wait_retry();
	assert_int_equal(signer_probe(s), VA_ERR_SIGNER_DOWN);
	assert_int_equal(signer_sign_digest(s2, EVP_sha256(), d, 32, sig, &sl), VA_ERR_SIGNER_DOWN);
	assert_null(signer_pkey(s));
	sh("mv %s %s", to, from);
	wait_retry();
	assert_int_equal(sign_and_verify(s, EVP_sha256()), VA_OK);
	assert_int_equal(signer_ready(s), 1);
	/* the reference taken before the reconnection signs through the new session */
	pc = EVP_PKEY_CTX_new(old, NULL);
	assert_non_null(pc);
	assert_int_equal(EVP_PKEY_sign_init(pc), 1);
	assert_true(EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) > 0);
	assert_int_equal(EVP_PKEY_sign(pc, sig, &siglen, d, 32), 1);
	EVP_PKEY_CTX_free(pc);
	assert_true(verify(s, EVP_sha256(), d, 32, sig, siglen));
	wait_retry();
	assert_int_equal(sign_and_verify(s2, EVP_sha256()), VA_OK);
	EVP_PKEY_free(old);
	signer_free(s2);
	signer_free(s);
}

static void test_p11_token_removed_rsa(void **state)
{
	(void)state;
	check_removal("tokendir", EVP_PKEY_RSA);
}

static void test_p11_token_removed_ec(void **state)
{
	(void)state;
	check_removal("token", EVP_PKEY_EC);
}

static void test_p11_token_absent_at_start(void **state)
{
	struct signer_conf c;
	char to[600];
	int err;
	signer *s;

	(void)state;
	snprintf(to, sizeof(to), "%s/gone", dir);
	sh("mv %s %s", tokdir, to);
	p11_conf(&c, "late", "pkcs11:token=va;object=rsa1;type=private", "rsa1.pem");
	s = signer_open(&c, &err);
	assert_non_null(s);
	assert_int_equal(err, VA_ERR_SIGNER_DOWN);
	assert_int_equal(signer_ready(s), 0);
	assert_int_equal(signer_ready(s), 0); /* attempts, rate-limited: still away */
	sh("mv %s %s", to, tokdir);
	wait_retry();
	/* readiness alone (no signing traffic) brings it back */
	assert_int_equal(signer_ready(s), 1);
	assert_int_equal(signer_probe(s), VA_OK);
	assert_int_equal(sign_and_verify(s, EVP_sha256()), VA_OK);
	signer_free(s);
}

/* A signer whose token is missing does not reload the module every second while another signer uses it. */
static void test_p11_missing_token_busy_module(void **state)
{
	struct signer_conf c;
	unsigned long loads;
	int err;
	signer *a, *b;

	(void)state;
	p11_conf(&c, "a", "pkcs11:token=va;object=rsa1;type=private", "rsa1.pem");
	a = signer_open(&c, &err);
	assert_non_null(a);
	p11_conf(&c, "b", "pkcs11:token=elsewhere;object=rsa1;type=private", "rsa1.pem");
	b = signer_open(&c, &err);
	assert_non_null(b);
	assert_int_equal(err, VA_ERR_SIGNER_DOWN);
	loads = p11_load_count();
	wait_retry();
	assert_int_equal(signer_ready(b), 0);
	assert_int_equal(p11_load_count(), loads); /* a is bound: no reload for b's sake */
	assert_int_equal(sign_and_verify(a, EVP_sha256()), VA_OK);
	signer_free(a);
	wait_retry();
	assert_int_equal(signer_ready(b), 0);
	assert_int_equal(p11_load_count(), loads + 1); /* nobody else bound: b may reload to look for its token */
	signer_free(b);
}

/* ---- threads ---- */

#define THREADS 4
#define PER_THREAD 40

static atomic_int stop_workers;
static atomic_int restored; /* the token is back */
static atomic_int ok_after_restore; /* signatures made since */

struct worker {
	signer *s;
	int until_stop; /* sign until stop_workers (bounded), not PER_THREAD times */
	int use_pkey; /* sign through signer_pkey() + EVP instead of signer_sign_digest */
	int ok, down, other, ok_restored;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; w->until_stop ? !atomic_load(&stop_workers) && i < 20000 : i < PER_THREAD; i++) {
		uint8_t d[32], sig[512];
		size_t sl = sizeof(sig);
		int rc;

		snprintf((char *)d, sizeof(d), "t%p-%d", (void *)w, i);
		if (w->use_pkey) {
			EVP_PKEY *k = signer_pkey(w->s);
			EVP_PKEY_CTX *c = k ? EVP_PKEY_CTX_new(k, NULL) : NULL;

			rc = VA_ERR_SIGNER_DOWN;
			if (c != NULL && EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) > 0)
				rc = EVP_PKEY_sign(c, sig, &sl, d, 32) == 1 ? VA_OK : signer_failed(w->s);
			EVP_PKEY_CTX_free(c);
			EVP_PKEY_free(k);
		} else {
			rc = signer_sign_digest(w->s, EVP_sha256(), d, 32, sig, &sl);
		}
		if (rc == VA_OK && verify(w->s, EVP_sha256(), d, 32, sig, sl)) {
			w->ok++;
			if (atomic_load(&restored)) {
				w->ok_restored++;
				atomic_fetch_add(&ok_after_restore, 1);
			}
		} else if (rc == VA_ERR_SIGNER_DOWN) {
			struct timespec ms = { 0, 1000000 };

			w->down++;
			nanosleep(&ms, NULL); /* a responder would answer tryLater; do not spin */
		} else {
			w->other++;
		}
		ERR_clear_error();
	}
	return NULL;
}

static void run_threads(signer *s, struct worker *w, int disturb)
{
	pthread_t t[THREADS];
	char to[600];

	atomic_store(&stop_workers, 0);
	atomic_store(&restored, 0);
	atomic_store(&ok_after_restore, 0);
	for (int i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].s = s;
		w[i].use_pkey = i % 2;
		w[i].until_stop = disturb;
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	if (disturb) {
		/* the token goes away and comes back while the workers sign */
		snprintf(to, sizeof(to), "%s/gone", dir);
		sh("sleep 0.05; mv %s %s; sleep 0.2; mv %s %s", tokdir, to, to, tokdir);
		atomic_store(&restored, 1);
		/* The workers keep signing: they reconnect within about a second (the retry interval); a loaded
		 * machine gets up to 10 s. */
		for (int i = 0; i < 200 && atomic_load(&ok_after_restore) < 10; i++) {
			struct timespec ms50 = { 0, 50 * 1000 * 1000 };

			nanosleep(&ms50, NULL);
		}
		atomic_store(&stop_workers, 1);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
}

static void check_threads(const char *uri, const char *cert)
{
	struct signer_conf c;
	struct worker w[THREADS];
	int err, down = 0, ok = 0, ok_restored = 0;
	signer *s;

	p11_conf(&c, "mt", uri, cert);
	s = signer_open(&c, &err);
	assert_non_null(s);
	run_threads(s, w, 0);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(w[i].ok, PER_THREAD);
		assert_int_equal(w[i].down + w[i].other, 0);
	}
	/* through a removal: every signature made verifies, every failure is typed "down", and it recovers */
	run_threads(s, w, 1);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(w[i].other, 0);
		down += w[i].down;
		ok += w[i].ok;
		ok_restored += w[i].ok_restored;
	}
	print_message("threads through a token removal: %d signatures made and verified, %d refused as down\n", ok,
		      down);
	assert_true(ok > 0);
	assert_true(down > 0);
	assert_true(ok_restored > 0); /* recovered while the threads kept signing */
	wait_retry();
	assert_int_equal(sign_and_verify(s, EVP_sha256()), VA_OK);
	signer_free(s);
}

static void test_p11_threads_rsa(void **state)
{
	(void)state;
	check_threads("pkcs11:token=va;object=rsa1;type=private", "rsa1.pem");
}

static void test_p11_threads_ec(void **state)
{
	(void)state;
	check_threads("pkcs11:token=va;object=ec1;type=private", "ec1.pem");
}

/* ---- file backend ---- */

static void test_file_sign(void **state)
{
	struct signer_conf c;
	struct worker w[THREADS];
	int err;
	signer *s;

	(void)state;
	file_conf(&c, "frsa", "frsa.key", "frsa.pem");
	path(c.chain_file, sizeof(c.chain_file), "chain.pem");
	s = signer_open(&c, &err);
	assert_non_null(s);
	assert_int_equal(err, VA_OK);
	assert_int_equal(signer_key_type(s), EVP_PKEY_RSA);
	assert_int_equal(sk_X509_num(signer_chain(s)), 2);
	assert_int_equal(signer_max_sig_len(s), 256);
	assert_int_equal(sign_and_verify(s, EVP_sha256()), VA_OK);
	assert_int_equal(sign_and_verify(s, EVP_sha512()), VA_OK);
	assert_int_equal(signer_probe(s), VA_OK);
	run_threads(s, w, 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(w[i].ok, PER_THREAD);
	signer_free(s);

	file_conf(&c, "fec", "fec.key", "fec.pem");
	s = signer_open(&c, &err);
	assert_non_null(s);
	assert_int_equal(signer_key_type(s), EVP_PKEY_EC);
	assert_int_equal(sk_X509_num(signer_chain(s)), 0);
	assert_int_equal(sign_and_verify(s, EVP_sha384()), VA_OK);
	signer_free(s);
}

static void test_file_refused(void **state)
{
	struct signer_conf c;
	int err;

	(void)state;
	file_conf(&c, "f", "fother.key", "frsa.pem"); /* mismatch */
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_SIGNER);
	file_conf(&c, "f", "fec.key", "frsa.pem");
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_SIGNER);
	file_conf(&c, "f", "fenc.key", "frsa.pem"); /* encrypted: refused, no prompt */
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_CONFIG);
	file_conf(&c, "f", "missing.key", "frsa.pem");
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_CONFIG);
	file_conf(&c, "f", "bad.pem", "frsa.pem");
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_CONFIG);
	file_conf(&c, "f", "frsa.key", "bad.pem");
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_CONFIG);
	file_conf(&c, "f", "frsa.key", "frsa.pem");
	path(c.chain_file, sizeof(c.chain_file), "bad.pem");
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_CONFIG);
	file_conf(&c, "f", "fed.key", "fed.pem"); /* Ed25519: no digest signing */
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_SIGNER);
	file_conf(&c, "f", "", "frsa.pem");
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_CONFIG);
	file_conf(&c, "f", "frsa.key", "frsa.pem");
	c.type = (enum signer_type)7;
	assert_null(signer_open(&c, &err));
	assert_int_equal(err, VA_ERR_CONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri_good),
		cmocka_unit_test(test_uri_bad),
		cmocka_unit_test(test_pin_read),
		cmocka_unit_test(test_file_sign),
		cmocka_unit_test(test_file_refused),
		cmocka_unit_test(test_p11_sign_rsa),
		cmocka_unit_test(test_p11_sign_ec),
		cmocka_unit_test(test_p11_pkey_builder),
		cmocka_unit_test(test_p11_refused),
		cmocka_unit_test(test_p11_wrong_pin),
		cmocka_unit_test(test_p11_token_removed_rsa),
		cmocka_unit_test(test_p11_token_removed_ec),
		cmocka_unit_test(test_p11_token_absent_at_start),
		cmocka_unit_test(test_p11_missing_token_busy_module),
		cmocka_unit_test(test_p11_threads_rsa),
		cmocka_unit_test(test_p11_threads_ec),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
