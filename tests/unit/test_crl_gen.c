/*
 * test_crl_gen: CRL publication from a real store (temporary LMDB environment) with a file-key signer: entries
 * per status, retention of expired certificates under a test clock, numbering and state across job restarts,
 * delta contents from the change log (revoke, hold, release -> removeFromCRL, issue only), failures that must
 * leave the published files alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../crlgen/crlgen.h"
#include "clock.h"

#define T0 1800000000LL /* 2027-01-15 */
#define DAY 86400LL

static int64_t now_s = T0;

static struct timespec test_clock(void *arg)
{
	struct timespec ts = { .tv_sec = (time_t)now_s, .tv_nsec = 0 };

	(void)arg;
	return ts;
}

struct fx {
	char dir[512];
	char pub[600];
	store *st;
	signer *sg, *other;
	uint32_t issuer;
	struct crl_conf cc;
	X509 *ca;
};

static X509 *make_ca(EVP_PKEY *key, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *nm;
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 3650);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, nm);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_key_identifier, "hash");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static signer *write_signer(struct fx *f, const char *name, X509 **out_cert)
{
	struct signer_conf sc;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x;
	FILE *fp;
	int err = 0;

	assert_non_null(key);
	x = make_ca(key, name);
	memset(&sc, 0, sizeof(sc));
	snprintf(sc.name, sizeof(sc.name), "%s", name);
	sc.type = SIGNER_FILE;
	snprintf(sc.key_file, sizeof(sc.key_file), "%s/%s.key", f->dir, name);
	snprintf(sc.cert_file, sizeof(sc.cert_file), "%s/%s.pem", f->dir, name);
	fp = fopen(sc.key_file, "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL), 1);
	fclose(fp);
	fp = fopen(sc.cert_file, "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_X509(fp, x), 1);
	fclose(fp);
	EVP_PKEY_free(key);
	signer *s = signer_open(&sc, &err);
	assert_non_null(s);
	if (out_cert != NULL)
		*out_cert = x;
	else
		X509_free(x);
	return s;
}

static void serial(struct store_serial *s, unsigned v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	assert_int_equal(store_serial_from_bytes(s, b, 4), 0);
}

static void add_cert(struct fx *f, unsigned v, int64_t not_after)
{
	struct store_serial s;
	struct store_cert_rec r;

	memset(&r, 0, sizeof(r));
	r.status = STORE_GOOD;
	r.not_after = not_after;
	serial(&s, v);
	assert_int_equal(store_cert_add(f->st, f->issuer, &s, &r), 0);
}

static void do_revoke(struct fx *f, unsigned v, int reason, int64_t inval)
{
	struct store_serial s;

	serial(&s, v);
	assert_int_equal(store_cert_revoke(f->st, f->issuer, &s, reason, clock_now_sec(), inval), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	unsigned char *der = NULL;
	char path[640];
	int err = 0, n;

	assert_non_null(f);
	const char *td = getenv("TMPDIR");
	snprintf(f->dir, sizeof(f->dir), "%s/crlgen-test.%s", td != NULL && *td ? td : P_tmpdir, "XX" "XX" "XX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->pub, sizeof(f->pub), "%s/pub", f->dir);
	assert_int_equal(mkdir(f->pub, 0755), 0);
	now_s = T0;
	clock_set_source(test_clock, NULL);
	snprintf(path, sizeof(path), "%s/store", f->dir);
	f->st = store_open(path, STORE_RDWR | STORE_CREATE, 64ULL << 20, &err);
	assert_non_null(f->st);
	f->sg = write_signer(f, "ca", &f->ca);
	f->other = write_signer(f, "other", NULL);
	n = i2d_X509(f->ca, &der);
	assert_true(n > 0);
	assert_int_equal(store_issuer_add(f->st, "ca", der, (size_t)n, &f->issuer), 0);
	OPENSSL_free(der);
	snprintf(f->cc.name, sizeof(f->cc.name), "ca");
	snprintf(f->cc.issuer, sizeof(f->cc.issuer), "ca");
	snprintf(f->cc.signer, sizeof(f->cc.signer), "ca");
	f->cc.validity = 7 * DAY;
	f->cc.delta = 1;
	f->cc.delta_validity = DAY;
	f->cc.retention = -1;
	f->cc.ready_margin = 3600;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[640];

	signer_free(f->sg);
	signer_free(f->other);
	X509_free(f->ca);
	store_close(f->st);
	clock_set_source(NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Loads dir/name with OpenSSL, checks the signature with the CA's key. Caller frees. */
static X509_CRL *load(struct fx *f, const char *name)
{
	char path[700];
	FILE *fp;
	X509_CRL *crl;

	snprintf(path, sizeof(path), "%s/%s", f->pub, name);
	fp = fopen(path, "rb");
	if (fp == NULL)
		return NULL;
	crl = d2i_X509_CRL_fp(fp, NULL);
	fclose(fp);
	assert_non_null(crl);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(f->ca)), 1);
	return crl;
}

static long number_of(X509_CRL *crl, int nid)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, nid, NULL, NULL);
	long v = n != NULL ? ASN1_INTEGER_get(n) : -1;

	ASN1_INTEGER_free(n);
	return v;
}

/* reason of serial v in crl: -2 absent, -1 listed without reason, else the code. */
static int reason_of(X509_CRL *crl, unsigned v)
{
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);

	for (int i = 0; i < sk_X509_REVOKED_num(rev); i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(rev, i);
		if ((unsigned)ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(r)) != v)
			continue;
		ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
		int code = e != NULL ? (int)ASN1_ENUMERATED_get(e) : -1;
		ASN1_ENUMERATED_free(e);
		return code;
	}
	return -2;
}

static void test_full_entries_and_numbers(void **state)
{
	struct fx *f = *state;
	struct crl_job j, j2;
	struct store_serial s;
	X509_CRL *crl;

	for (unsigned v = 1; v <= 6; v++)
		add_cert(f, v, T0 + 365 * DAY);
	do_revoke(f, 1, STORE_REASON_KEY_COMPROMISE, T0 - 10 * DAY);
	do_revoke(f, 2, STORE_REASON_UNSPECIFIED, 0);
	do_revoke(f, 3, STORE_REASON_SUPERSEDED, 0);
	serial(&s, 4);
	assert_int_equal(store_cert_hold(f->st, f->issuer, &s, T0), 0);

	assert_int_equal(crl_job_init(&j, f->st, &f->cc, f->sg), 0);
	assert_int_equal(j.state.full_number, 0);
	assert_int_equal(crl_job_full(&j, f->st, f->pub), 0);
	crl = load(f, "ca.crl");
	assert_int_equal(number_of(crl, NID_crl_number), 1);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 4);
	assert_int_equal(reason_of(crl, 1), STORE_REASON_KEY_COMPROMISE);
	assert_int_equal(reason_of(crl, 2), -1); /* unspecified: no reasonCode */
	assert_int_equal(reason_of(crl, 3), STORE_REASON_SUPERSEDED);
	assert_int_equal(reason_of(crl, 4), STORE_REASON_CERTIFICATE_HOLD);
	assert_int_equal(reason_of(crl, 5), -2);
	X509_CRL_free(crl);
	struct stat st;
	char path[700];
	snprintf(path, sizeof(path), "%s/ca-delta.crl", f->pub);
	assert_int_not_equal(stat(path, &st), 0); /* no base yet: no delta */

	/* A new job (a restart) continues the numbering and publishes the delta against CRL 1. */
	now_s += 3600;
	assert_int_equal(crl_job_init(&j2, f->st, &f->cc, f->sg), 0);
	assert_int_equal(j2.state.full_number, 1);
	do_revoke(f, 5, STORE_REASON_CESSATION, 0);
	assert_int_equal(crl_job_full(&j2, f->st, f->pub), 0);
	crl = load(f, "ca.crl");
	assert_int_equal(number_of(crl, NID_crl_number), 2);
	X509_CRL_free(crl);
	crl = load(f, "ca-delta.crl");
	assert_non_null(crl);
	assert_int_equal(number_of(crl, NID_crl_number), 2);
	assert_int_equal(number_of(crl, NID_delta_crl), 1);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
	assert_int_equal(reason_of(crl, 5), STORE_REASON_CESSATION);
	X509_CRL_free(crl);
	crl = load(f, "ca.crl.prev");
	assert_int_equal(number_of(crl, NID_crl_number), 1);
	X509_CRL_free(crl);

	/* Delta only: new number, same base, the full CRL untouched. */
	serial(&s, 4);
	assert_int_equal(store_cert_release(f->st, f->issuer, &s), 0);
	serial(&s, 6);
	assert_int_equal(store_cert_hold(f->st, f->issuer, &s, T0), 0);
	add_cert(f, 7, T0 + DAY); /* issued, good: not in a delta */
	assert_int_equal(crl_job_delta(&j2, f->st, f->pub), 0);
	crl = load(f, "ca-delta.crl");
	assert_int_equal(number_of(crl, NID_crl_number), 3);
	assert_int_equal(number_of(crl, NID_delta_crl), 2);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	assert_int_equal(reason_of(crl, 4), STORE_REASON_REMOVE_FROM_CRL);
	assert_int_equal(reason_of(crl, 6), STORE_REASON_CERTIFICATE_HOLD);
	assert_int_equal(reason_of(crl, 7), -2);
	X509_CRL_free(crl);
	crl = load(f, "ca.crl");
	assert_int_equal(number_of(crl, NID_crl_number), 2);
	X509_CRL_free(crl);

	/* Change detection: nothing new after a publication, then a change of this issuer. */
	int changed = -1;
	assert_int_equal(crl_job_changed(&j2, f->st, &changed), 0);
	assert_int_equal(changed, 0);
	do_revoke(f, 7, STORE_REASON_KEY_COMPROMISE, 0);
	assert_int_equal(crl_job_changed(&j2, f->st, &changed), 0);
	assert_int_equal(changed, 1);
	crl_job_clear(&j);
	crl_job_clear(&j2);
}

static void test_retention(void **state)
{
	struct fx *f = *state;
	struct crl_job j;
	X509_CRL *crl;

	add_cert(f, 1, T0 - 30 * DAY); /* expired a month ago */
	add_cert(f, 2, T0 - 2 * DAY);  /* expired two days ago */
	add_cert(f, 3, T0 + DAY);
	add_cert(f, 4, 0);             /* notAfter unknown: always kept */
	for (unsigned v = 1; v <= 4; v++)
		do_revoke(f, v, STORE_REASON_KEY_COMPROMISE, 0);

	f->cc.retention = 7 * DAY;
	assert_int_equal(crl_job_init(&j, f->st, &f->cc, f->sg), 0);
	assert_int_equal(crl_job_full(&j, f->st, f->pub), 0);
	crl = load(f, "ca.crl");
	assert_int_equal(reason_of(crl, 1), -2);
	assert_int_equal(reason_of(crl, 2), STORE_REASON_KEY_COMPROMISE);
	assert_int_equal(reason_of(crl, 3), STORE_REASON_KEY_COMPROMISE);
	assert_int_equal(reason_of(crl, 4), STORE_REASON_KEY_COMPROMISE);
	X509_CRL_free(crl);
	/* Later: the second one has been on a CRL after its expiry and now goes too. */
	now_s = T0 + 6 * DAY;
	assert_int_equal(crl_job_full(&j, f->st, f->pub), 0);
	crl = load(f, "ca.crl");
	assert_int_equal(reason_of(crl, 2), -2);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	/* thisUpdate and nextUpdate follow the clock. */
	struct tm tm;
	assert_int_equal(ASN1_TIME_to_tm(X509_CRL_get0_nextUpdate(crl), &tm), 1);
	assert_int_equal(timegm(&tm), now_s + 7 * DAY);
	X509_CRL_free(crl);
	crl_job_clear(&j);

	/* Forever: all four. */
	f->cc.retention = -1;
	assert_int_equal(crl_job_init(&j, f->st, &f->cc, f->sg), 0);
	assert_int_equal(crl_job_full(&j, f->st, f->pub), 0);
	crl = load(f, "ca.crl");
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 4);
	X509_CRL_free(crl);
	crl_job_clear(&j);
}

static void test_failures_leave_files(void **state)
{
	struct fx *f = *state;
	struct crl_job j;
	char path[700], bad[700];
	struct stat st1, st2;
	struct crl_state s;

	add_cert(f, 1, T0 + DAY);
	do_revoke(f, 1, STORE_REASON_KEY_COMPROMISE, 0);
	/* Wrong signer for the issuer, unknown issuer. */
	assert_int_equal(crl_job_init(&j, f->st, &f->cc, f->other), VA_ERR_CONFIG);
	struct crl_conf cc = f->cc;
	snprintf(cc.issuer, sizeof(cc.issuer), "nosuch");
	assert_int_equal(crl_job_init(&j, f->st, &cc, f->sg), VA_ERR_NOTFOUND);

	assert_int_equal(crl_job_init(&j, f->st, &f->cc, f->sg), 0);
	assert_int_equal(crl_job_full(&j, f->st, f->pub), 0);
	snprintf(path, sizeof(path), "%s/ca.crl", f->pub);
	assert_int_equal(stat(path, &st1), 0);
	/* A publish directory that is gone: error, state unchanged, nothing published. */
	snprintf(bad, sizeof(bad), "%s/missing", f->dir);
	uint64_t before = j.state.full_number;
	assert_int_not_equal(crl_job_full(&j, f->st, bad), 0);
	assert_int_equal(j.state.full_number, before);
	assert_int_equal(crl_state_load(f->st, "ca", &s), 0);
	assert_int_equal(s.full_number, before);
	/* A signer whose key is not the CA's, swapped in after init: verification before publication refuses. */
	j.sg = f->other;
	assert_int_not_equal(crl_job_full(&j, f->st, f->pub), 0);
	j.sg = f->sg;
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	/* No temporary file left behind. */
	char cmd[800];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s' | grep '^\\.')\"", f->pub);
	assert_int_equal(system(cmd), 0);
	/* Then it works again, with a higher number than any reserved before. */
	assert_int_equal(crl_job_full(&j, f->st, f->pub), 0);
	assert_true(j.state.full_number > before + 1);
	crl_job_clear(&j);
	/* A damaged state record is an error, not a silent restart of the numbering. */
	assert_int_equal(store_meta_put(f->st, "crlgen/ca", "xyz", 3), 0);
	assert_int_equal(crl_state_load(f->st, "ca", &s), VA_ERR_STORE);
	assert_int_not_equal(crl_job_init(&j, f->st, &f->cc, f->sg), 0);
}

static void test_delta_collect_order(void **state)
{
	struct fx *f = *state;
	struct crl_entry *e = NULL;
	size_t n = 0;
	uint64_t base;
	struct store_serial s;

	for (unsigned v = 300; v > 0; v -= 30)
		add_cert(f, v, T0 + DAY);
	assert_int_equal(store_changes_last(f->st, &base), 0);
	for (unsigned v = 300; v > 0; v -= 30)
		do_revoke(f, v, v == 150 ? STORE_REASON_UNSPECIFIED : STORE_REASON_SUPERSEDED, 0);
	/* A later key compromise replaces the reason (the last change wins). */
	serial(&s, 60);
	assert_int_equal(store_cert_revoke(f->st, f->issuer, &s, STORE_REASON_KEY_COMPROMISE, T0, T0 - DAY), 0);
	uint64_t upto;
	assert_int_equal(store_changes_last(f->st, &upto), 0);
	assert_int_equal(crl_delta_collect(f->st, f->issuer, NULL, base, upto, INT64_MIN, &e, &n), 0);
	assert_int_equal(n, 10);
	unsigned prev = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;
		for (size_t k = 0; k < e[i].serial.len; k++)
			v = v << 8 | e[i].serial.mag[k];
		assert_true(v > prev); /* serial order */
		prev = v;
		if (v == 60) {
			assert_int_equal(e[i].reason, STORE_REASON_KEY_COMPROMISE);
			assert_int_equal(e[i].invalidity, T0 - DAY);
		} else if (v == 150) {
			assert_int_equal(e[i].reason, -1);
		} else {
			assert_int_equal(e[i].reason, STORE_REASON_SUPERSEDED);
		}
	}
	free(e);
	/* Bounded by upto: the changes after the snapshot are not in it. */
	assert_int_equal(crl_delta_collect(f->st, f->issuer, NULL, base, base + 3, INT64_MIN, &e, &n), 0);
	assert_int_equal(n, 3);
	free(e);
	/* A partition [100, 200) sees 120, 150 and 180 only. */
	struct crl_range r = { .on = 1, .has_to = 1 };
	serial(&r.from, 100);
	serial(&r.to, 200);
	assert_int_equal(crl_delta_collect(f->st, f->issuer, &r, base, upto, INT64_MIN, &e, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(e[0].serial.mag[0], 120);
	assert_int_equal(e[2].serial.mag[0], 180);
	free(e);
	/* Another issuer's changes are not ours. */
	assert_int_equal(crl_delta_collect(f->st, f->issuer + 1, NULL, base, upto, INT64_MIN, &e, &n), 0);
	assert_int_equal(n, 0);
	free(e);
}

/* Partitioned CRLs: each scope lists only its serial range, with its own numbering. */
static void test_partitions(void **state)
{
	struct fx *f = *state;
	struct crl_conf lo = f->cc, hi = f->cc;
	struct crl_job jl, jh;
	X509_CRL *crl;

	for (unsigned v = 1; v <= 6; v++) {
		add_cert(f, v * 0x100, T0 + DAY);
		do_revoke(f, v * 0x100, STORE_REASON_KEY_COMPROMISE, 0);
	}
	snprintf(lo.name, sizeof(lo.name), "lo");
	snprintf(hi.name, sizeof(hi.name), "hi");
	snprintf(lo.idp, sizeof(lo.idp), "http://x/lo.crl");
	snprintf(hi.idp, sizeof(hi.idp), "http://x/hi.crl");
	lo.range.on = hi.range.on = 1;
	serial(&lo.range.from, 0);
	serial(&lo.range.to, 0x400);
	lo.range.has_to = 1;
	serial(&hi.range.from, 0x400);
	assert_int_equal(crl_job_init(&jl, f->st, &lo, f->sg), 0);
	assert_int_equal(crl_job_init(&jh, f->st, &hi, f->sg), 0);
	assert_int_equal(crl_job_full(&jl, f->st, f->pub), 0);
	assert_int_equal(crl_job_full(&jh, f->st, f->pub), 0);
	crl = load(f, "lo.crl");
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 3);
	assert_int_equal(reason_of(crl, 0x300), STORE_REASON_KEY_COMPROMISE);
	assert_int_equal(reason_of(crl, 0x400), -2);
	assert_int_equal(X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point, -1) >= 0, 1);
	X509_CRL_free(crl);
	crl = load(f, "hi.crl");
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 3);
	assert_int_equal(reason_of(crl, 0x400), STORE_REASON_KEY_COMPROMISE);
	assert_int_equal(reason_of(crl, 0x300), -2);
	assert_int_equal(number_of(crl, NID_crl_number), 1);
	X509_CRL_free(crl);
	/* A change in one partition is not a change of the other. */
	int changed = -1;
	add_cert(f, 0x800, T0 + DAY);
	do_revoke(f, 0x800, STORE_REASON_SUPERSEDED, 0);
	assert_int_equal(crl_job_changed(&jl, f->st, &changed), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(crl_job_changed(&jh, f->st, &changed), 0);
	assert_int_equal(changed, 1);
	crl_job_clear(&jl);
	crl_job_clear(&jh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_entries_and_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures_leave_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delta_collect_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partitions, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
