/*
 * test_tsa_token.c: TimeStampResp building, checked by OpenSSL's own TS verifier (signature, ESS signing
 * certificate, imprint, nonce, version), by re-encoding (our DER must be canonical), and field by field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>

#include "../../tsa/request.h"
#include "../../tsa/token.h"
#include "test_tsa_util.h"

#define POLICY "1.3.6.1.4.1.55555.1.1"

struct fx {
	struct tt_pki pki;
	struct tsa_accept acc;
	uint8_t sig_alg[64];
	int sig_alg_len;
};

static int setup_key(void **state, int type)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || tt_pki_init(&f->pki, type, 1) != 0)
		return -1;
	if (tsa_accept_set_policy(&f->acc, POLICY) != 0 || tsa_accept_add_digest(&f->acc, "sha256") != 0 ||
	    tsa_accept_add_digest(&f->acc, "sha384") != 0 || tsa_accept_add_digest(&f->acc, "sha512") != 0)
		return -1;
	f->sig_alg_len = tt_sig_alg_der(f->pki.key, f->sig_alg, sizeof(f->sig_alg));
	if (f->sig_alg_len <= 0)
		return -1;
	*state = f;
	return 0;
}

static int setup_ec(void **state)
{
	return setup_key(state, EVP_PKEY_EC);
}

/* Names of ~2.5 KiB: TSTInfo (tsa name), signed attributes (ESSCertIDv2 issuer) and lengths of 3 octets. */
static int setup_long(void **state)
{
	struct fx *f;

	if (setup_key(state, EVP_PKEY_EC) != 0)
		return -1;
	f = *state;
	tt_pki_clear(&f->pki);
	return tt_pki_init_long_names(&f->pki, EVP_PKEY_EC, 40);
}

static int setup_rsa(void **state)
{
	return setup_key(state, EVP_PKEY_RSA);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tt_pki_clear(&f->pki);
	free(f);
	return 0;
}

static void conf_init(struct fx *f, struct tsa_token_conf *tc)
{
	memset(tc, 0, sizeof(*tc));
	tc->cert = f->pki.cert;
	tc->chain = f->pki.chain;
	tc->sig_alg_der = f->sig_alg;
	tc->sig_alg_len = (size_t)f->sig_alg_len;
	tc->max_sig_len = (size_t)EVP_PKEY_get_size(f->pki.key);
	tc->sign = tt_sign;
	tc->sign_arg = f->pki.key;
	tc->accuracy_ms = 1000;
	tc->precision_ms = 1;
	tc->verify = 1;
}

static TS_RESP *issue(struct fx *f, const struct tsa_token_conf *tc, const EVP_MD *md, uint64_t nonce, int cert_req,
		      uint64_t serial, struct timespec t, int expect_verify)
{
	tsa_token_ctx *c;
	struct tsa_request rq;
	struct tsa_reject rej;
	uint8_t *req, *resp;
	const unsigned char *p;
	size_t req_len, resp_len;
	TS_RESP *r;
	int err;

	c = tsa_token_ctx_new(tc, &err);
	assert_non_null(c);
	assert_int_equal(tt_make_request(md, nonce, cert_req, NULL, &req, &req_len), 0);
	assert_int_equal(tsa_request_parse(&f->acc, req, req_len, &rq, &rej), 0);
	assert_int_equal(tsa_token_build(c, &rq, serial, t, &resp, &resp_len), 0);
	assert_int_equal(tt_verify(&f->pki, req, req_len, resp, resp_len), expect_verify);
	p = resp;
	r = d2i_TS_RESP(NULL, &p, (long)resp_len);
	assert_non_null(r);
	assert_ptr_equal(p, resp + resp_len);
	{
		/* Canonical DER: OpenSSL's re-encoding of what it decoded is byte-identical. */
		unsigned char *re = NULL;
		int n = i2d_TS_RESP(r, &re);

		assert_int_equal(n, (int)resp_len);
		assert_memory_equal(re, resp, resp_len);
		OPENSSL_free(re);
	}
	free(resp);
	OPENSSL_free(req);
	tsa_token_ctx_free(c);
	return r;
}

static void test_verify_all_digests(void **state)
{
	struct fx *f = *state;
	struct tsa_token_conf tc;
	const EVP_MD *mds[3] = { EVP_sha256(), EVP_sha384(), EVP_sha512() };
	struct timespec t = { 1700000000, 123456789 };

	conf_init(f, &tc);
	for (int i = 0; i < 3; i++) {
		for (int cert_req = 0; cert_req <= 1; cert_req++) {
			TS_RESP *r = issue(f, &tc, mds[i], 0x0102030405060708ULL + (uint64_t)i, cert_req,
					   (uint64_t)(42 + i), t, 1);
			PKCS7 *tok = TS_RESP_get_token(r);
			STACK_OF(X509) *certs = tok->d.sign->cert;

			assert_int_equal(certs == NULL ? 0 : sk_X509_num(certs), cert_req ? 2 : 0);
			TS_RESP_free(r);
		}
	}
}

static void test_long_names(void **state)
{
	struct fx *f = *state;
	struct tsa_token_conf tc;
	struct timespec t = { 1700000000, 5000000 };
	TS_RESP *r;
	TS_TST_INFO *ti;

	assert_true(i2d_X509_NAME(X509_get_subject_name(f->pki.cert), NULL) > 2048);
	conf_init(f, &tc);
	tc.tsa_name = 1;
	r = issue(f, &tc, EVP_sha512(), 0xffffffffffffffffULL, 1, 123456, t, 1);
	ti = TS_RESP_get_tst_info(r);
	assert_int_equal(X509_NAME_cmp(TS_TST_INFO_get_tsa(ti)->d.directoryName, X509_get_subject_name(f->pki.cert)),
			 0);
	assert_memory_equal(ASN1_STRING_get0_data(TS_TST_INFO_get_time(ti)), "20231114221320.005Z", 19);
	TS_RESP_free(r);
}

/* A signer without a chain file: the token carries the TSA certificate alone. */
static void test_no_chain(void **state)
{
	struct fx *f = *state;
	struct tsa_token_conf tc;
	struct timespec t = { 1700000000, 0 };
	TS_RESP *r;
	STACK_OF(X509) *certs;

	conf_init(f, &tc);
	tc.chain = NULL;
	r = issue(f, &tc, EVP_sha256(), 9, 1, 10, t, 1);
	certs = TS_RESP_get_token(r)->d.sign->cert;
	assert_non_null(certs);
	assert_int_equal(sk_X509_num(certs), 1);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 0), f->pki.cert), 0);
	TS_RESP_free(r);
}

static void test_fields(void **state)
{
	struct fx *f = *state;
	struct tsa_token_conf tc;
	struct timespec t = { 1700000000, 120999999 }; /* 2023-11-14T22:13:20.120999999Z */
	TS_RESP *r;
	TS_TST_INFO *ti;
	const TS_ACCURACY *acc;
	char buf[64];
	PKCS7_SIGNER_INFO *si;

	conf_init(f, &tc);
	tc.accuracy_ms = 1500;
	tc.tsa_name = 1;
	r = issue(f, &tc, EVP_sha256(), 77, 1, 0x8000000000000000ULL - 1, t, 1);
	ti = TS_RESP_get_tst_info(r);
	assert_int_equal(TS_TST_INFO_get_version(ti), 1);
	assert_int_equal(ASN1_INTEGER_get(TS_TST_INFO_get_nonce(ti)), 77);
	assert_int_equal(TS_TST_INFO_get_ordering(ti), 0);
	{
		uint64_t s = 0;

		assert_int_equal(ASN1_INTEGER_get_uint64(&s, TS_TST_INFO_get_serial(ti)), 1);
		assert_true(s == 0x7fffffffffffffffULL);
	}
	OBJ_obj2txt(buf, sizeof(buf), TS_TST_INFO_get_policy_id(ti), 1);
	assert_string_equal(buf, POLICY);
	/* genTime truncated to milliseconds, trailing zero dropped (RFC 3161 2.4.2) */
	assert_int_equal(ASN1_STRING_length(TS_TST_INFO_get_time(ti)), 18);
	assert_memory_equal(ASN1_STRING_get0_data(TS_TST_INFO_get_time(ti)), "20231114221320.12Z", 18);
	acc = TS_TST_INFO_get_accuracy(ti);
	assert_non_null(acc);
	assert_int_equal(ASN1_INTEGER_get(TS_ACCURACY_get_seconds(acc)), 1);
	assert_int_equal(ASN1_INTEGER_get(TS_ACCURACY_get_millis(acc)), 500);
	assert_null(TS_ACCURACY_get_micros(acc));
	/* tsa name: the certificate's subject as directoryName */
	assert_non_null(TS_TST_INFO_get_tsa(ti));
	assert_int_equal(TS_TST_INFO_get_tsa(ti)->type, GEN_DIRNAME);
	assert_int_equal(X509_NAME_cmp(TS_TST_INFO_get_tsa(ti)->d.directoryName, X509_get_subject_name(f->pki.cert)),
			 0);
	/* RFC 5816: signingCertificateV2 present, the SHA-1 signingCertificate absent */
	si = sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(TS_RESP_get_token(r)), 0);
	assert_non_null(si);
	assert_non_null(PKCS7_get_signed_attribute(si, NID_id_smime_aa_signingCertificateV2));
	assert_null(PKCS7_get_signed_attribute(si, NID_id_smime_aa_signingCertificate));
	assert_non_null(PKCS7_get_signed_attribute(si, NID_pkcs9_messageDigest));
	TS_RESP_free(r);

	/* seconds only; no accuracy; no tsa */
	tc.precision_ms = 0;
	tc.accuracy_ms = 0;
	tc.tsa_name = 0;
	r = issue(f, &tc, EVP_sha256(), 0, 0, 1, t, 1);
	ti = TS_RESP_get_tst_info(r);
	assert_memory_equal(ASN1_STRING_get0_data(TS_TST_INFO_get_time(ti)), "20231114221320Z", 15);
	assert_null(TS_TST_INFO_get_accuracy(ti));
	assert_null(TS_TST_INFO_get_nonce(ti));
	assert_null(TS_TST_INFO_get_tsa(ti));
	TS_RESP_free(r);

	/* millis only */
	tc.accuracy_ms = 250;
	r = issue(f, &tc, EVP_sha384(), 5, 1, 300, t, 1);
	acc = TS_TST_INFO_get_accuracy(TS_RESP_get_tst_info(r));
	assert_null(TS_ACCURACY_get_seconds(acc));
	assert_int_equal(ASN1_INTEGER_get(TS_ACCURACY_get_millis(acc)), 250);
	TS_RESP_free(r);
}

static void test_gentime_format(void **state)
{
	static const struct {
		time_t sec;
		long nsec;
		int ms;
		const char *want;
	} cases[] = {
		{ 0, 0, 1, "19700101000000Z" },
		{ 1700000000, 0, 1, "20231114221320Z" },
		{ 1700000000, 999999, 1, "20231114221320Z" },   /* below 1 ms: truncated away */
		{ 1700000000, 1000000, 1, "20231114221320.001Z" },
		{ 1700000000, 500000000, 1, "20231114221320.5Z" },
		{ 1700000000, 120000000, 1, "20231114221320.12Z" },
		{ 1700000000, 999999999, 1, "20231114221320.999Z" }, /* never rounded up to the next second */
		{ 1700000000, 999999999, 0, "20231114221320Z" },
		{ 253402300799, 0, 1, "99991231235959Z" },
	};
	char out[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct timespec t = { cases[i].sec, cases[i].nsec };
		int n = tsa_gentime_format(t, cases[i].ms, out, sizeof(out));

		assert_int_equal(n, (int)strlen(cases[i].want));
		assert_string_equal(out, cases[i].want);
	}
	{
		struct timespec t = { 253402300800, 0 }; /* year 10000 */
		struct timespec neg = { -1, 0 };

		assert_int_equal(tsa_gentime_format(t, 1, out, sizeof(out)), VA_ERR_RANGE);
		assert_int_equal(tsa_gentime_format(neg, 1, out, sizeof(out)), VA_ERR_RANGE);
		assert_int_equal(tsa_gentime_format((struct timespec){ 1, 0 }, 1, out, 10), VA_ERR_RANGE);
	}
}

static void test_reject_encode(void **state)
{
	static const int fails[] = { TSA_FAIL_BAD_ALG, TSA_FAIL_BAD_REQUEST, TSA_FAIL_BAD_DATA_FORMAT,
				     TSA_FAIL_TIME_NOT_AVAILABLE, TSA_FAIL_UNACCEPTED_POLICY,
				     TSA_FAIL_UNACCEPTED_EXTENSION, TSA_FAIL_SYSTEM_FAILURE };
	uint8_t buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
		struct tsa_reject rej;
		const unsigned char *p = buf;
		TS_RESP *r;
		const ASN1_BIT_STRING *fi;
		const STACK_OF(ASN1_UTF8STRING) *text;
		int n;

		tsa_reject_set(&rej, fails[i], "some reason", "x");
		n = tsa_reject_encode(&rej, buf, sizeof(buf));
		assert_true(n > 0);
		r = d2i_TS_RESP(NULL, &p, n);
		assert_non_null(r);
		assert_ptr_equal(p, buf + n);
		assert_int_equal(ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(r))),
				 TSA_STATUS_REJECTION);
		fi = TS_STATUS_INFO_get0_failure_info(TS_RESP_get_status_info(r));
		assert_non_null(fi);
		for (int b = 0; b < 32; b++)
			assert_int_equal(ASN1_BIT_STRING_get_bit(fi, b), b == fails[i]);
		text = TS_STATUS_INFO_get0_text(TS_RESP_get_status_info(r));
		assert_int_equal(sk_ASN1_UTF8STRING_num(text), 1);
		assert_memory_equal(ASN1_STRING_get0_data(sk_ASN1_UTF8STRING_value(text, 0)), "some reason", 11);
		assert_null(TS_RESP_get_token(r));
		{
			unsigned char *re = NULL;

			assert_int_equal(i2d_TS_RESP(r, &re), n);
			assert_memory_equal(re, buf, (size_t)n);
			OPENSSL_free(re);
		}
		TS_RESP_free(r);
	}
	{
		struct tsa_reject rej;

		tsa_reject_set(&rej, TSA_FAIL_SYSTEM_FAILURE, "some reason", "x");
		assert_int_equal(tsa_reject_encode(&rej, buf, 10), VA_ERR_RANGE);
	}
}

static int sign_garbage(void *arg, const EVP_MD *md, const uint8_t *data, size_t len, uint8_t *sig, size_t *siglen)
{
	(void)arg;
	(void)md;
	(void)data;
	(void)len;
	memset(sig, 0x5a, 64);
	*siglen = 64;
	return 0;
}

static int sign_down(void *arg, const EVP_MD *md, const uint8_t *data, size_t len, uint8_t *sig, size_t *siglen)
{
	(void)arg;
	(void)md;
	(void)data;
	(void)len;
	(void)sig;
	(void)siglen;
	return VA_ERR_SIGNER_DOWN;
}

static void test_sign_failures(void **state)
{
	struct fx *f = *state;
	struct tsa_token_conf tc;
	tsa_token_ctx *c;
	struct tsa_request rq;
	struct tsa_reject rej;
	uint8_t *req, *resp = NULL;
	size_t req_len, resp_len;
	struct timespec t = { 1700000000, 0 };
	int err;

	assert_int_equal(tt_make_request(EVP_sha256(), 1, 1, NULL, &req, &req_len), 0);
	assert_int_equal(tsa_request_parse(&f->acc, req, req_len, &rq, &rej), 0);

	/* verify_tokens catches a bad signature before it leaves */
	conf_init(f, &tc);
	tc.sign = sign_garbage;
	c = tsa_token_ctx_new(&tc, &err);
	assert_non_null(c);
	assert_int_equal(tsa_token_build(c, &rq, 1, t, &resp, &resp_len), VA_ERR_SIGNER);
	assert_null(resp);
	tsa_token_ctx_free(c);

	/* without it, the bad token would go out (and OpenSSL refuses it) */
	tc.verify = 0;
	c = tsa_token_ctx_new(&tc, &err);
	assert_int_equal(tsa_token_build(c, &rq, 1, t, &resp, &resp_len), 0);
	assert_int_equal(tt_verify(&f->pki, req, req_len, resp, resp_len), 0);
	free(resp);
	resp = NULL;
	/* serial 0 is not positive */
	assert_int_equal(tsa_token_build(c, &rq, 0, t, &resp, &resp_len), VA_ERR_INVAL);
	tsa_token_ctx_free(c);

	/* a token that went away is reported as such */
	tc.sign = sign_down;
	c = tsa_token_ctx_new(&tc, &err);
	assert_int_equal(tsa_token_build(c, &rq, 1, t, &resp, &resp_len), VA_ERR_SIGNER_DOWN);
	assert_null(resp);
	tsa_token_ctx_free(c);

	/* bad configuration */
	conf_init(f, &tc);
	tc.cert = NULL;
	assert_null(tsa_token_ctx_new(&tc, &err));
	assert_int_equal(err, VA_ERR_INVAL);
	tsa_token_ctx_free(NULL);
	OPENSSL_free(req);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_verify_all_digests, setup_ec, teardown),
		cmocka_unit_test_setup_teardown(test_verify_all_digests, setup_rsa, teardown),
		cmocka_unit_test_setup_teardown(test_no_chain, setup_ec, teardown),
		cmocka_unit_test_setup_teardown(test_fields, setup_ec, teardown),
		cmocka_unit_test_setup_teardown(test_fields, setup_rsa, teardown),
		cmocka_unit_test_setup_teardown(test_long_names, setup_long, teardown),
		cmocka_unit_test(test_gentime_format),
		cmocka_unit_test(test_reject_encode),
		cmocka_unit_test_setup_teardown(test_sign_failures, setup_ec, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
