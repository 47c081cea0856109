/*
 * test_tsa_request.c: TimeStampReq validation (RFC 3161 2.4.1), table-driven, with the hostile cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include "va_limits.h"
#include "../../tsa/request.h"
#include "test_tsa_request_vectors.h"
#include "test_tsa_util.h"

#define POLICY "1.3.6.1.4.1.55555.1.1"
#define POLICY2 "1.3.6.1.4.1.55555.1.2"

static void accept_default(struct tsa_accept *a)
{
	assert_int_equal(tv_accept_init(a), 0);
}

struct req_spec {
	const char *name;
	const char *md;       /* digest of the imprint, by name (or an OID in dotted form) */
	int hash_len;         /* -1: the digest's size */
	long version;
	uint64_t nonce;
	size_t nonce_octets;  /* >0: a nonce of that many 0x11 octets instead */
	const char *policy;
	int ext;              /* 0 none, 1 non-critical, 2 critical */
	int alg_params;       /* 1: put an INTEGER in the AlgorithmIdentifier parameters */
	int expect_rc;
	int expect_failure;
};

static uint8_t *build(const struct req_spec *s, size_t *len)
{
	TS_REQ *req = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_OBJECT *obj = OBJ_txt2obj(s->md, 0);
	unsigned char hash[128];
	uint8_t *der = NULL;
	int n, hl;

	assert_non_null(obj);
	if (s->alg_params) {
		ASN1_INTEGER *i = ASN1_INTEGER_new();

		ASN1_INTEGER_set(i, 5);
		X509_ALGOR_set0(alg, obj, V_ASN1_INTEGER, i);
	} else {
		X509_ALGOR_set0(alg, obj, V_ASN1_NULL, NULL);
	}
	hl = s->hash_len;
	if (hl < 0) {
		const EVP_MD *md = EVP_get_digestbyname(s->md);

		hl = md != NULL ? EVP_MD_get_size(md) : 32;
	}
	RAND_bytes(hash, sizeof(hash));
	TS_MSG_IMPRINT_set_algo(mi, alg);
	TS_MSG_IMPRINT_set_msg(mi, hash, hl);
	TS_REQ_set_version(req, s->version);
	TS_REQ_set_msg_imprint(req, mi);
	if (s->nonce != 0 || s->nonce_octets != 0) {
		ASN1_INTEGER *ai = ASN1_INTEGER_new();

		if (s->nonce_octets != 0) {
			unsigned char big[256];

			memset(big, 0x11, sizeof(big));
			ASN1_STRING_set(ai, big, (int)s->nonce_octets);
		} else {
			ASN1_INTEGER_set_uint64(ai, s->nonce);
		}
		TS_REQ_set_nonce(req, ai);
		ASN1_INTEGER_free(ai);
	}
	if (s->policy != NULL) {
		ASN1_OBJECT *o = OBJ_txt2obj(s->policy, 1);

		TS_REQ_set_policy_id(req, o);
		ASN1_OBJECT_free(o);
	}
	if (s->ext) {
		ASN1_OBJECT *o = OBJ_txt2obj("1.2.3.4.5", 1);
		ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
		X509_EXTENSION *e;

		ASN1_OCTET_STRING_set(v, (const unsigned char *)"\x05\x00", 2);
		e = X509_EXTENSION_create_by_OBJ(NULL, o, s->ext == 2, v);
		TS_REQ_add_ext(req, e, -1);
		X509_EXTENSION_free(e);
		ASN1_OCTET_STRING_free(v);
		ASN1_OBJECT_free(o);
	}
	TS_REQ_set_cert_req(req, 1);
	n = i2d_TS_REQ(req, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	TS_REQ_free(req);
	return der;
}

static const struct req_spec cases[] = {
	{ "sha256", "sha256", -1, 1, 0, 0, NULL, 0, 0, 0, TSA_FAIL_NONE },
	{ "sha384 nonce", "sha384", -1, 1, 0x1122334455667788ULL, 0, NULL, 0, 0, 0, TSA_FAIL_NONE },
	{ "sha512 default policy", "sha512", -1, 1, 7, 0, POLICY, 0, 0, 0, TSA_FAIL_NONE },
	{ "accepted policy", "sha256", -1, 1, 0, 0, POLICY2, 0, 0, 0, TSA_FAIL_NONE },
	{ "nonce of 64 octets", "sha256", -1, 1, 0, 64, NULL, 0, 0, 0, TSA_FAIL_NONE },
	{ "non-critical extension ignored", "sha256", -1, 1, 0, 0, NULL, 1, 0, 0, TSA_FAIL_NONE },
	{ "md5", "md5", -1, 1, 0, 0, NULL, 0, 0, VA_ERR_INVAL, TSA_FAIL_BAD_ALG },
	{ "sha1 not configured", "sha1", -1, 1, 0, 0, NULL, 0, 0, VA_ERR_INVAL, TSA_FAIL_BAD_ALG },
	{ "sha256 with 20 octets", "sha256", 20, 1, 0, 0, NULL, 0, 0, VA_ERR_INVAL, TSA_FAIL_BAD_ALG },
	{ "sha256 with 33 octets", "sha256", 33, 1, 0, 0, NULL, 0, 0, VA_ERR_INVAL, TSA_FAIL_BAD_ALG },
	{ "sha512 with 0 octets", "sha512", 0, 1, 0, 0, NULL, 0, 0, VA_ERR_INVAL, TSA_FAIL_BAD_ALG },
	{ "unknown OID as hash", "1.2.3.4", 32, 1, 0, 0, NULL, 0, 0, VA_ERR_INVAL, TSA_FAIL_BAD_ALG },
	{ "hash with parameters", "sha256", -1, 1, 0, 0, NULL, 0, 1, VA_ERR_INVAL, TSA_FAIL_BAD_ALG },
	{ "unknown policy", "sha256", -1, 1, 0, 0, "1.2.3.4.5.6", 0, 0, VA_ERR_INVAL, TSA_FAIL_UNACCEPTED_POLICY },
	{ "critical extension", "sha256", -1, 1, 0, 0, NULL, 2, 0, VA_ERR_INVAL, TSA_FAIL_UNACCEPTED_EXTENSION },
	{ "version 2", "sha256", -1, 2, 0, 0, NULL, 0, 0, VA_ERR_INVAL, TSA_FAIL_BAD_REQUEST },
	{ "version 0", "sha256", -1, 0, 0, 0, NULL, 0, 0, VA_ERR_INVAL, TSA_FAIL_BAD_REQUEST },
	{ "nonce of 65 octets", "sha256", -1, 1, 0, 65, NULL, 0, 0, VA_ERR_INVAL, TSA_FAIL_BAD_REQUEST },
};

static void test_table(void **state)
{
	struct tsa_accept a;

	(void)state;
	accept_default(&a);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tsa_request rq;
		struct tsa_reject rej;
		size_t len;
		uint8_t *der = build(&cases[i], &len);
		int rc = tsa_request_parse(&a, der, len, &rq, &rej);

		print_message("case %s\n", cases[i].name);
		assert_int_equal(rc, cases[i].expect_rc);
		assert_int_equal(rej.failure, cases[i].expect_failure);
		if (rc == 0) {
			assert_int_equal(rej.status, TSA_STATUS_GRANTED);
			assert_true(rq.cert_req);
			assert_int_equal(rq.has_nonce, cases[i].nonce != 0 || cases[i].nonce_octets != 0);
			assert_true(rq.imprint_len > 32);
			assert_non_null(rq.policy_der);
		} else {
			assert_int_equal(rej.status, TSA_STATUS_REJECTION);
			assert_non_null(rej.text);
		}
		OPENSSL_free(der);
	}
}

static void test_policy_choice(void **state)
{
	struct tsa_accept a;
	struct tsa_request rq;
	struct tsa_reject rej;
	struct req_spec s = { "p", "sha256", -1, 1, 0, 0, POLICY2, 0, 0, 0, 0 };
	size_t len;
	uint8_t *der;

	(void)state;
	accept_default(&a);
	der = build(&s, &len);
	assert_int_equal(tsa_request_parse(&a, der, len, &rq, &rej), 0);
	assert_ptr_equal(rq.policy_der, a.accepted_der[0]);
	OPENSSL_free(der);
	s.policy = NULL;
	der = build(&s, &len);
	assert_int_equal(tsa_request_parse(&a, der, len, &rq, &rej), 0);
	assert_ptr_equal(rq.policy_der, a.policy_der);
	assert_memory_equal(rq.policy_der, a.policy_der, a.policy_len);
	OPENSSL_free(der);
}

/* Byte-level damage of a good request: every one is badDataFormat, none crashes. */
static void test_bad_format(void **state)
{
	struct tsa_accept a;
	struct tsa_request rq;
	struct tsa_reject rej;
	struct req_spec s = { "ok", "sha256", -1, 1, 99, 0, NULL, 0, 0, 0, 0 };
	uint8_t *der, *buf;
	size_t len;

	(void)state;
	accept_default(&a);
	der = build(&s, &len);
	buf = malloc(LIM_TSA_REQ_MAX + 2);
	assert_non_null(buf);

	/* empty, NULL */
	assert_int_equal(tsa_request_parse(&a, der, 0, &rq, &rej), VA_ERR_INVAL);
	assert_int_equal(rej.failure, TSA_FAIL_BAD_DATA_FORMAT);
	assert_int_equal(tsa_request_parse(&a, NULL, 10, &rq, &rej), VA_ERR_INVAL);
	assert_int_equal(rej.failure, TSA_FAIL_BAD_DATA_FORMAT);
	/* every truncation */
	for (size_t n = 1; n < len; n++) {
		assert_int_equal(tsa_request_parse(&a, der, n, &rq, &rej), VA_ERR_INVAL);
		assert_int_equal(rej.failure, TSA_FAIL_BAD_DATA_FORMAT);
	}
	/* trailing octet */
	memcpy(buf, der, len);
	buf[len] = 0;
	assert_int_equal(tsa_request_parse(&a, buf, len + 1, &rq, &rej), VA_ERR_INVAL);
	assert_int_equal(rej.failure, TSA_FAIL_BAD_DATA_FORMAT);
	/* garbage */
	memset(buf, 'A', 100);
	assert_int_equal(tsa_request_parse(&a, buf, 100, &rq, &rej), VA_ERR_INVAL);
	assert_int_equal(rej.failure, TSA_FAIL_BAD_DATA_FORMAT);
	/* a SEQUENCE claiming more than is there */
	buf[0] = 0x30;
	buf[1] = 0x84;
	buf[2] = 0x7f;
	buf[3] = buf[4] = buf[5] = 0xff;
	assert_int_equal(tsa_request_parse(&a, buf, 6, &rq, &rej), VA_ERR_INVAL);
	assert_int_equal(rej.failure, TSA_FAIL_BAD_DATA_FORMAT);
	/* over the size bound, even though it starts like a good request */
	memcpy(buf, der, len);
	assert_int_equal(tsa_request_parse(&a, buf, LIM_TSA_REQ_MAX + 1, &rq, &rej), VA_ERR_INVAL);
	assert_int_equal(rej.failure, TSA_FAIL_BAD_DATA_FORMAT);
	/* every single-bit flip: parse must either accept or reject cleanly */
	for (size_t i = 0; i < len; i++) {
		for (int b = 0; b < 8; b++) {
			memcpy(buf, der, len);
			buf[i] ^= (uint8_t)(1 << b);
			if (tsa_request_parse(&a, buf, len, &rq, &rej) != 0)
				assert_int_equal(rej.status, TSA_STATUS_REJECTION);
		}
	}
	/* and the original still parses */
	assert_int_equal(tsa_request_parse(&a, der, len, &rq, &rej), 0);
	free(buf);
	OPENSSL_free(der);
}

/* ---- the DER walk, vector by vector (test_tsa_request_vectors.h) ---- */

static void test_der_vectors(void **state)
{
	struct tsa_accept a;
	uint8_t der[1024];

	(void)state;
	accept_default(&a);
	for (size_t i = 0; i < sizeof(tsa_req_vectors) / sizeof(tsa_req_vectors[0]); i++) {
		struct tsa_request rq;
		struct tsa_reject rej;
		int n = tt_der_asm(tsa_req_vectors[i].der, der, sizeof(der));
		int rc;

		print_message("vector %s\n", tsa_req_vectors[i].name);
		assert_true(n > 0);
		rc = tsa_request_parse(&a, der, (size_t)n, &rq, &rej);
		assert_int_equal(rej.failure, tsa_req_vectors[i].failure);
		if (tsa_req_vectors[i].failure != TSA_FAIL_NONE) {
			assert_int_equal(rc, VA_ERR_INVAL);
			assert_int_equal(rej.status, TSA_STATUS_REJECTION);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(rq.cert_req, tsa_req_vectors[i].cert_req);
		assert_int_equal(rq.digest_nid, NID_sha256);
		/* the imprint is the TLV received: SEQUENCE at offset 5 (after 30 xx 02 01 01) */
		assert_int_equal(rq.imprint_len, 2 + (size_t)der[6]);
		assert_memory_equal(rq.imprint_der, der + 5, rq.imprint_len);
		if (rq.has_nonce) {
			const uint8_t *p = der + 5 + rq.imprint_len;

			if (p[0] == 0x06) /* a policy first */
				p += 2 + p[1];
			assert_memory_equal(rq.nonce_der, p, rq.nonce_len);
		}
	}
}

/* Every hash in the static OID table, requested by OpenSSL's encoder: the table's OIDs and sizes are OpenSSL's. */
static void test_hash_table(void **state)
{
	static const char *const names[] = { "sha1", "sha256", "sha384", "sha512", "sha3-256", "sha3-384",
					     "sha3-512" };

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct tsa_accept a;
		struct tsa_request rq;
		struct tsa_reject rej;
		struct req_spec s = { names[i], names[i], -1, 1, 0, 0, NULL, 0, 0, 0, 0 };
		size_t len;
		uint8_t *der;

		print_message("%s\n", names[i]);
		memset(&a, 0, sizeof(a));
		assert_int_equal(tsa_accept_set_policy(&a, POLICY), 0);
		assert_int_equal(tsa_accept_add_digest(&a, names[i]), 0);
		der = build(&s, &len);
		assert_int_equal(tsa_request_parse(&a, der, len, &rq, &rej), 0);
		assert_int_equal(rq.digest_nid, EVP_MD_get_type(EVP_get_digestbyname(names[i])));
		OPENSSL_free(der);
		/* one octet short */
		s.hash_len = EVP_MD_get_size(EVP_get_digestbyname(names[i])) - 1;
		der = build(&s, &len);
		assert_int_equal(tsa_request_parse(&a, der, len, &rq, &rej), VA_ERR_INVAL);
		assert_int_equal(rej.failure, TSA_FAIL_BAD_ALG);
		OPENSSL_free(der);
	}
}

static void test_accept_config(void **state)
{
	struct tsa_accept a;

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_int_equal(tsa_accept_set_policy(&a, "not an oid"), VA_ERR_CONFIG);
	assert_int_equal(tsa_accept_set_policy(&a, "sha256"), VA_ERR_CONFIG); /* names are not accepted */
	assert_int_equal(tsa_accept_set_policy(&a, ""), VA_ERR_CONFIG);
	assert_int_equal(tsa_accept_add_policy(&a, "1.2..3"), VA_ERR_CONFIG);
	assert_int_equal(tsa_accept_add_digest(&a, "md5"), VA_ERR_CONFIG);
	assert_int_equal(tsa_accept_add_digest(&a, "SHA256"), VA_ERR_CONFIG);
	assert_int_equal(tsa_accept_add_digest(&a, "sha256"), 0);
	assert_int_equal(tsa_accept_add_digest(&a, "sha256"), 0);
	assert_int_equal(a.ndigests, 1);
	for (int i = 0; i < TSA_POLICIES_MAX; i++)
		assert_int_equal(tsa_accept_add_policy(&a, "1.2.3"), 0);
	assert_int_equal(tsa_accept_add_policy(&a, "1.2.3"), VA_ERR_RANGE);
}

static void test_sha1_when_configured(void **state)
{
	struct tsa_accept a;
	struct tsa_request rq;
	struct tsa_reject rej;
	struct req_spec s = { "sha1", "sha1", -1, 1, 0, 0, NULL, 0, 0, 0, 0 };
	size_t len;
	uint8_t *der;

	(void)state;
	accept_default(&a);
	assert_int_equal(tsa_accept_add_digest(&a, "sha1"), 0);
	der = build(&s, &len);
	assert_int_equal(tsa_request_parse(&a, der, len, &rq, &rej), 0);
	assert_int_equal(rq.digest_nid, NID_sha1);
	OPENSSL_free(der);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_policy_choice),
		cmocka_unit_test(test_bad_format),
		cmocka_unit_test(test_accept_config),
		cmocka_unit_test(test_sha1_when_configured),
		cmocka_unit_test(test_der_vectors),
		cmocka_unit_test(test_hash_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
