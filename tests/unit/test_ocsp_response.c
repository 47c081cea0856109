/* Response building (RFC 6960 4.2) verified by OpenSSL's OCSP code; signer certificate checks (4.2.2.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>

#include "../../ocsp/ca.h"
#include "../../ocsp/request.h"
#include "../../ocsp/response.h"
#include "test_ocsp_pki.h"

struct fixture {
	EVP_PKEY *cakey, *rkey, *otherkey;
	X509 *ca, *resp, *resp_noeku, *resp_other, *other, *leaf;
	int fail_sign; /* the sign callback returns this when non-zero */
};
static struct fixture fx;

static const uint8_t ecdsa_sha256[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };

static int setup(void **state)
{
	fx.cakey = tp_key();
	fx.rkey = tp_key();
	fx.otherkey = tp_key();
	fx.ca = tp_cert("Test CA", fx.cakey, NULL, NULL, 1, 1, NULL, 0);
	fx.other = tp_cert("Other CA", fx.otherkey, NULL, NULL, 2, 1, NULL, 0);
	fx.resp = tp_cert("OCSP signer", fx.rkey, fx.ca, fx.cakey, 10, 0, "OCSPSigning", 1);
	fx.resp_noeku = tp_cert("no EKU", fx.rkey, fx.ca, fx.cakey, 11, 0, "serverAuth", 0);
	fx.resp_other = tp_cert("OCSP signer", fx.rkey, fx.other, fx.otherkey, 12, 0, "OCSPSigning", 1);
	fx.leaf = tp_cert("leaf", fx.otherkey, fx.ca, fx.cakey, 0x1000, 0, NULL, 0);
	return fx.ca && fx.resp && fx.leaf ? 0 : -1;
}

static int teardown(void **state)
{
	X509 *certs[] = { fx.ca, fx.resp, fx.resp_noeku, fx.resp_other, fx.other, fx.leaf };

	for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
		X509_free(certs[i]);
	EVP_PKEY_free(fx.cakey);
	EVP_PKEY_free(fx.rkey);
	EVP_PKEY_free(fx.otherkey);
	return 0;
}

static int sign_cb(void *arg, const uint8_t *tbs, size_t len, uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *ctx;
	int ok;

	if (fx.fail_sign)
		return fx.fail_sign;
	ctx = EVP_MD_CTX_new();
	ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, arg) == 1 &&
	     EVP_DigestSign(ctx, sig, siglen, tbs, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : VA_ERR_CRYPTO;
}

static void test_check_signer(void **state)
{
	char why[256];
	int del, noc;

	assert_int_equal(ocsp_ca_check_signer(fx.ca, fx.resp, &del, &noc, why, sizeof(why)), 0);
	assert_true(del);
	assert_true(noc);
	/* The CA signing for itself. */
	assert_int_equal(ocsp_ca_check_signer(fx.ca, fx.ca, &del, &noc, why, sizeof(why)), 0);
	assert_false(del);
	/* No id-kp-OCSPSigning. */
	assert_int_equal(ocsp_ca_check_signer(fx.ca, fx.resp_noeku, &del, &noc, why, sizeof(why)), VA_ERR_SIGNER);
	assert_non_null(strstr(why, "OCSPSigning"));
	/* Issued by another CA. */
	assert_int_equal(ocsp_ca_check_signer(fx.ca, fx.resp_other, &del, &noc, why, sizeof(why)), VA_ERR_SIGNER);
	assert_non_null(strstr(why, "not issued"));
	/* Another CA entirely. */
	assert_int_equal(ocsp_ca_check_signer(fx.ca, fx.other, &del, &noc, why, sizeof(why)), VA_ERR_SIGNER);
	assert_int_equal(ocsp_ca_check_signer(fx.ca, NULL, &del, &noc, why, sizeof(why)), VA_ERR_SIGNER);
}

/* A request for the leaf with md, parsed by us; the OpenSSL request is kept for OCSP_check_nonce. */
static OCSP_REQUEST *leaf_request(const EVP_MD *md, int nonce, uint8_t **der, struct ocsp_request *r)
{
	static const struct ocsp_parse_limits lim = { 8, 1, 32 };
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	int l;

	OCSP_request_add0_id(req, OCSP_cert_id_new(md, X509_get_subject_name(fx.ca), X509_get0_pubkey_bitstr(fx.ca),
						   X509_get_serialNumber(fx.leaf)));
	if (nonce)
		OCSP_request_add1_nonce(req, NULL, 16);
	*der = NULL;
	l = i2d_OCSP_REQUEST(req, der);
	assert_true(l > 0);
	assert_int_equal(ocsp_request_parse(*der, (size_t)l, &lim, r), 0);
	return req;
}

static OCSP_BASICRESP *build_and_verify(struct ocsp_single *s, int by_key, int nonce, const struct ocsp_request *r,
					const struct ocsp_resp_times *tm)
{
	struct ocsp_resp_signer sg = { 0 };
	uint8_t *rid = NULL, *der = NULL, *cert = NULL;
	size_t ridlen, len;
	const unsigned char *p;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	X509_STORE *st;
	int certlen = i2d_X509(fx.resp, &cert);

	assert_int_equal(ocsp_ca_responder_id(fx.resp, by_key, &rid, &ridlen), 0);
	sg.responder_id = rid;
	sg.responder_id_len = ridlen;
	sg.sig_alg = ecdsa_sha256;
	sg.sig_alg_len = sizeof(ecdsa_sha256);
	sg.certs = cert;
	sg.certs_len = (size_t)certlen;
	sg.max_sig = 80;
	sg.sign = sign_cb;
	sg.sign_arg = fx.rkey;
	assert_int_equal(ocsp_response_build(&sg, s, 1, tm, nonce ? r->nonce_ext : NULL, r->nonce_ext_len, &der, &len), 0);
	p = der;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	assert_non_null(resp);
	assert_ptr_equal(p, der + len);
	assert_int_equal(OCSP_response_status(resp), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	bs = OCSP_response_get1_basic(resp);
	assert_non_null(bs);
	st = X509_STORE_new();
	X509_STORE_add_cert(st, fx.ca);
	/* Full RFC 6960 4.2.2.2 check by OpenSSL: signature, delegation by the CA, OCSPSigning EKU. */
	assert_int_equal(OCSP_basic_verify(bs, NULL, st, 0), 1);
	X509_STORE_free(st);
	OCSP_RESPONSE_free(resp);
	free(rid);
	free(der);
	OPENSSL_free(cert);
	return bs;
}

static void test_good_every_hash(void **state)
{
	const EVP_MD *mds[] = { EVP_sha1(), EVP_sha256(), EVP_sha384(), EVP_sha512() };
	struct ocsp_request *r = malloc(sizeof(*r));
	struct ocsp_resp_times tm = { 1800000000, 1800000000, 1800086400 };

	for (int h = 0; h < 4; h++) {
		uint8_t *der;
		OCSP_REQUEST *req = leaf_request(mds[h], h & 1, &der, r);
		struct ocsp_single s = { r->certids[0].der, r->certids[0].der_len, OCSP_CS_GOOD, 0, -1, 0, 0, 0 };
		OCSP_BASICRESP *bs = build_and_verify(&s, h < 2, h & 1, r, &tm);
		OCSP_CERTID *id = OCSP_cert_id_new(mds[h], X509_get_subject_name(fx.ca), X509_get0_pubkey_bitstr(fx.ca),
						   X509_get_serialNumber(fx.leaf));
		int status = -1, reason = -1;
		ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
		time_t t;

		/* The response CertID uses the request's hash algorithm (found by OpenSSL's comparison). */
		assert_int_equal(OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd), 1);
		assert_int_equal(status, V_OCSP_CERTSTATUS_GOOD);
		assert_non_null(nextupd);
		struct tm tmv;
		assert_int_equal(ASN1_TIME_to_tm(thisupd, &tmv), 1);
		t = timegm(&tmv);
		assert_int_equal(t, 1800000000);
		assert_int_equal(ASN1_TIME_to_tm(nextupd, &tmv), 1);
		assert_int_equal(timegm(&tmv), 1800086400);
		/* RFC 8954: the nonce comes back unchanged; without one, none is there. */
		assert_int_equal(OCSP_check_nonce(req, bs), (h & 1) ? 1 : 2);
		OCSP_CERTID_free(id);
		OCSP_BASICRESP_free(bs);
		OCSP_REQUEST_free(req);
		OPENSSL_free(der);
	}
	free(r);
}

static void test_revoked_unknown_extended(void **state)
{
	struct ocsp_request *r = malloc(sizeof(*r));
	struct ocsp_resp_times tm = { 1800000000, 1800000000, 1800086400 };
	uint8_t *der;
	OCSP_REQUEST *req = leaf_request(EVP_sha256(), 0, &der, r);
	struct ocsp_single s = { r->certids[0].der, r->certids[0].der_len, OCSP_CS_REVOKED, 1700000000, 1, 1,
				 1690000000, 0 };
	OCSP_BASICRESP *bs = build_and_verify(&s, 1, 0, r, &tm);
	OCSP_SINGLERESP *single = OCSP_resp_get0(bs, 0);
	int reason = -2, st;
	ASN1_GENERALIZEDTIME *rev = NULL, *tu = NULL, *nu = NULL;
	ASN1_GENERALIZEDTIME *inv;
	struct tm tmv;
	ASN1_OBJECT *ext_revoke = OBJ_txt2obj("1.3.6.1.5.5.7.48.1.9", 1);

	st = OCSP_single_get0_status(single, &reason, &rev, &tu, &nu);
	assert_int_equal(st, V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(reason, 1);
	assert_int_equal(ASN1_TIME_to_tm(rev, &tmv), 1);
	assert_int_equal(timegm(&tmv), 1700000000);
	inv = OCSP_SINGLERESP_get1_ext_d2i(single, NID_invalidity_date, NULL, NULL);
	assert_non_null(inv);
	assert_int_equal(ASN1_TIME_to_tm(inv, &tmv), 1);
	assert_int_equal(timegm(&tmv), 1690000000);
	ASN1_GENERALIZEDTIME_free(inv);
	assert_true(OCSP_BASICRESP_get_ext_by_OBJ(bs, ext_revoke, -1) < 0);
	OCSP_BASICRESP_free(bs);

	/* Revoked without a reason (unspecified is left out, RFC 5280 5.3.1). */
	s.reason = -1;
	s.has_invalidity = 0;
	bs = build_and_verify(&s, 0, 0, r, &tm);
	st = OCSP_single_get0_status(OCSP_resp_get0(bs, 0), &reason, &rev, &tu, &nu);
	assert_int_equal(st, V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(reason, -1);
	OCSP_BASICRESP_free(bs);

	/* Non-issued serial answered "revoked" (RFC 6960 4.4.8). */
	s.revoked_at = 0;
	s.reason = 6;
	s.extended_revoke = 1;
	bs = build_and_verify(&s, 1, 0, r, &tm);
	st = OCSP_single_get0_status(OCSP_resp_get0(bs, 0), &reason, &rev, &tu, &nu);
	assert_int_equal(st, V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(reason, 6);
	assert_int_equal(ASN1_TIME_to_tm(rev, &tmv), 1);
	assert_int_equal(timegm(&tmv), 0);
	assert_true(OCSP_BASICRESP_get_ext_by_OBJ(bs, ext_revoke, -1) >= 0);
	OCSP_BASICRESP_free(bs);

	/* Unknown. */
	memset(&s, 0, sizeof(s));
	s.certid_der = r->certids[0].der;
	s.certid_len = r->certids[0].der_len;
	s.status = OCSP_CS_UNKNOWN;
	s.reason = -1;
	bs = build_and_verify(&s, 1, 0, r, &tm);
	st = OCSP_single_get0_status(OCSP_resp_get0(bs, 0), &reason, &rev, &tu, &nu);
	assert_int_equal(st, V_OCSP_CERTSTATUS_UNKNOWN);
	OCSP_BASICRESP_free(bs);
	ASN1_OBJECT_free(ext_revoke);
	OCSP_REQUEST_free(req);
	OPENSSL_free(der);
	free(r);
}

static void test_sign_failure_and_errors(void **state)
{
	struct ocsp_request *r = malloc(sizeof(*r));
	struct ocsp_resp_times tm = { 1800000000, 1800000000, 1800086400 };
	struct ocsp_resp_signer sg = { 0 };
	uint8_t *der, *out = (uint8_t *)"x";
	size_t len = 7;
	OCSP_REQUEST *req = leaf_request(EVP_sha1(), 0, &der, r);
	struct ocsp_single s = { r->certids[0].der, r->certids[0].der_len, OCSP_CS_GOOD, 0, -1, 0, 0, 0 };
	static const uint8_t rid[] = { 0xa2, 0x02, 0x04, 0x00 };

	sg.responder_id = rid;
	sg.responder_id_len = sizeof(rid);
	sg.sig_alg = ecdsa_sha256;
	sg.sig_alg_len = sizeof(ecdsa_sha256);
	sg.max_sig = 80;
	sg.sign = sign_cb;
	sg.sign_arg = fx.rkey;
	/* A token gone: the typed error comes through and nothing is returned. */
	fx.fail_sign = VA_ERR_SIGNER_DOWN;
	assert_int_equal(ocsp_response_build(&sg, &s, 1, &tm, NULL, 0, &out, &len), VA_ERR_SIGNER_DOWN);
	assert_null(out);
	assert_int_equal(len, 0);
	fx.fail_sign = 0;

	/* Unsigned error responses decode with their status. */
	static const int sts[] = { OCSP_MALFORMED_REQUEST, OCSP_INTERNAL_ERROR, OCSP_TRY_LATER, OCSP_UNAUTHORIZED };
	for (size_t i = 0; i < 4; i++) {
		const uint8_t *e = ocsp_response_error(sts[i], &len);
		const unsigned char *p = e;
		OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);

		assert_non_null(resp);
		assert_int_equal(OCSP_response_status(resp), sts[i]);
		assert_null(OCSP_response_get1_basic(resp));
		OCSP_RESPONSE_free(resp);
	}
	/* Out-of-range statuses never produce "successful" unsigned. */
	assert_int_equal(ocsp_response_error(0, &len)[4], OCSP_INTERNAL_ERROR);
	assert_int_equal(ocsp_response_error(4, &len)[4], OCSP_INTERNAL_ERROR);
	OCSP_REQUEST_free(req);
	OPENSSL_free(der);
	free(r);
	ERR_clear_error();
}

/* The issuer hashes CertIDs are matched against: every algorithm, and a CertID of another CA does not match. */
static void test_certid_matching(void **state)
{
	const EVP_MD *mds[] = { EVP_sha1(), EVP_sha256(), EVP_sha384(), EVP_sha512() };
	struct ocsp_issuer_hashes h, ho;
	struct ocsp_request *r = malloc(sizeof(*r));

	assert_int_equal(ocsp_ca_hashes(fx.ca, &h), 0);
	assert_int_equal(ocsp_ca_hashes(fx.other, &ho), 0);
	for (int i = 0; i < 4; i++) {
		uint8_t *der;
		OCSP_REQUEST *req = leaf_request(mds[i], 0, &der, r);

		assert_int_equal(ocsp_ca_certid_matches(&h, &r->certids[0]), 1);
		assert_int_equal(ocsp_ca_certid_matches(&ho, &r->certids[0]), 0);
		r->certids[0].hash = -1;
		assert_int_equal(ocsp_ca_certid_matches(&h, &r->certids[0]), 0);
		OCSP_REQUEST_free(req);
		OPENSSL_free(der);
	}
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_signer),
		cmocka_unit_test(test_good_every_hash),
		cmocka_unit_test(test_revoked_unknown_extended),
		cmocka_unit_test(test_sign_failure_and_errors),
		cmocka_unit_test(test_certid_matching),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
