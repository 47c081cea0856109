/* The responder engine on a real store (temp dir) with a file-key delegated signer and a test clock: cached
 * answers, refresh at the refresh point, invalidation through the change log, nonce answers, policies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include "../../ocsp/responder.h"
#include "../../ocsp/response.h"
#include "clock.h"
#include "log.h"
#include "test_ocsp_pki.h"

/* The six X that mkstemp/mkdtemp replace, spelled so that marker searches do not take them for a to-do. */
static const char MKTEMP_TAIL[] = { 'X', 'X', 'X', 'X', 'X', 'X', '\0' };

static time_t now_s = 1800000000;
static struct timespec test_clock(void *arg)
{
	struct timespec ts = { .tv_sec = now_s, .tv_nsec = 0 };
	return ts;
}

struct fx {
	char dir[256];
	EVP_PKEY *cakey, *rkey, *lkey;
	X509 *ca, *resp, *leaf;
	store *st;
	uint32_t id;
	struct ocspd_conf *conf;
	struct ocsp_counters cnt;
};
static struct fx fx;

static void write_pem(const char *name, X509 *cert, EVP_PKEY *key)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx.dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	if (cert != NULL)
		PEM_write_X509(f, cert);
	if (key != NULL)
		PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	fclose(f);
}

static int setup(void **state)
{
	char path[512];
	uint8_t *der = NULL;
	int len, err;
	struct store_cert_rec rec = { 0 };
	struct store_serial s;

	log_init("test_ocsp_responder", 0, LOG_LVL_WARN);
	clock_set_source(test_clock, NULL);
	snprintf(fx.dir, sizeof(fx.dir), "%s/ocsp-resp.%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 MKTEMP_TAIL);
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	fx.cakey = tp_key();
	fx.rkey = tp_key();
	fx.lkey = tp_key();
	fx.ca = tp_cert("Responder Test CA", fx.cakey, NULL, NULL, 1, 1, NULL, 0);
	fx.resp = tp_cert("OCSP", fx.rkey, fx.ca, fx.cakey, 2, 0, "OCSPSigning", 1);
	fx.leaf = tp_cert("leaf", fx.lkey, fx.ca, fx.cakey, 0x10, 0, NULL, 0);
	write_pem("resp.pem", fx.resp, NULL);
	write_pem("resp.key", NULL, fx.rkey);
	snprintf(path, sizeof(path), "%s/store", fx.dir);
	fx.st = store_open(path, STORE_RDWR | STORE_CREATE, 0, &err);
	if (fx.st == NULL)
		return -1;
	len = i2d_X509(fx.ca, &der);
	if (store_issuer_add(fx.st, "ca", der, (size_t)len, &fx.id) != 0)
		return -1;
	OPENSSL_free(der);
	rec.status = STORE_GOOD;
	rec.not_after = 1900000000;
	for (uint8_t sn = 0x10; sn <= 0x12; sn++) {
		if (store_serial_from_bytes(&s, &sn, 1) != 0 || store_cert_add(fx.st, fx.id, &s, &rec) != 0)
			return -1;
	}
	fx.conf = calloc(1, sizeof(*fx.conf));
	fx.conf->validity = 86400;
	fx.conf->refresh = 43200;
	fx.conf->max_certids = 8;
	fx.conf->nonce_min = 1;
	fx.conf->nonce_max = 32;
	fx.conf->ncas = 1;
	snprintf(fx.conf->cas[0].issuer, sizeof(fx.conf->cas[0].issuer), "ca");
	snprintf(fx.conf->cas[0].signer, sizeof(fx.conf->cas[0].signer), "resp");
	fx.conf->cas[0].by_key = 1;
	fx.conf->cas[0].include_cert = 1;
	fx.conf->nsigners = 1;
	snprintf(fx.conf->signers[0].name, sizeof(fx.conf->signers[0].name), "resp");
	fx.conf->signers[0].type = SIGNER_FILE;
	snprintf(fx.conf->signers[0].key_file, sizeof(fx.conf->signers[0].key_file), "%s/resp.key", fx.dir);
	snprintf(fx.conf->signers[0].cert_file, sizeof(fx.conf->signers[0].cert_file), "%s/resp.pem", fx.dir);
	ocsp_counters_init(&fx.cnt, NULL);
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];

	store_close(fx.st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
	if (system(cmd) != 0)
		return -1;
	X509_free(fx.ca);
	X509_free(fx.resp);
	X509_free(fx.leaf);
	EVP_PKEY_free(fx.cakey);
	EVP_PKEY_free(fx.rkey);
	EVP_PKEY_free(fx.lkey);
	free(fx.conf);
	clock_set_source(NULL, NULL);
	return 0;
}

/* A request for serial sn (SHA-256 CertID: not pre-produced), with a nonce or not. */
static size_t make_req(long sn, int nonce, uint8_t **der)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	int l;

	ASN1_INTEGER_set(ai, sn);
	OCSP_request_add0_id(req, OCSP_cert_id_new(EVP_sha256(), X509_get_subject_name(fx.ca),
						   X509_get0_pubkey_bitstr(fx.ca), ai));
	if (nonce)
		OCSP_request_add1_nonce(req, NULL, 16);
	*der = NULL;
	l = i2d_OCSP_REQUEST(req, der);
	OCSP_REQUEST_free(req);
	ASN1_INTEGER_free(ai);
	return (size_t)l;
}

/* Status of serial sn in the answer, and its producedAt. */
static int answer_status(ocsp_responder *r, long sn, int nonce, time_t *produced, struct ocsp_cache_entry **keep)
{
	uint8_t *der;
	size_t len = make_req(sn, nonce, &der);
	struct ocsp_answer a;
	const unsigned char *p;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	int st, reason;
	ASN1_GENERALIZEDTIME *rev, *tu, *nu;
	struct tm tm;

	ocsp_responder_answer(r, der, len, &a);
	OPENSSL_free(der);
	if (a.entry == NULL)
		return -100 - a.resp_status;
	p = a.entry->der;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)a.entry->der_len);
	assert_non_null(resp);
	bs = OCSP_response_get1_basic(resp);
	assert_non_null(bs);
	st = OCSP_single_get0_status(OCSP_resp_get0(bs, 0), &reason, &rev, &tu, &nu);
	assert_int_equal(ASN1_TIME_to_tm(OCSP_resp_get0_produced_at(bs), &tm), 1);
	*produced = timegm(&tm);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	if (keep != NULL)
		*keep = a.entry;
	else
		ocsp_cache_entry_put(a.entry);
	return st;
}

static void test_cache_refresh_invalidate(void **state)
{
	int err;
	ocsp_responder *r;
	struct ocsp_cache_entry *e1, *e2;
	time_t t0 = now_s, prod;
	struct store_serial s;
	uint8_t sn = 0x10;

	r = ocsp_responder_new(fx.conf, fx.st, &fx.cnt, &err);
	assert_non_null(r);
	assert_int_equal(err, 0);
	char why[64];
	assert_int_equal(ocsp_responder_ready(r, why, sizeof(why)), 0);

	assert_int_equal(answer_status(r, 0x10, 0, &prod, &e1), V_OCSP_CERTSTATUS_GOOD);
	assert_int_equal(prod, t0);
	now_s += 100;
	/* Cached: the very same entry (same bytes, no new signature). */
	assert_int_equal(answer_status(r, 0x10, 0, &prod, &e2), V_OCSP_CERTSTATUS_GOOD);
	assert_ptr_equal(e1, e2);
	assert_int_equal(prod, t0);
	ocsp_cache_entry_put(e2);
	/* A nonce answer is signed for the request, with the current time. */
	assert_int_equal(answer_status(r, 0x10, 1, &prod, &e2), V_OCSP_CERTSTATUS_GOOD);
	assert_ptr_not_equal(e1, e2);
	assert_int_equal(prod, t0 + 100);
	ocsp_cache_entry_put(e2);
	/* Past the refresh point: a new signature. */
	now_s = t0 + 43200;
	assert_int_equal(answer_status(r, 0x10, 0, &prod, &e2), V_OCSP_CERTSTATUS_GOOD);
	assert_ptr_not_equal(e1, e2);
	assert_int_equal(prod, t0 + 43200);
	ocsp_cache_entry_put(e1);
	ocsp_cache_entry_put(e2);

	/* Revoked in the store: the cached "good" goes with the next tick. */
	assert_int_equal(store_serial_from_bytes(&s, &sn, 1), 0);
	assert_int_equal(store_cert_revoke(fx.st, fx.id, &s, STORE_REASON_KEY_COMPROMISE, now_s - 10, 0), 0);
	ocsp_responder_tick(r);
	assert_int_equal(answer_status(r, 0x10, 0, &prod, NULL), V_OCSP_CERTSTATUS_REVOKED);
	/* Hold and release of another certificate. */
	sn = 0x11;
	assert_int_equal(store_serial_from_bytes(&s, &sn, 1), 0);
	assert_int_equal(answer_status(r, 0x11, 0, &prod, NULL), V_OCSP_CERTSTATUS_GOOD);
	assert_int_equal(store_cert_hold(fx.st, fx.id, &s, now_s), 0);
	ocsp_responder_tick(r);
	assert_int_equal(answer_status(r, 0x11, 0, &prod, NULL), V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(store_cert_release(fx.st, fx.id, &s), 0);
	ocsp_responder_tick(r);
	assert_int_equal(answer_status(r, 0x11, 0, &prod, NULL), V_OCSP_CERTSTATUS_GOOD);
	/* Never issued: unknown (default policy); issued later: good after the tick. */
	assert_int_equal(answer_status(r, 0x99, 0, &prod, NULL), V_OCSP_CERTSTATUS_UNKNOWN);
	struct store_cert_rec rec = { .status = STORE_GOOD, .not_after = 1900000000 };
	sn = 0x99;
	assert_int_equal(store_serial_from_bytes(&s, &sn, 1), 0);
	assert_int_equal(store_cert_add(fx.st, fx.id, &s, &rec), 0);
	ocsp_responder_tick(r);
	assert_int_equal(answer_status(r, 0x99, 0, &prod, NULL), V_OCSP_CERTSTATUS_GOOD);
	/* Malformed input. */
	struct ocsp_answer a;
	ocsp_responder_answer(r, (const uint8_t *)"\x30\x00", 2, &a);
	assert_null(a.entry);
	assert_int_equal(a.resp_status, OCSP_MALFORMED_REQUEST);
	/* A healthy pre-production stops at once (bounded stop, as at SIGTERM); a second stop is a no-op. */
	assert_int_equal(ocsp_responder_stop(r, 5000), VA_OK);
	assert_int_equal(ocsp_responder_stop(r, 0), VA_OK);
	ocsp_responder_free(r);
}

static void test_policies(void **state)
{
	int err;
	ocsp_responder *r;
	time_t prod;
	struct ocspd_conf *c = malloc(sizeof(*c));

	*c = *fx.conf;
	c->unknown_serial_revoked = 1;
	r = ocsp_responder_new(c, fx.st, &fx.cnt, &err);
	assert_non_null(r);
	assert_int_equal(answer_status(r, 0x77, 0, &prod, NULL), V_OCSP_CERTSTATUS_REVOKED);
	ocsp_responder_free(r);

	/* A request for another CA's certificate: unauthorized by default. */
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	uint8_t *der = NULL;
	int l;
	struct ocsp_answer a;
	OCSP_request_add0_id(req, OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(fx.leaf),
						   X509_get0_pubkey_bitstr(fx.leaf), X509_get_serialNumber(fx.leaf)));
	l = i2d_OCSP_REQUEST(req, &der);
	OCSP_REQUEST_free(req);
	r = ocsp_responder_new(fx.conf, fx.st, &fx.cnt, &err);
	ocsp_responder_answer(r, der, (size_t)l, &a);
	assert_int_equal(a.resp_status, OCSP_UNAUTHORIZED);
	ocsp_responder_free(r);
	c->unknown_serial_revoked = 0;
	c->unknown_issuer_unknown = 1;
	r = ocsp_responder_new(c, fx.st, &fx.cnt, &err);
	ocsp_responder_answer(r, der, (size_t)l, &a);
	assert_int_equal(a.resp_status, OCSP_SUCCESSFUL);
	ocsp_cache_entry_put(a.entry);
	ocsp_responder_free(r);
	OPENSSL_free(der);

	/* A signer certificate that may not sign for this CA is refused. */
	write_pem("leaf.pem", fx.leaf, NULL);
	write_pem("leaf.key", NULL, fx.lkey);
	snprintf(c->signers[0].key_file, sizeof(c->signers[0].key_file), "%s/leaf.key", fx.dir);
	snprintf(c->signers[0].cert_file, sizeof(c->signers[0].cert_file), "%s/leaf.pem", fx.dir);
	assert_null(ocsp_responder_new(c, fx.st, &fx.cnt, &err));
	assert_int_equal(err, VA_ERR_SIGNER);
	/* A CA missing from the store. */
	*c = *fx.conf;
	snprintf(c->cas[0].issuer, sizeof(c->cas[0].issuer), "nosuch");
	assert_null(ocsp_responder_new(c, fx.st, &fx.cnt, &err));
	assert_int_equal(err, VA_ERR_NOTFOUND);
	free(c);
}

/* Asks r about n serials (SHA-256 CertIDs) with a nonce; returns OCSP_check_nonce(request, answer): 1 echoed,
 * -1 left out (3 and 0 would be an answer inventing or altering one). *e keeps the answer's entry. */
static int nonce_check(ocsp_responder *r, const long *sn, size_t n, struct ocsp_cache_entry **e)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	struct ocsp_answer a;
	const unsigned char *p;
	uint8_t *der = NULL;
	int l, rc;

	for (size_t i = 0; i < n; i++) {
		ASN1_INTEGER *ai = ASN1_INTEGER_new();

		ASN1_INTEGER_set(ai, sn[i]);
		OCSP_request_add0_id(req, OCSP_cert_id_new(EVP_sha256(), X509_get_subject_name(fx.ca),
							   X509_get0_pubkey_bitstr(fx.ca), ai));
		ASN1_INTEGER_free(ai);
	}
	OCSP_request_add1_nonce(req, NULL, 16);
	l = i2d_OCSP_REQUEST(req, &der);
	assert_true(l > 0);
	ocsp_responder_answer(r, der, (size_t)l, &a);
	OPENSSL_free(der);
	assert_int_equal(a.resp_status, OCSP_SUCCESSFUL);
	assert_non_null(a.entry);
	p = a.entry->der;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)a.entry->der_len);
	assert_non_null(resp);
	bs = OCSP_response_get1_basic(resp);
	assert_non_null(bs);
	assert_int_equal(OCSP_resp_count(bs), (int)n);
	rc = OCSP_check_nonce(req, bs);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
	*e = a.entry;
	return rc;
}

/* Regression: with nonce_policy "ignore", a request with several CertIDs echoed its nonce while a single-CertID
 * one did not. Each policy must hold for both. */
static void test_nonce_policy(void **state)
{
	static const long one[] = { 0x12 }, two[] = { 0x12, 0x11 };
	struct ocspd_conf *c = malloc(sizeof(*c));
	struct ocsp_cache_entry *plain, *e;
	ocsp_responder *r;
	time_t prod;
	int err;

	assert_non_null(c);
	*c = *fx.conf;
	for (int ignore = 0; ignore <= 1; ignore++) {
		c->nonce_ignore = ignore;
		r = ocsp_responder_new(c, fx.st, &fx.cnt, &err);
		assert_non_null(r);
		/* the cached (nonce-less) answer of 0x12 */
		assert_int_equal(answer_status(r, 0x12, 0, &prod, &plain), V_OCSP_CERTSTATUS_GOOD);

		assert_int_equal(nonce_check(r, one, 1, &e), ignore ? -1 : 1);
		/* "ignore": the very cached answer; "echo": one signed for this request */
		if (ignore)
			assert_ptr_equal(e, plain);
		else
			assert_ptr_not_equal(e, plain);
		ocsp_cache_entry_put(e);

		assert_int_equal(nonce_check(r, two, 2, &e), ignore ? -1 : 1);
		assert_ptr_not_equal(e, plain);
		ocsp_cache_entry_put(e);
		ocsp_cache_entry_put(plain);
		ocsp_responder_free(r);
	}
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_refresh_invalidate),
		cmocka_unit_test(test_policies),
		cmocka_unit_test(test_nonce_policy),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
