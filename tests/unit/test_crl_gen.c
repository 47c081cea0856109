/*
 * test_crl_gen: CRL publication from a real store (temporary LMDB environment) with a file-key signer: entries
 * per status, retention of expired certificates under a test clock, numbering and state across job restarts,
 * delta contents from the change log (revoke, hold, release -> removeFromCRL, issue only), failures that must
 * leave the published files alone, and full CRLs of a deterministic store pinned byte for byte.
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

/* ---- partitions read their range of the revoked index ---- */

#define SER20_MIN "0100000000000000000000000000000000000000"
#define SER20_MAX "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"

/* Serials of every form a partition's bounds must sort: negative ones (non-conforming, but stored and listed),
 * zero, lengths 1 to 20 and the neighbours across each change of length (the key orders by length first). */
static const char *const part_serials[] = { "-FFFF", "-0100", "-80", "-7F", "-01", "00", "01", "7F", "80", "FF",
					    "0100", "0101", "FFFF", "010000", "7FFFFFFF", "80000000", "0100000000",
					    SER20_MIN, SER20_MAX };
/* Bounds: every stored serial and values between them. */
static const char *const part_bounds[] = { "-FFFF", "-FFFE", "-0101", "-0100", "-81", "-80", "-7F", "-02", "-01",
					   "00", "01", "02", "7F", "80", "81", "FE", "FF", "0100", "0101", "0102",
					   "FFFF", "010000", "7FFFFFFF", "80000000", "FFFFFFFF", "0100000000", SER20_MIN,
					   SER20_MAX };

struct part_list {
	struct store_serial s[64];
	int n;
};

static int part_collect(void *arg, const struct store_serial *s, const struct store_cert_rec *rec)
{
	struct part_list *l = arg;

	(void)rec;
	if (l->n >= 64)
		return -99;
	l->s[l->n++] = *s;
	return 0;
}

static void part_serial(struct store_serial *s, const char *hex)
{
	assert_int_equal(store_serial_from_hex(s, hex), 0);
}

/* The entries of a published CRL, in file order, as store serials. */
static void crl_serials(struct fx *f, const char *name, struct part_list *out)
{
	X509_CRL *crl = load(f, name);
	STACK_OF(X509_REVOKED) *rev;

	assert_non_null(crl);
	rev = X509_CRL_get_REVOKED(crl);
	out->n = 0;
	for (int i = 0; i < sk_X509_REVOKED_num(rev); i++) {
		unsigned char *der = NULL;
		int len = i2d_ASN1_INTEGER(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rev, i)), &der);
		/* INTEGER, short-form length (at most 21 content octets): the content follows the two header octets. */
		assert_true(len > 2 && len < 128 && der[1] == len - 2);
		assert_true(out->n < 64);
		assert_int_equal(store_serial_from_der(&out->s[out->n++], der + 2, (size_t)len - 2), 0);
		OPENSSL_free(der);
	}
	X509_CRL_free(crl);
}

static void expect_same_serials(const struct part_list *want, const struct part_list *got, const char *what)
{
	char a[2 * LIM_SERIAL_MAX + 2], b[2 * LIM_SERIAL_MAX + 2];

	if (got->n != want->n)
		fail_msg("%s: %d entries, want %d", what, got->n, want->n);
	for (int i = 0; i < want->n; i++) {
		store_serial_to_hex(&want->s[i], a, sizeof(a));
		store_serial_to_hex(&got->s[i], b, sizeof(b));
		if (strcmp(a, b) != 0)
			fail_msg("%s: entry %d is %s, want %s", what, i, b, a);
	}
}

/* The store's ranged walk and crlgen's idea of a partition agree: for every pair of bounds (and each side
 * unbounded), the walk visits exactly what the full walk visits and crl_serial_cmp puts in [from, to), in the
 * same order; and a partitioned full CRL, whose walk now starts at serial_from, lists exactly the entries of the
 * full CRL that crl_range_has accepts, in the same order. */
static void test_partition_range_walk(void **state)
{
	struct fx *f = *state;
	struct part_list all = { .n = 0 };
	size_t nb = sizeof(part_bounds) / sizeof(part_bounds[0]);

	for (size_t i = 0; i < sizeof(part_serials) / sizeof(part_serials[0]); i++) {
		struct store_serial s;
		struct store_cert_rec r;
		memset(&r, 0, sizeof(r));
		r.not_after = T0 + DAY;
		r.status = i % 4 == 3 ? STORE_GOOD : i % 5 == 1 ? STORE_HOLD : STORE_REVOKED; /* first and last revoked */
		r.reason = r.status == STORE_REVOKED ? STORE_REASON_SUPERSEDED : 0;
		r.revoked_at = r.status == STORE_GOOD ? 0 : T0 - (int64_t)i * 60;
		part_serial(&s, part_serials[i]);
		assert_int_equal(store_cert_add(f->st, f->issuer, &s, &r), 0);
	}
	assert_int_equal(store_revoked_foreach(f->st, f->issuer, part_collect, &all), 0);
	assert_true(all.n > 10);

	/* The walk, for every pair of bounds; index nb stands for no bound. */
	for (size_t i = 0; i <= nb; i++) {
		for (size_t j = 0; j <= nb; j++) {
			struct store_serial from, to;
			struct part_list want = { .n = 0 }, got = { .n = 0 };
			char what[128];
			if (i < nb)
				part_serial(&from, part_bounds[i]);
			if (j < nb)
				part_serial(&to, part_bounds[j]);
			for (int k = 0; k < all.n; k++)
				if ((i == nb || crl_serial_cmp(&all.s[k], &from) >= 0) &&
				    (j == nb || crl_serial_cmp(&all.s[k], &to) < 0))
					want.s[want.n++] = all.s[k];
			assert_int_equal(store_revoked_foreach_range(f->st, f->issuer, i < nb ? &from : NULL,
								     j < nb ? &to : NULL, part_collect, &got), 0);
			snprintf(what, sizeof(what), "walk [%s, %s)", i < nb ? part_bounds[i] : "*",
				 j < nb ? part_bounds[j] : "*");
			expect_same_serials(&want, &got, what);
		}
	}

	/* Partitioned CRLs as configured (serial_from defaults to zero, serial_to to none). */
	static const struct {
		const char *from, *to; /* NULL: not configured */
	} parts[] = {
		{ "80", "0100" }, { NULL, "0101" }, { "FF", NULL }, { "-80", "01" }, { "-0100", "-01" },
		{ SER20_MAX, NULL }, { "81", "FF" }, { "-FFFF", NULL }, { "7FFFFFFF", SER20_MIN },
	};
	for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
		struct crl_conf cc = f->cc;
		struct crl_job j;
		struct part_list want = { .n = 0 }, got;
		char fname[64];
		cc.delta = 0;
		snprintf(cc.name, sizeof(cc.name), "part%zu", p);
		snprintf(cc.idp, sizeof(cc.idp), "http://x/part%zu.crl", p);
		cc.range.on = 1;
		if (parts[p].from != NULL)
			part_serial(&cc.range.from, parts[p].from);
		if (parts[p].to != NULL) {
			part_serial(&cc.range.to, parts[p].to);
			cc.range.has_to = 1;
		}
		for (int k = 0; k < all.n; k++)
			if (crl_range_has(&cc.range, &all.s[k]))
				want.s[want.n++] = all.s[k];
		assert_int_equal(crl_job_init(&j, f->st, &cc, f->sg), 0);
		assert_int_equal(crl_job_full(&j, f->st, f->pub), 0);
		crl_job_clear(&j);
		snprintf(fname, sizeof(fname), "part%zu.crl", p);
		crl_serials(f, fname, &got);
		expect_same_serials(&want, &got, fname);
	}
}

/* ---- full CRL bytes pinned ---- */

/* A throw-away RSA-2048 test key (never used elsewhere): RSA PKCS#1 v1.5 signatures are deterministic, so with
 * the test clock and a fresh store the published files are fixed bytes. */
static const char PINNED_KEY[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCjJgNkxj/Objvd\n"
	"R3Nyjfb1CvblKkfL0gOQ6uC7vucMpB2poHsAjfgQMewg1PG+1SqRAsk3n5eDrNcC\n"
	"VY6dNH9wL5YlZh2OhrUPQkkwnR1fJxFlR3Gd+cIhLRTimgfWARwnRtvilnYTsja3\n"
	"0wHprPmKdsu/ZDjAYsONQi84GJT10Z/yaa7FyBKAhLCW15gZIUQyLjaWjJsjHZ5o\n"
	"0HmexXkqLnmKUHuIk3Keybzn3JF66QuZhHQbWjAZxQYgSvUltfngXENUiorDVmBs\n"
	"uj4NI/4kvnlAlC/XeRvDLKj8WtlKpCivPrGyYHdR6qC0MnajfejOoZcACbEUXZgo\n"
	"4XsvEAdRAgMBAAECggEAQx7oBYVEifazHVoAhrAeWnkc03JeIF4yRmRDeipTn1FD\n"
	"vN4/zJ4b4PnQ9j71iDfl78vwIbjAWpV4zcaKSmXnSi3hvVgyL8l+4xy3xM7W3ydR\n"
	"ElRey4oOEp0b+xA4yhQh04zk+OdDA95tgZpHrq4R6iPutjqS2J+paUvB5nfCjRD9\n"
	"EKFPt51HGlLC6dxtxetlv5hBThNDHL2u0mX8DrY1CikCvLAd+gTBsM7Csx6GxTiG\n"
	"7H9/t8rECEcXkheUuomo/MDeIU6Dj0h4ZxXiYn2n3zXEnkwbwbgLbC3pYZkihcvb\n"
	"fdSyLwimsrjOkPTtDi4Gl/aggXOGrVNr3ljV1mD4AwKBgQDaU1xf3U8Om7BsGNH/\n"
	"dtDsEI65McB7uabP7slWcclE5nEkJFzQTovVoDonTVmGLNHkqJt4K0oyHH5Rg2zg\n"
	"J0q3OsT3QQyhO0NCuuBHOmvYd8MiTONBtzl5Srm6V8W0JiTYEYUmsNRzik6G7h5S\n"
	"d0gwhUQAEzc52fVXFZxpgz1iswKBgQC/TS0G0NctMKGSwXMii6hvJ+6jaXkMHTDM\n"
	"CSg3napWt58c77J2cJV50h3mYDecLVX0BpFzYy0NYAPLFIST1Pw9K1MlQqGqabSo\n"
	"EcrVrazs/6GtqoXnklCNhLVI/UR0GJxziSSveQ7SE4sXzkvf+LNTtayGFeaIEEiA\n"
	"jw8xzJJf6wKBgQDAgEntuNuxHLN0zHm0z1WtH3hIcEawkOQ1aO0bjF6TosBVxr4T\n"
	"aX5AUPOVncz20mQLQmM6lKjqAFeclc4U4nAtmOL8w91X+EH4/38rLqbSid6DStoC\n"
	"IoTJnoqedC+9BPjtjp0hnT7l1SgiLqiLu+Lp7Uck7cx+9OAu9b4hBnfEowKBgDnK\n"
	"//paJ1eQpI9of/cEyBrkrnSRza76Np69eXfr2uUdziT4ySp88rt93eiWUtaM37W8\n"
	"Mj7wzFCJHDxC85aRtq5oI1NTYPHRw3EvBt8s+9wRkm+b355JFqraV8Y4NXD5anKB\n"
	"ESMt6GtQ2imT+loskUiNzxQnE6ExgiXMkmOSEPqHAoGAIQIIziDNmlHSWdFY1eb+\n"
	"a7/kQlGaNi3gacRrDhnNjiSDMvWqDFRDWi4rJJiWR5nHsomyTMu1UvCBXWJiO+YX\n"
	"3OOzCCyNpoU5IOkqZScvvS+b1FtIGUTTvmRsVLPP6dYOnlTJGpch/eNIan+Kaszr\n"
	"jUDy3E9NMjOdEt+//qRMk+c=\n"
	"-----END PRIVATE KEY-----\n";

/* Deterministic serials for the pinned store: 2 to 20 octets, unique by construction (the last two octets are
 * i, the octets before them non-zero from the first), one in 97 negative (non-conforming, but stored and
 * listed). */
static void pinned_serial(struct store_serial *s, unsigned i, uint64_t *rng)
{
	uint8_t b[LIM_SERIAL_MAX];
	size_t len = 2 + i % 19;

	for (size_t k = 0; k + 2 < len; k++) {
		*rng ^= *rng << 13;
		*rng ^= *rng >> 7;
		*rng ^= *rng << 17;
		b[k] = (uint8_t)(*rng >> 24);
		if (k == 0 && b[0] == 0)
			b[0] = 0x5a;
	}
	b[len - 2] = (uint8_t)(i >> 8);
	b[len - 1] = (uint8_t)i;
	if (i % 97 == 0) {
		uint8_t der[3] = { (uint8_t)(0x80 | (i >> 14)), (uint8_t)(i >> 8), (uint8_t)i };
		assert_int_equal(store_serial_from_der(s, der, sizeof(der)), 0);
		return;
	}
	assert_int_equal(store_serial_from_bytes(s, b, len), 0);
}

static void sha256_hex(const char *path, char out[65])
{
	uint8_t buf[65536], md[32];
	unsigned mdlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	FILE *fp = fopen(path, "rb");
	size_t n;

	assert_non_null(c);
	assert_non_null(fp);
	assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		assert_int_equal(EVP_DigestUpdate(c, buf, n), 1);
	fclose(fp);
	assert_int_equal(EVP_DigestFinal_ex(c, md, &mdlen), 1);
	EVP_MD_CTX_free(c);
	for (unsigned k = 0; k < 32; k++)
		snprintf(out + 2 * k, 3, "%02x", md[k]);
}

/* Full CRLs built from one deterministic store must stay byte for byte what they were when this test was
 * written (before the store had its revoked-certificate index): the way the store is walked may change, the
 * CRL may not. The store mixes every path that sets a status (bulk puts with revoked and held entries, revoke
 * with and without reason and invalidity date, hold, release, hold then revoke, a later keyCompromise), serials
 * of every length, negative ones, expired certificates dropped by retention, and another issuer's revocations
 * interleaved. Two scopes: the whole CA and a serial partition. */
static void test_full_bytes_pinned(void **state)
{
	struct fx *f = *state;
	static const char *const want[2] = {
		"8e86a7debeaeecb62ea4af19c9e5edab3c600b6a58af7775dc083a5bbbcd9785",
		"374aaad834b8383fe899d9a8990baf24f709485a044a446025df2a7030e5959e",
	};
	static const int reasons[] = { STORE_REASON_UNSPECIFIED, STORE_REASON_KEY_COMPROMISE,
				       STORE_REASON_CA_COMPROMISE, STORE_REASON_AFFILIATION_CHANGED,
				       STORE_REASON_SUPERSEDED, STORE_REASON_CESSATION,
				       STORE_REASON_PRIVILEGE_WITHDRAWN, STORE_REASON_AA_COMPROMISE };
	const unsigned n = 4000;
	struct crl_conf whole = f->cc, part = f->cc;
	struct crl_job jw, jp;
	struct store_serial s;
	store_batch *b;
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	unsigned listed_whole = 0, listed_part = 0;
	char path[700], hex[65];
	uint32_t other_id = f->issuer;
	int err = 0;

	/* The CA with the pinned key, and a second issuer whose revocations must not appear. */
	BIO *bio = BIO_new_mem_buf(PINNED_KEY, -1);
	EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(key);
	X509 *ca = make_ca(key, "Pinned CA");
	struct signer_conf sc;
	memset(&sc, 0, sizeof(sc));
	snprintf(sc.name, sizeof(sc.name), "pinned");
	sc.type = SIGNER_FILE;
	snprintf(sc.key_file, sizeof(sc.key_file), "%s/pinned.key", f->dir);
	snprintf(sc.cert_file, sizeof(sc.cert_file), "%s/pinned.pem", f->dir);
	FILE *fp = fopen(sc.key_file, "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL), 1);
	fclose(fp);
	fp = fopen(sc.cert_file, "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_X509(fp, ca), 1);
	fclose(fp);
	signer *sg = signer_open(&sc, &err);
	assert_non_null(sg);
	unsigned char *der = NULL;
	int dlen = i2d_X509(ca, &der);
	assert_true(dlen > 0);
	uint32_t pinned_id;
	assert_int_equal(store_issuer_add(f->st, "pinned", der, (size_t)dlen, &pinned_id), 0);
	OPENSSL_free(der);

	/* Bulk part: every certificate recorded, one in ten revoked and one in twenty held straight from the
	 * "index"; the other issuer gets a revoked certificate with the same serial now and then. */
	b = store_batch_begin(f->st, &err);
	assert_non_null(b);
	for (unsigned i = 0; i < n; i++) {
		struct store_cert_rec r;
		memset(&r, 0, sizeof(r));
		pinned_serial(&s, i, &rng);
		/* Expiries: most in the future, some long gone, some a few days ago, some unknown. */
		r.not_after = i % 13 == 0 ? T0 - 90 * DAY : i % 17 == 0 ? T0 - 3 * DAY : i % 29 == 0 ? 0 : T0 + 365 * DAY;
		if (i % 10 == 6) {
			r.status = STORE_REVOKED;
			r.reason = (uint8_t)reasons[i % 8];
			r.revoked_at = T0 - (int64_t)(i % 50) * DAY;
			if (i % 4 == 0) {
				r.has_invalidity = 1;
				r.invalidity = r.revoked_at - DAY;
			}
		} else if (i % 20 == 3) {
			r.status = STORE_HOLD;
			r.revoked_at = T0 - (int64_t)(i % 7) * DAY;
		} else {
			r.status = STORE_GOOD;
		}
		assert_int_equal(store_batch_put(b, pinned_id, &s, &r), 0);
		if (i % 11 == 0) {
			struct store_cert_rec o = r;
			o.status = STORE_REVOKED;
			o.reason = STORE_REASON_SUPERSEDED;
			o.revoked_at = T0 - DAY;
			o.has_invalidity = 0;
			assert_int_equal(store_batch_put(b, other_id, &s, &o), 0);
		}
	}
	assert_int_equal(store_batch_end(b, 1), 0);

	/* Single changes through every status operation. */
	rng = 0x9e3779b97f4a7c15ULL;
	for (unsigned i = 0; i < n; i++) {
		pinned_serial(&s, i, &rng);
		if (i % 10 == 1)
			assert_int_equal(store_cert_revoke(f->st, pinned_id, &s, reasons[(i / 10) % 8], T0 - (int64_t)(i % 9) * 3600,
							   i % 3 == 0 ? T0 - 2 * DAY : 0), 0);
		else if (i % 10 == 2)
			assert_int_equal(store_cert_hold(f->st, pinned_id, &s, T0 - (int64_t)(i % 5) * 60), 0);
		else if (i % 10 == 4) {
			assert_int_equal(store_cert_hold(f->st, pinned_id, &s, T0 - 600), 0);
			if (i % 20 == 4)
				assert_int_equal(store_cert_release(f->st, pinned_id, &s), 0);
			else
				assert_int_equal(store_cert_revoke(f->st, pinned_id, &s, STORE_REASON_CESSATION, T0 - 300, 0), 0);
		} else if (i % 10 == 6 && i % 3 == 0 && reasons[i % 8] != STORE_REASON_KEY_COMPROMISE) {
			/* A revocation later found to be a key compromise. */
			assert_int_equal(store_cert_revoke(f->st, pinned_id, &s, STORE_REASON_KEY_COMPROMISE, T0, T0 - 4 * DAY), 0);
		}
	}

	/* What each scope must list, from the operations above. */
	struct crl_range pr = { .on = 1, .has_to = 1 };
	uint8_t lo[3] = { 0x40, 0, 0 }, hi[6] = { 0x40, 0, 0, 0, 0, 0 };
	assert_int_equal(store_serial_from_bytes(&pr.from, lo, sizeof(lo)), 0);
	assert_int_equal(store_serial_from_bytes(&pr.to, hi, sizeof(hi)), 0);
	rng = 0x9e3779b97f4a7c15ULL;
	for (unsigned i = 0; i < n; i++) {
		int64_t na = i % 13 == 0 ? T0 - 90 * DAY : i % 17 == 0 ? T0 - 3 * DAY : i % 29 == 0 ? 0 : T0 + 365 * DAY;
		int on_crl = i % 10 == 6 || i % 20 == 3 || i % 10 == 1 || i % 10 == 2 || (i % 10 == 4 && i % 20 != 4);
		pinned_serial(&s, i, &rng);
		if (!on_crl || (na != 0 && na < T0 - 30 * DAY))
			continue;
		listed_whole++;
		listed_part += crl_range_has(&pr, &s);
	}
	assert_true(listed_part > 10 && listed_part < listed_whole);

	whole.retention = 30 * DAY;
	part.retention = 30 * DAY;
	snprintf(whole.name, sizeof(whole.name), "pinned");
	snprintf(whole.issuer, sizeof(whole.issuer), "pinned");
	snprintf(whole.signer, sizeof(whole.signer), "pinned");
	part = whole;
	snprintf(part.name, sizeof(part.name), "pinned-part");
	snprintf(part.idp, sizeof(part.idp), "http://x/pinned-part.crl");
	part.range = pr;
	assert_int_equal(crl_job_init(&jw, f->st, &whole, sg), 0);
	assert_int_equal(crl_job_init(&jp, f->st, &part, sg), 0);
	assert_int_equal(crl_job_full(&jw, f->st, f->pub), 0);
	assert_int_equal(crl_job_full(&jp, f->st, f->pub), 0);

	const char *names[2] = { "pinned.crl", "pinned-part.crl" };
	unsigned counts[2] = { listed_whole, listed_part };
	for (int k = 0; k < 2; k++) {
		X509_CRL *crl;
		snprintf(path, sizeof(path), "%s/%s", f->pub, names[k]);
		fp = fopen(path, "rb");
		assert_non_null(fp);
		crl = d2i_X509_CRL_fp(fp, NULL);
		fclose(fp);
		assert_non_null(crl);
		assert_int_equal(X509_CRL_verify(crl, key), 1);
		assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), counts[k]);
		X509_CRL_free(crl);
		sha256_hex(path, hex);
		if (strcmp(hex, want[k]) != 0)
			fail_msg("%s: SHA-256 %s, pinned %s", names[k], hex, want[k]);
	}
	crl_job_clear(&jw);
	crl_job_clear(&jp);
	signer_free(sg);
	X509_free(ca);
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_entries_and_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures_leave_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delta_collect_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partition_range_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_bytes_pinned, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
