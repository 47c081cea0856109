/* Request parsing (RFC 6960 4.1), RFC 5019 GET decoding and CertID encoding, checked against OpenSSL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>

#include "../../ocsp/request.h"
#include "test_ocsp_pki.h"

static const struct ocsp_parse_limits lim = { 8, 1, 32 };

struct fixture {
	EVP_PKEY *cakey, *leafkey;
	X509 *ca, *leaf;
};
static struct fixture fx;

static int setup(void **state)
{
	fx.cakey = tp_key();
	fx.leafkey = tp_key();
	fx.ca = tp_cert("Test CA", fx.cakey, NULL, NULL, 1, 1, NULL, 0);
	fx.leaf = tp_cert("leaf", fx.leafkey, fx.ca, fx.cakey, 0x1234, 0, NULL, 0);
	return fx.ca && fx.leaf ? 0 : -1;
}

static int teardown(void **state)
{
	X509_free(fx.ca);
	X509_free(fx.leaf);
	EVP_PKEY_free(fx.cakey);
	EVP_PKEY_free(fx.leafkey);
	return 0;
}

/* An OpenSSL-made request: n CertIDs with md, nonce of nonce_len (0: none). */
static uint8_t *make_req(const EVP_MD *md, int n, int nonce_len, size_t *len)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	uint8_t *der = NULL;
	int l;

	for (int i = 0; i < n; i++) {
		OCSP_CERTID *id = OCSP_cert_id_new(md, X509_get_subject_name(fx.ca), X509_get0_pubkey_bitstr(fx.ca),
						   X509_get_serialNumber(fx.leaf));
		assert_non_null(OCSP_request_add0_id(req, id));
	}
	if (nonce_len > 0)
		assert_int_equal(OCSP_request_add1_nonce(req, NULL, nonce_len), 1);
	l = i2d_OCSP_REQUEST(req, &der);
	assert_true(l > 0);
	OCSP_REQUEST_free(req);
	*len = (size_t)l;
	return der;
}

static void test_parse_hashes(void **state)
{
	const EVP_MD *mds[] = { EVP_sha1(), EVP_sha256(), EVP_sha384(), EVP_sha512() };
	static const size_t lens[] = { 20, 32, 48, 64 };
	struct ocsp_request *r = malloc(sizeof(*r));

	for (int h = 0; h < 4; h++) {
		size_t len;
		uint8_t *der = make_req(mds[h], 1, 0, &len);

		assert_int_equal(ocsp_request_parse(der, len, &lim, r), 0);
		assert_int_equal(r->ncertids, 1);
		assert_int_equal(r->certids[0].hash, h);
		assert_int_equal(r->certids[0].name_hash_len, lens[h]);
		assert_int_equal(r->certids[0].key_hash_len, lens[h]);
		assert_int_equal(r->certids[0].serial.len, 2);
		assert_int_equal(r->certids[0].serial.mag[0], 0x12);
		assert_int_equal(r->certids[0].serial.mag[1], 0x34);
		assert_false(r->has_nonce);
		OPENSSL_free(der);
	}
	free(r);
}

static void test_parse_nonce_and_many(void **state)
{
	struct ocsp_request *r = malloc(sizeof(*r));
	size_t len;
	uint8_t *der = make_req(EVP_sha1(), 3, 16, &len);

	assert_int_equal(ocsp_request_parse(der, len, &lim, r), 0);
	assert_int_equal(r->ncertids, 3);
	assert_true(r->has_nonce);
	assert_int_equal(r->nonce_len, 16);
	assert_int_equal(r->nonce_ext_len, 18); /* OCTET STRING header + 16 */
	OPENSSL_free(der);

	/* Over the CertID cap. */
	der = make_req(EVP_sha1(), 9, 0, &len);
	assert_int_equal(ocsp_request_parse(der, len, &lim, r), VA_ERR_INVAL);
	OPENSSL_free(der);
	/* Nonce bounds: 32 is fine, 33 is not (RFC 8954 2.1), a bound of 64 lets 33 through. */
	der = make_req(EVP_sha1(), 1, 32, &len);
	assert_int_equal(ocsp_request_parse(der, len, &lim, r), 0);
	OPENSSL_free(der);
	der = make_req(EVP_sha1(), 1, 33, &len);
	assert_int_equal(ocsp_request_parse(der, len, &lim, r), VA_ERR_INVAL);
	struct ocsp_parse_limits big = { 8, 1, 64 };
	assert_int_equal(ocsp_request_parse(der, len, &big, r), 0);
	struct ocsp_parse_limits min8 = { 8, 40, 64 };
	assert_int_equal(ocsp_request_parse(der, len, &min8, r), VA_ERR_INVAL);
	OPENSSL_free(der);
	free(r);
}

/* Every truncation and every appended byte is malformed, never a crash. */
static void test_truncated_and_trailing(void **state)
{
	struct ocsp_request *r = malloc(sizeof(*r));
	size_t len;
	uint8_t *der = make_req(EVP_sha256(), 2, 16, &len);
	uint8_t *buf = malloc(len + 1);

	for (size_t l = 0; l < len; l++) {
		memcpy(buf, der, l);
		assert_int_equal(ocsp_request_parse(buf, l, &lim, r), VA_ERR_INVAL);
	}
	memcpy(buf, der, len);
	buf[len] = 0;
	assert_int_equal(ocsp_request_parse(buf, len + 1, &lim, r), VA_ERR_INVAL);
	/* Every single bit flip: parse either fails cleanly or yields a consistent request. */
	for (size_t i = 0; i < len; i++) {
		for (int b = 0; b < 8; b++) {
			memcpy(buf, der, len);
			buf[i] ^= (uint8_t)(1 << b);
			if (ocsp_request_parse(buf, len, &lim, r) == 0)
				assert_true(r->ncertids >= 1 && r->ncertids <= 8);
		}
	}
	free(buf);
	OPENSSL_free(der);
	free(r);
}

/* Hand-made vectors for the boundaries OpenSSL will not produce. */
static void test_vectors(void **state)
{
	struct ocsp_request *r = malloc(sizeof(*r));
	/* CertID: sha1 (no params), 20+20 zero hashes, serial 01. */
#define CID_SHA1                                                                                      \
	0x30, 0x38, 0x30, 0x07, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x04, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, \
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x04, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, \
		0, 0, 0x02, 0x01, 0x01
	static const uint8_t ok[] = { 0x30, 0x40, 0x30, 0x3e, 0x30, 0x3c, 0x30, 0x3a, CID_SHA1 };
	static const uint8_t empty_list[] = { 0x30, 0x04, 0x30, 0x02, 0x30, 0x00 };
	/* version [0] v2 (1): refused. */
	static const uint8_t bad_version[] = { 0x30, 0x45, 0x30, 0x43, 0xa0, 0x03, 0x02, 0x01, 0x01,
					       0x30, 0x3c, 0x30, 0x3a, CID_SHA1 };
	/* version [0] v1 explicitly: fine. */
	static const uint8_t v1[] = { 0x30, 0x45, 0x30, 0x43, 0xa0, 0x03, 0x02, 0x01, 0x00, 0x30, 0x3c, 0x30, 0x3a, CID_SHA1 };
	/* Non-minimal length form (0x81 0x2f). */
	static const uint8_t long_len[] = { 0x30, 0x81, 0x40, 0x30, 0x3e, 0x30, 0x3c, 0x30, 0x3a, CID_SHA1 };
	/* Indefinite length. */
	static const uint8_t indef[] = { 0x30, 0x80, 0x30, 0x3e, 0x30, 0x3c, 0x30, 0x3a, CID_SHA1, 0, 0 };
	/* Request extensions [2]: unknown critical one, then the same non-critical. */
#define EXT_UNKNOWN(crit) 0xa2, 0x0e, 0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x2a, 0x03, 0x04, 0x01, 0x01, crit, 0x04, 0x00
	static const uint8_t crit_ext[] = { 0x30, 0x50, 0x30, 0x4e, 0x30, 0x3c, 0x30, 0x3a, CID_SHA1, EXT_UNKNOWN(0xff) };
	static const uint8_t noncrit_ext[] = { 0x30, 0x50, 0x30, 0x4e, 0x30, 0x3c, 0x30, 0x3a, CID_SHA1,
					       EXT_UNKNOWN(0x00) };
	/* BOOLEAN 0x01 is not DER TRUE. */
	static const uint8_t bad_bool[] = { 0x30, 0x50, 0x30, 0x4e, 0x30, 0x3c, 0x30, 0x3a, CID_SHA1, EXT_UNKNOWN(0x01) };
	/* Empty nonce: RFC 8954 2.1 wants at least one octet. */
	static const uint8_t empty_nonce[] = { 0x30, 0x55, 0x30, 0x53, 0x30, 0x3c, 0x30, 0x3a, CID_SHA1, 0xa2, 0x13,
					       0x30, 0x11, 0x30, 0x0f, 0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07,
					       0x30, 0x01, 0x02, 0x04, 0x02, 0x04, 0x00 };
	/* Two nonces. */
	static const uint8_t two_nonces[] = { 0x30, 0x68, 0x30, 0x66, 0x30, 0x3c, 0x30, 0x3a, CID_SHA1, 0xa2, 0x26,
					      0x30, 0x24, 0x30, 0x10, 0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07,
					      0x30, 0x01, 0x02, 0x04, 0x03, 0x04, 0x01, 0x41, 0x30, 0x10, 0x06, 0x09,
					      0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02, 0x04, 0x03, 0x04,
					      0x01, 0x42 };
	/* Unknown hash OID: parses, hash -1 (matches no issuer). */
	static const uint8_t md5[] = { 0x30, 0x2f, 0x30, 0x2d, 0x30, 0x2b, 0x30, 0x29, 0x30, 0x27, 0x30, 0x0a, 0x06, 0x08, 0x2a,
				       0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05, 0x04, 0x14, 0, 0, 0, 0, 0, 0, 0, 0,
				       0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x04, 0x00, 0x02, 0x01, 0x01 };
	uint8_t buf[128];

	assert_int_equal(ocsp_request_parse(ok, sizeof(ok), &lim, r), 0);
	assert_int_equal(r->certids[0].hash, STORE_HASH_SHA1);
	assert_int_equal(r->certids[0].der_len, 0x3a);
	assert_int_equal(ocsp_request_parse(v1, sizeof(v1), &lim, r), 0);
	assert_int_equal(ocsp_request_parse(empty_list, sizeof(empty_list), &lim, r), VA_ERR_INVAL);
	assert_int_equal(ocsp_request_parse(bad_version, sizeof(bad_version), &lim, r), VA_ERR_INVAL);
	assert_int_equal(ocsp_request_parse(long_len, sizeof(long_len), &lim, r), VA_ERR_INVAL);
	assert_int_equal(ocsp_request_parse(indef, sizeof(indef), &lim, r), VA_ERR_INVAL);
	assert_int_equal(ocsp_request_parse(crit_ext, sizeof(crit_ext), &lim, r), VA_ERR_INVAL);
	assert_int_equal(ocsp_request_parse(noncrit_ext, sizeof(noncrit_ext), &lim, r), 0);
	assert_false(r->has_nonce);
	assert_int_equal(ocsp_request_parse(bad_bool, sizeof(bad_bool), &lim, r), VA_ERR_INVAL);
	assert_int_equal(ocsp_request_parse(empty_nonce, sizeof(empty_nonce), &lim, r), VA_ERR_INVAL);
	assert_int_equal(ocsp_request_parse(two_nonces, sizeof(two_nonces), &lim, r), VA_ERR_INVAL);
	assert_int_equal(ocsp_request_parse(md5, sizeof(md5), &lim, r), 0);
	assert_int_equal(r->certids[0].hash, -1);
	/* Non-minimal serial INTEGER (00 01) is refused; 00 80 is the minimal form of 128. */
	memcpy(buf, ok, sizeof(ok));
	buf[1]++, buf[3]++, buf[5]++, buf[7]++, buf[9]++;
	buf[sizeof(ok) - 2] = 2;
	buf[sizeof(ok) - 1] = 0x00;
	buf[sizeof(ok)] = 0x01;
	assert_int_equal(ocsp_request_parse(buf, sizeof(ok) + 1, &lim, r), VA_ERR_INVAL);
	buf[sizeof(ok)] = 0x80;
	assert_int_equal(ocsp_request_parse(buf, sizeof(ok) + 1, &lim, r), 0);
	assert_int_equal(r->certids[0].serial.len, 1);
	assert_int_equal(r->certids[0].serial.mag[0], 0x80);
	/* A negative serial (ff 7f = -129). */
	buf[sizeof(ok) - 1] = 0xff;
	buf[sizeof(ok)] = 0x7f;
	assert_int_equal(ocsp_request_parse(buf, sizeof(ok) + 1, &lim, r), 0);
	assert_true(r->certids[0].serial.negative);
	assert_int_equal(r->certids[0].serial.len, 1);
	assert_int_equal(r->certids[0].serial.mag[0], 0x81);
	free(r);
}

static void test_get_decode(void **state)
{
	/* 0x30 0xff 0xfe 0x3f: base64 "MP/+Pw==": has '/', '+' and padding. */
	static const uint8_t want[] = { 0x30, 0xff, 0xfe, 0x3f };
	static const char *const good[] = {
		"MP/+Pw==", "/MP/+Pw==", "//MP/+Pw==", "MP%2F%2BPw%3D%3D", "MP%2f%2bPw%3d%3d", "/MP%2F+Pw==",
		"MP_-Pw==", "MP/+Pw", "MP/+Pw%3D%3D",
	};
	static const char *const bad[] = {
		"", "/", "M", "MP/+P", "MP/+Pw=x", "MP/+Pw===", "MP/+P w==", "MP%2", "MP%zz+Pw==", "MP/+Pw==%00",
		"MP?+Pw==", "MP/+P=w=",
	};
	uint8_t out[64];
	size_t len;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(ocsp_get_decode(good[i], strlen(good[i]), out, sizeof(out), &len), 0);
		assert_int_equal(len, sizeof(want));
		assert_memory_equal(out, want, sizeof(want));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(ocsp_get_decode(bad[i], strlen(bad[i]), out, sizeof(out), &len), 0);
	/* Base64 with "//" inside: bytes ff ff ff -> "////". */
	assert_int_equal(ocsp_get_decode("/MP////", 7, out, sizeof(out), &len), 0);
	assert_int_equal(len, 4);
	assert_int_equal(out[3], 0xff);
	/* Output bound. */
	assert_int_equal(ocsp_get_decode("MP/+Pw==", 8, out, 2, &len), VA_ERR_RANGE);

	/* A real request: base64 of OpenSSL's DER decodes back to it. */
	size_t dlen;
	uint8_t *der = make_req(EVP_sha512(), 2, 32, &dlen);
	char b64[1024];
	int n = EVP_EncodeBlock((unsigned char *)b64, der, (int)dlen);
	uint8_t back[1024];
	assert_int_equal(ocsp_get_decode(b64, (size_t)n, back, sizeof(back), &len), 0);
	assert_int_equal(len, dlen);
	assert_memory_equal(back, der, dlen);

	/* Behind a path prefix (responder URL with a path), with the base64 raw or percent-encoded. */
	char path[1200];
	const char *prefixes[] = { "", "/", "//", "/ocsp/", "/a/b/", "/ocsp//" };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", prefixes[i], b64);
		assert_int_equal(ocsp_get_request(path, strlen(path), back, sizeof(back), &len), 0);
		assert_int_equal(len, dlen);
		assert_memory_equal(back, der, dlen);
	}
	/* No complete DER anywhere: refused. */
	snprintf(path, sizeof(path), "/ocsp/%.*s", n - 8, b64);
	assert_int_equal(ocsp_get_request(path, strlen(path), back, sizeof(back), &len), VA_ERR_INVAL);
	assert_int_equal(ocsp_get_request("/ocsp/", 6, back, sizeof(back), &len), VA_ERR_INVAL);
	assert_int_equal(ocsp_get_request("/MP/+Pw==", 9, back, sizeof(back), &len), VA_ERR_INVAL);
	assert_int_equal(ocsp_get_request("", 0, back, sizeof(back), &len), VA_ERR_INVAL);
	OPENSSL_free(der);
}

/* ocsp_certid_build writes what OpenSSL's clients send, for every hash and awkward serials. */
static void test_certid_build(void **state)
{
	const EVP_MD *mds[] = { EVP_sha1(), EVP_sha256(), EVP_sha384(), EVP_sha512() };
	static const long serials[] = { 0, 1, 0x7f, 0x80, 0xff, 0x1234, 0x800000, -1, -128, -129, -0x8000 };
	struct ocsp_request *r = malloc(sizeof(*r));

	for (int h = 0; h < 4; h++) {
		for (size_t s = 0; s < sizeof(serials) / sizeof(serials[0]); s++) {
			ASN1_INTEGER *ai = ASN1_INTEGER_new();
			OCSP_CERTID *id;
			OCSP_REQUEST *req = OCSP_REQUEST_new();
			uint8_t *der = NULL, out[OCSP_CERTID_MAX];
			int l, n;

			ASN1_INTEGER_set(ai, serials[s]);
			id = OCSP_cert_id_new(mds[h], X509_get_subject_name(fx.ca), X509_get0_pubkey_bitstr(fx.ca), ai);
			OCSP_request_add0_id(req, id);
			l = i2d_OCSP_REQUEST(req, &der);
			assert_int_equal(ocsp_request_parse(der, (size_t)l, &lim, r), 0);
			n = ocsp_certid_build(h, 1, r->certids[0].name_hash, r->certids[0].key_hash, &r->certids[0].serial,
					      out, sizeof(out));
			assert_int_equal((size_t)n, r->certids[0].der_len);
			assert_memory_equal(out, r->certids[0].der, (size_t)n);
			/* Without NULL parameters: two octets shorter. */
			n = ocsp_certid_build(h, 0, r->certids[0].name_hash, r->certids[0].key_hash, &r->certids[0].serial,
					      out, sizeof(out));
			assert_int_equal((size_t)n + 2, r->certids[0].der_len);
			assert_int_equal(ocsp_certid_build(h, 1, r->certids[0].name_hash, r->certids[0].key_hash,
							   &r->certids[0].serial, out, 10),
					 VA_ERR_RANGE);
			OPENSSL_free(der);
			OCSP_REQUEST_free(req);
			ASN1_INTEGER_free(ai);
		}
	}
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_hashes),
		cmocka_unit_test(test_parse_nonce_and_many),
		cmocka_unit_test(test_truncated_and_trailing),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_get_decode),
		cmocka_unit_test(test_certid_build),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
