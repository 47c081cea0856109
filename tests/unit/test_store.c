/*
 * test_store.c: the store in one process: serial conversions, every API's round trip, the status-change rules,
 * the change log, batches, meta and counters, statistics, backup, the consistency check, schema mismatch,
 * damaged values, the revoked index (every status transition, its walk against the full walk, the upgrade of a
 * store without it, a tampered index), concurrent readers in threads and map growth from a tiny map.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <pwd.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>
#include <openssl/bn.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "clock.h"
#include "store.h"
#include "store_impl.h"
#include "test_store_lib.h"

/* Counts heap allocations of the calling thread while counting is set, to show that the hot path allocates
 * nothing. Interposing malloc is not possible under ASan (it owns malloc), so that build skips the check. */
#if defined(__SANITIZE_ADDRESS__)
#define ALLOC_COUNTING 0
#else
#define ALLOC_COUNTING 1
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
static __thread int counting;
static __thread unsigned long allocs;

void *malloc(size_t n)
{
	allocs += counting != 0;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	allocs += counting != 0;
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	allocs += counting != 0;
	return __libc_realloc(p, n);
}
#endif

struct fx {
	char dir[256];
	store *st;
	uint8_t *ca_der;
	size_t ca_len;
	uint32_t ca;
};

static time_t fixed_now = 1700000000;

static struct timespec fixed_clock(void *arg)
{
	struct timespec ts = { .tv_sec = *(time_t *)arg, .tv_nsec = 0 };
	return ts;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int err;

	assert_non_null(f);
	tsl_mkdtemp(f->dir, sizeof(f->dir));
	strcat(f->dir, "/st");
	f->st = store_open(f->dir, STORE_RDWR | STORE_CREATE, 0, &err);
	assert_int_equal(err, 0);
	assert_non_null(f->st);
	assert_int_equal(tsl_make_ca("Test CA 1", &f->ca_der, &f->ca_len), 0);
	assert_int_equal(store_issuer_add(f->st, "ca1", f->ca_der, f->ca_len, &f->ca), 0);
	clock_set_source(fixed_clock, &fixed_now);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char top[256];

	clock_set_source(NULL, NULL);
	store_close(f->st);
	snprintf(top, sizeof(top), "%s", f->dir);
	*strrchr(top, '/') = '\0';
	tsl_rmtree(top);
	free(f->ca_der);
	free(f);
	return 0;
}

/* ---- serials ---- */

static void expect_serial(const struct store_serial *s, const char *hex)
{
	char out[2 * LIM_SERIAL_MAX + 2];

	store_serial_to_hex(s, out, sizeof(out));
	assert_string_equal(out, hex);
}

static void test_serial_der(void **state)
{
	static const struct {
		uint8_t in[40];
		size_t len;
		int rc;
		const char *hex;
	} v[] = {
		{ { 0x00 }, 1, 0, "00" },
		{ { 0x01 }, 1, 0, "01" },
		{ { 0x7F }, 1, 0, "7F" },
		{ { 0x00, 0x80 }, 2, 0, "80" },
		{ { 0x00, 0x00, 0x01 }, 3, 0, "01" }, /* non-minimal, canonicalised */
		{ { 0x80 }, 1, 0, "-80" },
		{ { 0xFF }, 1, 0, "-01" },
		{ { 0xFF, 0x7F }, 2, 0, "-81" },
		{ { 0xFF, 0x00 }, 2, 0, "-0100" },
		{ { 0xFF, 0xFF, 0x80 }, 3, 0, "-80" }, /* redundant sign octets */
		{ { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
		    0x11, 0x12, 0x13, 0x14 }, 20, 0, "0102030405060708090A0B0C0D0E0F1011121314" },
		{ { 0 }, 0, VA_ERR_INVAL, NULL },
	};
	struct store_serial s;
	uint8_t big[40];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(store_serial_from_der(&s, v[i].in, v[i].len), v[i].rc);
		if (v[i].rc == 0)
			expect_serial(&s, v[i].hex);
	}
	/* 32 significant octets (positive needs a leading 0x00 when the top bit is set): the limit. */
	memset(big, 0xFF, sizeof(big));
	big[0] = 0x00;
	assert_int_equal(store_serial_from_der(&s, big, 1 + LIM_SERIAL_MAX), 0);
	assert_int_equal(s.len, LIM_SERIAL_MAX);
	assert_int_equal(s.negative, 0);
	/* 33 significant octets: too long. */
	big[0] = 0x01;
	assert_int_equal(store_serial_from_der(&s, big, 1 + LIM_SERIAL_MAX), VA_ERR_RANGE);
	/* Negative, 33 octets with no redundant sign octet: magnitude > 32 octets. */
	memset(big, 0, sizeof(big));
	big[0] = 0x80;
	assert_int_equal(store_serial_from_der(&s, big, 1 + LIM_SERIAL_MAX), VA_ERR_RANGE);
	assert_int_equal(store_serial_from_der(&s, big, sizeof(big)), VA_ERR_RANGE);
	assert_int_equal(store_serial_from_der(NULL, big, 1), VA_ERR_INVAL);
	assert_int_equal(store_serial_from_der(&s, NULL, 1), VA_ERR_INVAL);
}

static void test_serial_hex(void **state)
{
	static const struct {
		const char *in;
		int rc;
		const char *hex;
	} v[] = {
		{ "01AF", 0, "01AF" },
		{ "0x01af", 0, "01AF" },
		{ "0X01AF", 0, "01AF" },
		{ "01:af", 0, "01AF" },
		{ "1af", 0, "01AF" },
		{ "0", 0, "00" },
		{ "0000", 0, "00" },
		{ "-01", 0, "-01" },
		{ "-0", 0, "00" }, /* no negative zero */
		{ "000000000000000000000000000000000000000000000000000000000000000000000000000001", 0, "01" },
		{ "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", 0,
		  "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF" },
		{ "1FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", VA_ERR_RANGE, NULL },
		{ "", VA_ERR_INVAL, NULL },
		{ "-", VA_ERR_INVAL, NULL },
		{ "0x", VA_ERR_INVAL, NULL },
		{ "zz", VA_ERR_INVAL, NULL },
		{ "01 02", VA_ERR_INVAL, NULL },
		{ " 01", VA_ERR_INVAL, NULL },
		{ ":01", VA_ERR_INVAL, NULL },
		{ "01:", VA_ERR_INVAL, NULL },
		{ "01::02", VA_ERR_INVAL, NULL },
		{ "--01", VA_ERR_INVAL, NULL },
		{ "0x-1", VA_ERR_INVAL, NULL },
	};
	struct store_serial s;
	char small[3];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int rc = store_serial_from_hex(&s, v[i].in);
		if (rc != v[i].rc)
			fail_msg("'%s': got %d, expected %d", v[i].in, rc, v[i].rc);
		if (rc == 0)
			expect_serial(&s, v[i].hex);
	}
	assert_int_equal(store_serial_from_hex(&s, NULL), VA_ERR_INVAL);
	/* to_hex never overflows: a too small buffer gets the empty string. */
	assert_int_equal(store_serial_from_hex(&s, "0102"), 0);
	store_serial_to_hex(&s, small, sizeof(small));
	assert_string_equal(small, "");
	assert_int_equal(store_serial_from_hex(&s, "-01"), 0);
	store_serial_to_hex(&s, small, sizeof(small));
	assert_string_equal(small, "");
}

static void test_serial_bytes(void **state)
{
	uint8_t b[40];
	struct store_serial s;

	(void)state;
	memset(b, 0, sizeof(b));
	assert_int_equal(store_serial_from_bytes(&s, b, 0), 0);
	expect_serial(&s, "00");
	assert_int_equal(store_serial_from_bytes(&s, NULL, 0), 0);
	assert_int_equal(s.len, 0);
	assert_int_equal(store_serial_from_bytes(&s, b, sizeof(b)), 0); /* all zeros */
	assert_int_equal(s.len, 0);
	b[39] = 0x80;
	assert_int_equal(store_serial_from_bytes(&s, b, sizeof(b)), 0);
	expect_serial(&s, "80");
	assert_int_equal(s.negative, 0); /* bytes are a magnitude: the top bit is no sign */
	memset(b, 0xAB, sizeof(b));
	assert_int_equal(store_serial_from_bytes(&s, b, LIM_SERIAL_MAX), 0);
	assert_int_equal(store_serial_from_bytes(&s, b, LIM_SERIAL_MAX + 1), VA_ERR_RANGE);
	assert_int_equal(store_serial_from_bytes(&s, NULL, 1), VA_ERR_INVAL);
	/* Same value through every door gives the same canonical serial. */
	struct store_serial a, c, d;
	uint8_t der[] = { 0x00, 0x9F, 0x01 }, mag[] = { 0x00, 0x00, 0x9F, 0x01 };
	assert_int_equal(store_serial_from_der(&a, der, sizeof(der)), 0);
	assert_int_equal(store_serial_from_bytes(&c, mag, sizeof(mag)), 0);
	assert_int_equal(store_serial_from_hex(&d, "9f:01"), 0);
	assert_memory_equal(&a, &c, sizeof(a));
	assert_memory_equal(&a, &d, sizeof(a));
}

static void test_names(void **state)
{
	static const char *names[] = { "unspecified", "keyCompromise", "CACompromise", "affiliationChanged",
				       "superseded", "cessationOfOperation", "certificateHold", NULL,
				       "removeFromCRL", "privilegeWithdrawn", "AACompromise" };

	(void)state;
	for (int r = 0; r <= 10; r++) {
		if (names[r] == NULL) {
			assert_string_equal(store_reason_name(r), "unknown");
			continue;
		}
		assert_string_equal(store_reason_name(r), names[r]);
		assert_int_equal(store_reason_parse(names[r]), r);
	}
	assert_int_equal(store_reason_parse("KEYCOMPROMISE"), STORE_REASON_KEY_COMPROMISE);
	assert_int_equal(store_reason_parse("cacompromise"), STORE_REASON_CA_COMPROMISE);
	assert_int_equal(store_reason_parse("key compromise"), -1);
	assert_int_equal(store_reason_parse(""), -1);
	assert_int_equal(store_reason_parse(NULL), -1);
	assert_string_equal(store_reason_name(-1), "unknown");
	assert_string_equal(store_reason_name(11), "unknown");
	assert_string_equal(store_status_name(STORE_GOOD), "good");
	assert_string_equal(store_status_name(STORE_REVOKED), "revoked");
	assert_string_equal(store_status_name(STORE_HOLD), "hold");
	assert_string_equal(store_status_name(3), "unknown");
	assert_int_equal(store_hash_len(STORE_HASH_SHA1), 20);
	assert_int_equal(store_hash_len(STORE_HASH_SHA512), 64);
	assert_int_equal(store_hash_len(STORE_HASH_COUNT), 0);
}

/* Differential check against OpenSSL's INTEGER decoder on many random encodings, and hex round trips. */
static uint64_t rnd_state = 0x2545F4914F6CDD1DULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void test_serial_random(void **state)
{
	(void)state;
	for (int iter = 0; iter < 50000; iter++) {
		uint8_t tlv[2 + 40], *content = tlv + 2;
		size_t len = 1 + rnd() % 36;
		const unsigned char *p = tlv;
		struct store_serial s, s2;
		char ours[2 * LIM_SERIAL_MAX + 2];

		for (size_t i = 0; i < len; i++)
			content[i] = (uint8_t)rnd();
		if (iter % 4 == 0)
			content[0] = iter % 8 == 0 ? 0x00 : 0xFF; /* exercise padding and sign octets */
		tlv[0] = 0x02;
		tlv[1] = (uint8_t)len;
		int rc = store_serial_from_der(&s, content, len);
		ASN1_INTEGER *ai = d2i_ASN1_INTEGER(NULL, &p, (long)(len + 2));
		if (ai != NULL) {
			BIGNUM *bn = ASN1_INTEGER_to_BN(ai, NULL);
			char *theirs = BN_bn2hex(bn);
			size_t mag = (size_t)BN_num_bytes(bn);
			if (mag > LIM_SERIAL_MAX) {
				assert_int_equal(rc, VA_ERR_RANGE);
			} else {
				assert_int_equal(rc, 0);
				store_serial_to_hex(&s, ours, sizeof(ours));
				if (BN_is_zero(bn))
					assert_string_equal(ours, "00");
				else
					assert_string_equal(ours, theirs);
				/* The hex form parses back to the same serial. */
				assert_int_equal(store_serial_from_hex(&s2, ours), 0);
				assert_memory_equal(&s, &s2, sizeof(s));
			}
			OPENSSL_free(theirs);
			BN_free(bn);
			ASN1_INTEGER_free(ai);
		} else {
			/* OpenSSL refuses only non-minimal padding, which we accept and canonicalise. */
			assert_true(len > 1 && ((content[0] == 0 && !(content[1] & 0x80)) ||
						(content[0] == 0xFF && (content[1] & 0x80))));
		}
	}
	/* Random strings over the hex parser's alphabet: never crash, and whatever parses round-trips. */
	static const char alphabet[] = "0123456789abcdefABCDEF:x- ";
	for (int iter = 0; iter < 50000; iter++) {
		char in[80], out[2 * LIM_SERIAL_MAX + 2];
		size_t n = rnd() % 72;
		struct store_serial s, s2;

		for (size_t i = 0; i < n; i++)
			in[i] = alphabet[rnd() % (sizeof(alphabet) - 1)];
		in[n] = '\0';
		if (store_serial_from_hex(&s, in) != 0)
			continue;
		store_serial_to_hex(&s, out, sizeof(out));
		assert_int_equal(store_serial_from_hex(&s2, out), 0);
		assert_memory_equal(&s, &s2, sizeof(s));
		assert_true(s.len <= LIM_SERIAL_MAX);
	}
}

/* Random bytes through every value decoder: no crash, and what decodes encodes back to the same bytes. */
static void test_codec_random(void **state)
{
	(void)state;
	for (int iter = 0; iter < 100000; iter++) {
		uint8_t buf[STORE_ISSUER_FIXED_LEN + 64], again[sizeof(buf)];
		size_t len = rnd() % 140;
		struct store_cert_rec rec;
		struct store_change ch;
		struct store_issuer iss;
		struct store_serial s;

		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)rnd();
		/* Bias towards plausible values so the checks past the size test run too. */
		buf[0] = iter % 3 ? STORE_REC_VERSION : buf[0];
		if (iter % 2) {
			len = STORE_CERT_VAL_LEN;
			buf[1] = (uint8_t)(rnd() % 4);
			buf[2] = (uint8_t)(rnd() % 12);
			buf[3] = (uint8_t)(rnd() % 2);
			if (buf[1] == STORE_GOOD) {
				buf[2] = 0;
				memset(buf + 12, 0, 16);
				buf[3] = 0;
			}
		}
		if (store_cert_rec_decode(buf, len, &rec) == 0) {
			store_cert_rec_encode(&rec, again);
			assert_memory_equal(again, buf, STORE_CERT_VAL_LEN);
		}
		if (iter % 5 == 0) {
			buf[1] = (uint8_t)(1 + rnd() % 5);
			buf[14] = (uint8_t)(rnd() % 2);
			buf[15] = (uint8_t)(rnd() % 34);
			buf[16] = (uint8_t)(rnd() % 33);
			len = STORE_CHANGE_FIXED_LEN + buf[15] + buf[16];
		}
		if (len <= sizeof(buf) && store_change_decode(7, buf, len, &ch) == 0) {
			assert_int_equal(ch.seq, 7);
			assert_int_equal(store_change_encode(&ch, again), len);
			assert_memory_equal(again, buf, len);
		}
		(void)store_issuer_decode(1, buf, len, &iss);
		int k = store_serial_key_decode(buf, len, &s);
		if (k > 0) {
			uint8_t key[STORE_SERIAL_KEY_MAX];
			assert_int_equal(store_serial_key(&s, key), (size_t)k);
			assert_memory_equal(key, buf, (size_t)k);
		}
	}
}

/* ---- open ---- */

static void test_open_errors(void **state)
{
	char dir[256], sub[300];
	int err = 1;
	store *st;

	(void)state;
	tsl_mkdtemp(dir, sizeof(dir));
	snprintf(sub, sizeof(sub), "%s/none", dir);
	assert_null(store_open(sub, STORE_RDONLY, 0, &err));
	assert_int_equal(err, VA_ERR_NOTFOUND);
	assert_null(store_open(sub, STORE_RDWR, 0, &err));
	assert_int_equal(err, VA_ERR_NOTFOUND);
	assert_null(store_open(sub, STORE_CREATE, 0, &err)); /* CREATE needs RDWR */
	assert_int_equal(err, VA_ERR_INVAL);
	assert_null(store_open(NULL, STORE_RDWR, 0, &err));
	assert_int_equal(err, VA_ERR_INVAL);
	assert_null(store_open(sub, STORE_RDWR | STORE_CREATE, LIM_STORE_MAP_MAX + 1, &err));
	assert_int_equal(err, VA_ERR_RANGE);

	/* An existing empty directory is no store either, and opening it does not make one. */
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_null(store_open(sub, STORE_RDWR, 0, &err));
	assert_int_equal(err, VA_ERR_NOTFOUND);
	struct stat sb;
	char data[400];
	snprintf(data, sizeof(data), "%s/data.mdb", sub);
	assert_int_not_equal(stat(data, &sb), 0);

	/* Create, close, reopen read-only: writes are refused, reads work. */
	st = store_open(sub, STORE_RDWR | STORE_CREATE, 0, &err);
	assert_non_null(st);
	assert_int_equal(store_ping(st), 0);
	store_close(st);
	st = store_open(sub, STORE_RDONLY, 0, &err);
	assert_non_null(st);
	assert_int_equal(err, 0);
	struct store_serial s = tsl_serial(1);
	struct store_cert_rec r = tsl_good(0);
	int err2;
	assert_int_equal(store_cert_add(st, 1, &s, &r), VA_ERR_INVAL);
	assert_null(store_batch_begin(st, &err2));
	assert_int_equal(err2, VA_ERR_INVAL);
	uint64_t first;
	assert_int_equal(store_counter_reserve(st, "x", 1, &first), VA_ERR_INVAL);
	assert_int_equal(store_cert_get(st, 1, &s, &r), VA_ERR_NOTFOUND);
	assert_int_equal(store_ping(st), 0);
	store_close(st);
	store_close(NULL);
	tsl_rmtree(dir);
}

/* ---- issuers ---- */

struct issuer_list {
	uint32_t ids[8];
	char labels[8][LIM_ISSUER_LABEL_MAX];
	int n;
	int stop_after;
};

static int issuer_collect(void *arg, const struct store_issuer *iss)
{
	struct issuer_list *l = arg;

	l->ids[l->n] = iss->id;
	snprintf(l->labels[l->n], sizeof(l->labels[0]), "%s", iss->label);
	l->n++;
	return l->n == l->stop_after ? 42 : 0;
}

static void test_issuer(void **state)
{
	struct fx *f = *state;
	struct store_issuer iss;
	uint8_t *der2 = NULL;
	size_t len2;
	uint32_t id = 0;
	const uint8_t *p = f->ca_der;
	X509 *x = d2i_X509(NULL, &p, (long)f->ca_len);
	const EVP_MD *mds[STORE_HASH_COUNT] = { EVP_sha1(), EVP_sha256(), EVP_sha384(), EVP_sha512() };

	assert_non_null(x);
	assert_int_equal(f->ca, 1);
	assert_int_equal(store_issuer_get(f->st, "ca1", &iss), 0);
	assert_int_equal(iss.id, 1);
	assert_string_equal(iss.label, "ca1");
	assert_int_equal(iss.cert_len, f->ca_len);
	assert_memory_equal(iss.cert_der, f->ca_der, f->ca_len);
	/* The hashes are those OpenSSL puts in a CertID for this issuer (RFC 6960 4.1.1). */
	for (int h = 0; h < STORE_HASH_COUNT; h++) {
		OCSP_CERTID *cid = OCSP_cert_id_new(mds[h], X509_get_subject_name(x), X509_get0_pubkey_bitstr(x), NULL);
		ASN1_OCTET_STRING *nh = NULL, *kh = NULL;
		assert_non_null(cid);
		assert_int_equal(OCSP_id_get0_info(&nh, NULL, &kh, NULL, cid), 1);
		assert_int_equal((size_t)ASN1_STRING_length(nh), store_hash_len((enum store_hash)h));
		assert_memory_equal(ASN1_STRING_get0_data(nh), iss.name_hash[h], store_hash_len((enum store_hash)h));
		assert_memory_equal(ASN1_STRING_get0_data(kh), iss.key_hash[h], store_hash_len((enum store_hash)h));
		OCSP_CERTID_free(cid);
	}
	free((void *)iss.cert_der);
	X509_free(x);

	/* Same certificate again: EXISTS with its id, whatever the label. */
	assert_int_equal(store_issuer_add(f->st, "ca1", f->ca_der, f->ca_len, &id), VA_ERR_EXISTS);
	assert_int_equal(id, 1);
	assert_int_equal(store_issuer_add(f->st, "other", f->ca_der, f->ca_len, &id), VA_ERR_EXISTS);
	/* Another certificate under a taken label: CONFLICT. */
	assert_int_equal(tsl_make_ca("Test CA 2", &der2, &len2), 0);
	assert_int_equal(store_issuer_add(f->st, "ca1", der2, len2, &id), VA_ERR_CONFLICT);
	/* Bad labels and bad certificates. */
	char longlabel[LIM_ISSUER_LABEL_MAX + 1];
	memset(longlabel, 'a', sizeof(longlabel) - 1);
	longlabel[sizeof(longlabel) - 1] = '\0';
	assert_int_equal(store_issuer_add(f->st, longlabel, der2, len2, &id), VA_ERR_INVAL);
	longlabel[LIM_ISSUER_LABEL_MAX - 1] = '\0'; /* 63 characters: fits */
	assert_int_equal(store_issuer_add(f->st, "", der2, len2, &id), VA_ERR_INVAL);
	assert_int_equal(store_issuer_add(f->st, "a b", der2, len2, &id), VA_ERR_INVAL);
	assert_int_equal(store_issuer_add(f->st, "a/b", der2, len2, &id), VA_ERR_INVAL);
	assert_int_equal(store_issuer_add(f->st, NULL, der2, len2, &id), VA_ERR_INVAL);
	assert_int_equal(store_issuer_add(f->st, "ca2", der2, len2 - 1, &id), VA_ERR_INVAL); /* truncated */
	uint8_t *padded = malloc(len2 + 1);
	memcpy(padded, der2, len2);
	padded[len2] = 0;
	assert_int_equal(store_issuer_add(f->st, "ca2", padded, len2 + 1, &id), VA_ERR_INVAL); /* trailing octet */
	free(padded);
	assert_int_equal(store_issuer_add(f->st, "ca2", (const uint8_t *)"garbage", 7, &id), VA_ERR_INVAL);
	assert_int_equal(store_issuer_add(f->st, "ca2", der2, 0, &id), VA_ERR_RANGE);
	assert_int_equal(store_issuer_add(f->st, "ca2", der2, LIM_CERT_DER_MAX + 1, &id), VA_ERR_RANGE);
	assert_int_equal(store_issuer_add(f->st, longlabel, der2, len2, &id), 0);
	assert_int_equal(id, 2);

	struct issuer_list l = { .n = 0 };
	assert_int_equal(store_issuer_foreach(f->st, issuer_collect, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.ids[0], 1);
	assert_int_equal(l.ids[1], 2);
	assert_string_equal(l.labels[1], longlabel);
	struct issuer_list l2 = { .stop_after = 1 };
	assert_int_equal(store_issuer_foreach(f->st, issuer_collect, &l2), 42);
	assert_int_equal(l2.n, 1);
	assert_int_equal(store_issuer_get(f->st, "nope", &iss), VA_ERR_NOTFOUND);

	/* Each addition is in the change log. */
	uint64_t last;
	assert_int_equal(store_changes_last(f->st, &last), 0);
	assert_int_equal(last, 2);
	free(der2);
}

/* ---- certificates ---- */

static void test_cert_roundtrip(void **state)
{
	struct fx *f = *state;
	struct store_serial serials[5];
	struct store_cert_rec r, got;
	uint8_t big[LIM_SERIAL_MAX];

	memset(big, 0xC3, sizeof(big));
	serials[0] = tsl_serial(0);
	serials[1] = tsl_serial(1);
	assert_int_equal(store_serial_from_hex(&serials[2], "-7F"), 0);
	assert_int_equal(store_serial_from_bytes(&serials[3], big, sizeof(big)), 0);
	serials[4] = tsl_serial_rand(1, 1);
	for (int i = 0; i < 5; i++) {
		r = tsl_good(1800000000 + i);
		assert_int_equal(store_cert_get(f->st, f->ca, &serials[i], &got), VA_ERR_NOTFOUND);
		assert_int_equal(store_cert_add(f->st, f->ca, &serials[i], &r), 0);
		assert_int_equal(store_cert_get(f->st, f->ca, &serials[i], &got), 0);
		assert_int_equal(got.status, STORE_GOOD);
		assert_int_equal(got.not_after, 1800000000 + i);
		assert_int_equal(got.change_seq, 2 + i); /* 1 is the issuer */
		/* Same content: a no-op. */
		assert_int_equal(store_cert_add(f->st, f->ca, &serials[i], &r), VA_ERR_EXISTS);
	}
	/* Other issuer, same serial: not found. */
	assert_int_equal(store_cert_get(f->st, f->ca + 1, &serials[1], &got), VA_ERR_NOTFOUND);
	/* Unknown issuer on write. */
	r = tsl_good(0);
	assert_int_equal(store_cert_add(f->st, 77, &serials[1], &r), VA_ERR_NOTFOUND);

	/* notAfter: filled in when unknown, never changed once known. */
	struct store_serial s9 = tsl_serial(9);
	r = tsl_good(0);
	assert_int_equal(store_cert_add(f->st, f->ca, &s9, &r), 0);
	r = tsl_good(1900000000);
	assert_int_equal(store_cert_add(f->st, f->ca, &s9, &r), 0);
	assert_int_equal(store_cert_get(f->st, f->ca, &s9, &got), 0);
	assert_int_equal(got.not_after, 1900000000);
	r = tsl_good(0);
	assert_int_equal(store_cert_add(f->st, f->ca, &s9, &r), VA_ERR_EXISTS);
	/* A different notAfter replaces it (metadata, not status). */
	r = tsl_good(1900000001);
	assert_int_equal(store_cert_add(f->st, f->ca, &s9, &r), 0);
	assert_int_equal(store_cert_get(f->st, f->ca, &s9, &got), 0);
	assert_int_equal(got.not_after, 1900000001);
	assert_int_equal(got.status, STORE_GOOD);

	/* Added as revoked (index import), with an invalidity date. */
	struct store_serial s10 = tsl_serial(10);
	r = tsl_revoked(1900000000, STORE_REASON_SUPERSEDED, 1700000100);
	r.has_invalidity = 1;
	r.invalidity = 1699999000;
	assert_int_equal(store_cert_add(f->st, f->ca, &s10, &r), 0);
	assert_int_equal(store_cert_get(f->st, f->ca, &s10, &got), 0);
	assert_int_equal(got.status, STORE_REVOKED);
	assert_int_equal(got.reason, STORE_REASON_SUPERSEDED);
	assert_int_equal(got.revoked_at, 1700000100);
	assert_int_equal(got.has_invalidity, 1);
	assert_int_equal(got.invalidity, 1699999000);

	/* Bad records and bad serials. */
	struct store_serial s11 = tsl_serial(11), bad = tsl_serial(12);
	r = tsl_revoked(0, STORE_REASON_CERTIFICATE_HOLD, 5);
	r.status = STORE_REVOKED; /* revoked with reason certificateHold: not a revocation */
	assert_int_equal(store_cert_add(f->st, f->ca, &s11, &r), VA_ERR_INVAL);
	r = tsl_revoked(0, STORE_REASON_REMOVE_FROM_CRL, 5);
	assert_int_equal(store_cert_add(f->st, f->ca, &s11, &r), VA_ERR_INVAL);
	r = tsl_revoked(0, 7, 5);
	assert_int_equal(store_cert_add(f->st, f->ca, &s11, &r), VA_ERR_INVAL);
	r = tsl_revoked(0, STORE_REASON_KEY_COMPROMISE, 0); /* no revocation time */
	assert_int_equal(store_cert_add(f->st, f->ca, &s11, &r), VA_ERR_INVAL);
	r = tsl_good(0);
	r.status = 3;
	assert_int_equal(store_cert_add(f->st, f->ca, &s11, &r), VA_ERR_INVAL);
	r = tsl_good(0);
	bad.mag[0] = 0; /* leading zero octet: not canonical */
	assert_int_equal(store_cert_add(f->st, f->ca, &bad, &r), VA_ERR_INVAL);
	assert_int_equal(store_cert_get(f->st, f->ca, &bad, &got), VA_ERR_INVAL);
	bad = tsl_serial(0);
	bad.negative = 1; /* negative zero */
	assert_int_equal(store_cert_get(f->st, f->ca, &bad, &got), VA_ERR_INVAL);
	bad.len = LIM_SERIAL_MAX + 1;
	assert_int_equal(store_cert_get(f->st, f->ca, &bad, &got), VA_ERR_INVAL);
	assert_int_equal(store_cert_get(f->st, f->ca, NULL, &got), VA_ERR_INVAL);
	assert_int_equal(store_cert_add(f->st, f->ca, &s11, NULL), VA_ERR_INVAL);
	assert_int_equal(store_check(f->st), 0);
}

static void add_good(struct fx *f, uint64_t n)
{
	struct store_serial s = tsl_serial(n);
	struct store_cert_rec r = tsl_good(1900000000);

	assert_int_equal(store_cert_add(f->st, f->ca, &s, &r), 0);
}

/* Serials first..last, good, in one batch (one durable commit instead of one per record). */
static void add_good_range(struct fx *f, uint64_t first, uint64_t last)
{
	int err;
	store_batch *b = store_batch_begin(f->st, &err);

	assert_non_null(b);
	for (uint64_t i = first; i <= last; i++) {
		struct store_serial s = tsl_serial(i);
		struct store_cert_rec r = tsl_good(1900000000);
		assert_int_equal(store_batch_put(b, f->ca, &s, &r), 0);
	}
	assert_int_equal(store_batch_end(b, 1), 0);
}

static struct store_cert_rec get_rec(struct fx *f, uint64_t n)
{
	struct store_serial s = tsl_serial(n);
	struct store_cert_rec r;

	assert_int_equal(store_cert_get(f->st, f->ca, &s, &r), 0);
	return r;
}

static void test_transitions(void **state)
{
	struct fx *f = *state;
	struct store_serial s1 = tsl_serial(1), s2 = tsl_serial(2), s3 = tsl_serial(3), s99 = tsl_serial(99);
	struct store_cert_rec r;

	add_good(f, 1);
	add_good(f, 2);
	add_good(f, 3);
	/* GOOD: release refused; hold and revoke allowed. */
	assert_int_equal(store_cert_release(f->st, f->ca, &s1), VA_ERR_CONFLICT);
	assert_int_equal(store_cert_hold(f->st, f->ca, &s1, 1700000200), 0);
	r = get_rec(f, 1);
	assert_int_equal(r.status, STORE_HOLD);
	assert_int_equal(r.reason, STORE_REASON_CERTIFICATE_HOLD);
	assert_int_equal(r.revoked_at, 1700000200);
	assert_int_equal(r.not_after, 1900000000);
	/* HOLD: hold again is a no-op, release back to GOOD. */
	assert_int_equal(store_cert_hold(f->st, f->ca, &s1, 1700000300), VA_ERR_EXISTS);
	assert_int_equal(store_cert_release(f->st, f->ca, &s1), 0);
	r = get_rec(f, 1);
	assert_int_equal(r.status, STORE_GOOD);
	assert_int_equal(r.revoked_at, 0);
	assert_int_equal(r.reason, 0);
	assert_int_equal(r.not_after, 1900000000);
	assert_int_equal(store_cert_release(f->st, f->ca, &s1), VA_ERR_CONFLICT);
	/* HOLD -> REVOKED. */
	assert_int_equal(store_cert_hold(f->st, f->ca, &s2, 0), 0);
	r = get_rec(f, 2);
	assert_int_equal(r.revoked_at, fixed_now); /* 0 means now */
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s2, STORE_REASON_CESSATION, 1700000400, 0), 0);
	r = get_rec(f, 2);
	assert_int_equal(r.status, STORE_REVOKED);
	assert_int_equal(r.reason, STORE_REASON_CESSATION);
	assert_int_equal(r.revoked_at, 1700000400);
	/* REVOKED: hold and release refused; same or other reason a no-op; keyCompromise upgrade allowed once,
	 * keeping the revocation date and taking the invalidity date. */
	assert_int_equal(store_cert_hold(f->st, f->ca, &s2, 0), VA_ERR_CONFLICT);
	assert_int_equal(store_cert_release(f->st, f->ca, &s2), VA_ERR_CONFLICT);
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s2, STORE_REASON_CESSATION, 0, 0), VA_ERR_EXISTS);
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s2, STORE_REASON_SUPERSEDED, 0, 0), VA_ERR_EXISTS);
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s2, STORE_REASON_KEY_COMPROMISE, 1700000900, 1690000000),
			 0);
	r = get_rec(f, 2);
	assert_int_equal(r.reason, STORE_REASON_KEY_COMPROMISE);
	assert_int_equal(r.revoked_at, 1700000400);
	assert_int_equal(r.has_invalidity, 1);
	assert_int_equal(r.invalidity, 1690000000);
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s2, STORE_REASON_KEY_COMPROMISE, 0, 0), VA_ERR_EXISTS);
	/* GOOD -> REVOKED with invalidity date. */
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s3, STORE_REASON_KEY_COMPROMISE, 1700000500, 1700000000), 0);
	r = get_rec(f, 3);
	assert_int_equal(r.status, STORE_REVOKED);
	assert_int_equal(r.has_invalidity, 1);
	assert_int_equal(r.invalidity, 1700000000);
	/* Reasons that are not revocations, and bad arguments. */
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s1, STORE_REASON_CERTIFICATE_HOLD, 0, 0), VA_ERR_INVAL);
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s1, STORE_REASON_REMOVE_FROM_CRL, 0, 0), VA_ERR_INVAL);
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s1, 7, 0, 0), VA_ERR_INVAL);
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s1, 11, 0, 0), VA_ERR_INVAL);
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s1, -1, 0, 0), VA_ERR_INVAL);
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s1, 0, -5, 0), VA_ERR_INVAL);
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s1, 0, 0, -5), VA_ERR_INVAL);
	assert_int_equal(store_cert_hold(f->st, f->ca, &s1, -1), VA_ERR_INVAL);
	/* Unknown serial. */
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s99, 0, 0, 0), VA_ERR_NOTFOUND);
	assert_int_equal(store_cert_hold(f->st, f->ca, &s99, 0), VA_ERR_NOTFOUND);
	assert_int_equal(store_cert_release(f->st, f->ca, &s99), VA_ERR_NOTFOUND);
	assert_int_equal(store_cert_revoke(f->st, f->ca + 5, &s1, 0, 0, 0), VA_ERR_NOTFOUND);
	/* s1 still good after all refused attempts. */
	r = get_rec(f, 1);
	assert_int_equal(r.status, STORE_GOOD);
	assert_int_equal(store_check(f->st), 0);
}

/* Transitions through bulk puts (import): the same rules. */
static void test_batch_transitions(void **state)
{
	struct fx *f = *state;
	int err;
	store_batch *b;
	struct store_serial s1 = tsl_serial(1), s2 = tsl_serial(2), s3 = tsl_serial(3), s4 = tsl_serial(4);
	struct store_cert_rec good = tsl_good(1900000000), rev = tsl_revoked(1900000000, STORE_REASON_SUPERSEDED, 1700000000),
			      kc = tsl_revoked(1900000000, STORE_REASON_KEY_COMPROMISE, 1700000555),
			      hold = tsl_revoked(1900000000, STORE_REASON_CERTIFICATE_HOLD, 1700000000), r;

	b = store_batch_begin(f->st, &err);
	assert_non_null(b);
	assert_int_equal(store_batch_put(b, f->ca, &s1, &good), 0);
	assert_int_equal(store_batch_put(b, f->ca, &s1, &good), VA_ERR_EXISTS);
	assert_int_equal(store_batch_put(b, f->ca, &s1, &rev), 0);        /* GOOD -> REVOKED */
	assert_int_equal(store_batch_put(b, f->ca, &s1, &good), VA_ERR_CONFLICT); /* never back to good */
	assert_int_equal(store_batch_put(b, f->ca, &s1, &hold), VA_ERR_CONFLICT);
	assert_int_equal(store_batch_put(b, f->ca, &s1, &kc), 0);         /* reason -> keyCompromise */
	assert_int_equal(store_batch_put(b, f->ca, &s1, &kc), VA_ERR_EXISTS);
	assert_int_equal(store_batch_put(b, f->ca, &s1, &rev), VA_ERR_EXISTS); /* already revoked: kept */
	assert_int_equal(store_batch_put(b, f->ca, &s2, &hold), 0);
	r = hold;
	r.revoked_at = 1700009999;
	assert_int_equal(store_batch_put(b, f->ca, &s2, &r), VA_ERR_EXISTS);    /* already on hold: kept */
	assert_int_equal(store_batch_put(b, f->ca, &s2, &good), 0);       /* release */
	assert_int_equal(store_batch_put(b, f->ca, &s3, &hold), 0);
	assert_int_equal(store_batch_put(b, f->ca, &s3, &rev), 0);        /* HOLD -> REVOKED */
	assert_int_equal(store_batch_put(b, 99, &s4, &good), VA_ERR_NOTFOUND);
	r = good;
	r.status = 9;
	assert_int_equal(store_batch_put(b, f->ca, &s4, &r), VA_ERR_INVAL);
	/* GOOD with stray revocation fields is normalised, not refused. */
	r = good;
	r.reason = 3;
	r.revoked_at = 5;
	assert_int_equal(store_batch_put(b, f->ca, &s4, &r), 0);
	assert_int_equal(store_batch_end(b, 1), 0);
	r = get_rec(f, 1);
	assert_int_equal(r.status, STORE_REVOKED);
	assert_int_equal(r.reason, STORE_REASON_KEY_COMPROMISE);
	assert_int_equal(r.revoked_at, 1700000000); /* the revocation date stays */
	assert_int_equal(get_rec(f, 2).status, STORE_GOOD);
	assert_int_equal(get_rec(f, 3).status, STORE_REVOKED);
	r = get_rec(f, 4);
	assert_int_equal(r.reason, 0);
	assert_int_equal(r.revoked_at, 0);

	/* Ops logged: issuer, ISSUE, REVOKE, REVOKE, HOLD, RELEASE, HOLD, REVOKE, ISSUE. */
	uint64_t last;
	assert_int_equal(store_changes_last(f->st, &last), 0);
	assert_int_equal(last, 9);
	assert_int_equal(store_check(f->st), 0);

	/* An aborted batch leaves nothing. */
	struct store_serial s5 = tsl_serial(5);
	struct store_cert_rec got;
	b = store_batch_begin(f->st, &err);
	assert_int_equal(store_batch_put(b, f->ca, &s5, &good), 0);
	assert_int_equal(store_batch_end(b, 0), 0);
	assert_int_equal(store_cert_get(f->st, f->ca, &s5, &got), VA_ERR_NOTFOUND);
	assert_int_equal(store_changes_last(f->st, &last), 0);
	assert_int_equal(last, 9);
	assert_int_equal(store_batch_end(NULL, 1), 0);
	assert_int_equal(store_batch_put(NULL, f->ca, &s5, &good), VA_ERR_INVAL);
	assert_int_equal(store_batch_commit(NULL), VA_ERR_INVAL);
}

/* ---- change log ---- */

struct change_list {
	struct store_change ch[16];
	size_t n;
	int stop_at;
};

static int change_collect(void *arg, const struct store_change *ch)
{
	struct change_list *l = arg;

	if (l->n < 16)
		l->ch[l->n] = *ch;
	l->n++;
	return (int)l->n == l->stop_at ? 7 : 0;
}

static void test_changes(void **state)
{
	struct fx *f = *state;
	struct store_serial s1 = tsl_serial(0x1234);
	struct change_list l = { .n = 0 };
	char expect_actor[LIM_ACTOR_MAX];
	struct passwd *pw = getpwuid(geteuid());
	const char *sudo = getenv("SUDO_USER");

	if (geteuid() == 0 && sudo && *sudo)
		snprintf(expect_actor, sizeof(expect_actor), "sudo:%s", sudo);
	else
		snprintf(expect_actor, sizeof(expect_actor), "%s", pw ? pw->pw_name : "?");

	fixed_now = 1700001000;
	add_good(f, 0x1234);
	fixed_now = 1700002000;
	store_set_actor(f->st, "ocsp-admin");
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s1, STORE_REASON_KEY_COMPROMISE, 1700001500, 1700000500), 0);
	store_set_actor(f->st, NULL); /* back to the OS user */
	fixed_now = 1700003000;
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s1, STORE_REASON_SUPERSEDED, 0, 0), VA_ERR_EXISTS);

	assert_int_equal(store_changes_since(f->st, 0, 0, change_collect, &l), 0);
	assert_int_equal(l.n, 3); /* refused writes leave no trace */
	/* 1: the issuer. */
	assert_int_equal(l.ch[0].seq, 1);
	assert_int_equal(l.ch[0].op, STORE_OP_ISSUER_ADD);
	assert_int_equal(l.ch[0].issuer_id, f->ca);
	assert_int_equal(l.ch[0].serial.len, 0);
	assert_string_equal(l.ch[0].actor, expect_actor);
	/* 2: issue. */
	assert_int_equal(l.ch[1].seq, 2);
	assert_int_equal(l.ch[1].op, STORE_OP_ISSUE);
	assert_int_equal(l.ch[1].when, 1700001000);
	assert_int_equal(l.ch[1].issuer_id, f->ca);
	assert_memory_equal(&l.ch[1].serial, &s1, sizeof(s1));
	assert_int_equal(l.ch[1].rec.status, STORE_GOOD);
	assert_int_equal(l.ch[1].rec.not_after, 1900000000);
	assert_int_equal(l.ch[1].rec.change_seq, 2);
	assert_string_equal(l.ch[1].actor, expect_actor);
	/* 3: revoke, with the record after the change and the set actor. */
	assert_int_equal(l.ch[2].seq, 3);
	assert_int_equal(l.ch[2].op, STORE_OP_REVOKE);
	assert_int_equal(l.ch[2].when, 1700002000);
	assert_int_equal(l.ch[2].rec.status, STORE_REVOKED);
	assert_int_equal(l.ch[2].rec.reason, STORE_REASON_KEY_COMPROMISE);
	assert_int_equal(l.ch[2].rec.revoked_at, 1700001500);
	assert_int_equal(l.ch[2].rec.invalidity, 1700000500);
	assert_string_equal(l.ch[2].actor, "ocsp-admin");
	struct store_cert_rec r = get_rec(f, 0x1234);
	assert_int_equal(r.change_seq, 3);

	/* since/max/stop. */
	for (int i = 0; i < 10; i++)
		add_good(f, 100 + (uint64_t)i);
	uint64_t last;
	assert_int_equal(store_changes_last(f->st, &last), 0);
	assert_int_equal(last, 13);
	struct change_list l2 = { .n = 0 };
	assert_int_equal(store_changes_since(f->st, 5, 3, change_collect, &l2), 0);
	assert_int_equal(l2.n, 3);
	assert_int_equal(l2.ch[0].seq, 6);
	assert_int_equal(l2.ch[2].seq, 8);
	struct change_list l3 = { .n = 0 };
	assert_int_equal(store_changes_since(f->st, 13, 0, change_collect, &l3), 0);
	assert_int_equal(l3.n, 0);
	assert_int_equal(store_changes_since(f->st, UINT64_MAX, 0, change_collect, &l3), 0);
	assert_int_equal(l3.n, 0);
	struct change_list l4 = { .n = 0, .stop_at = 2 };
	assert_int_equal(store_changes_since(f->st, 0, 0, change_collect, &l4), 7);
	assert_int_equal(l4.n, 2);
	/* Dense: every sequence number from 1 to last. */
	struct change_list l5 = { .n = 0 };
	assert_int_equal(store_changes_since(f->st, 0, 0, change_collect, &l5), 0);
	assert_int_equal(l5.n, 13);
	for (size_t i = 0; i < 13 && i < 16; i++)
		assert_int_equal(l5.ch[i].seq, i + 1);

	/* A long actor is cut to fit. */
	store_set_actor(f->st, "a-very-long-actor-name-that-does-not-fit-in-32");
	add_good(f, 500);
	struct change_list l6 = { .n = 0 };
	assert_int_equal(store_changes_since(f->st, 13, 0, change_collect, &l6), 0);
	assert_int_equal(strlen(l6.ch[0].actor), LIM_ACTOR_MAX - 1);
	assert_int_equal(store_changes_since(NULL, 0, 0, change_collect, &l6), VA_ERR_INVAL);
	assert_int_equal(store_changes_since(f->st, 0, 0, NULL, NULL), VA_ERR_INVAL);
}

/* ---- iteration ---- */

struct serial_list {
	char hex[32][2 * LIM_SERIAL_MAX + 2];
	int status[32];
	int n;
};

static int serial_collect(void *arg, const struct store_serial *s, const struct store_cert_rec *rec)
{
	struct serial_list *l = arg;

	if (l->n >= 32)
		return -99;
	store_serial_to_hex(s, l->hex[l->n], sizeof(l->hex[0]));
	l->status[l->n] = rec->status;
	l->n++;
	return 0;
}

static int stop_first(void *arg, const struct store_serial *s, const struct store_cert_rec *rec)
{
	(void)arg;
	(void)s;
	(void)rec;
	return 5;
}

static long rss_file_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *fp = fopen("/proc/self/status", "r");

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "RssFile: %ld kB", &kb) == 1)
			break;
	fclose(fp);
	return kb;
}

struct trim_walk {
	store *st;
	int n, bad;
};

static int trim_cb(void *arg, const struct store_serial *s, const struct store_cert_rec *rec)
{
	struct trim_walk *w = arg;

	/* Trimming in the middle of a walk: what the walk sees next is unchanged. */
	if (w->n % 100 == 0 && store_map_trim(w->st) != 0)
		w->bad++;
	if (rec->status != STORE_GOOD || rec->not_after != 1900000000 || s->len != 8)
		w->bad++;
	w->n++;
	return 0;
}

static void test_map_trim(void **state)
{
	struct fx *f = *state;
	int err;
	store_batch *b = store_batch_begin(f->st, &err);
	struct trim_walk w = { .st = f->st };

	for (uint64_t i = 0; i < 5000; i++) {
		struct store_serial s = tsl_serial(0x0100000000000000ULL + i);
		struct store_cert_rec r = tsl_good(1900000000);
		assert_int_equal(store_batch_put(b, f->ca, &s, &r), 0);
	}
	assert_int_equal(store_batch_end(b, 1), 0);
	assert_int_equal(store_cert_foreach(f->st, f->ca, 0, trim_cb, &w), 0);
	assert_int_equal(w.n, 5000);
	assert_int_equal(w.bad, 0);
	/* Touch every page (store_check reads everything), then trim: the file-backed RSS goes down. */
	assert_int_equal(store_check(f->st), 0);
	long before = rss_file_kb();
	assert_int_equal(store_map_trim(f->st), 0);
	long after = rss_file_kb();
	assert_true(before > 0 && after >= 0);
	if (before - after < 200)
		fail_msg("RssFile %ld kB before trim, %ld kB after", before, after);
	assert_int_equal(store_map_trim(NULL), VA_ERR_INVAL);
}

static void test_foreach(void **state)
{
	struct fx *f = *state;
	static const uint64_t order[] = { 0x7F, 0x1, 0x10000, 0x80, 0xFF, 0x100, 0x0, 0xFFFF };
	static const char *sorted[] = { "00", "01", "7F", "80", "FF", "0100", "FFFF", "010000" };
	uint8_t *der2;
	size_t len2;
	uint32_t ca2;
	struct serial_list l = { .n = 0 }, lr = { .n = 0 }, l2 = { .n = 0 };

	assert_int_equal(tsl_make_ca("Test CA 2", &der2, &len2), 0);
	assert_int_equal(store_issuer_add(f->st, "ca2", der2, len2, &ca2), 0);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		add_good(f, order[i]);
	struct store_serial x = tsl_serial(0x42);
	struct store_cert_rec g = tsl_good(0);
	assert_int_equal(store_cert_add(f->st, ca2, &x, &g), 0);
	struct store_serial sr = tsl_serial(0x80), sh = tsl_serial(0xFFFF);
	assert_int_equal(store_cert_revoke(f->st, f->ca, &sr, STORE_REASON_UNSPECIFIED, 0, 0), 0);
	assert_int_equal(store_cert_hold(f->st, f->ca, &sh, 0), 0);

	assert_int_equal(store_cert_foreach(f->st, f->ca, 0, serial_collect, &l), 0);
	assert_int_equal(l.n, 8);
	for (int i = 0; i < 8; i++)
		assert_string_equal(l.hex[i], sorted[i]);
	assert_int_equal(store_cert_foreach(f->st, f->ca, 1, serial_collect, &lr), 0);
	assert_int_equal(lr.n, 2);
	assert_string_equal(lr.hex[0], "80");
	assert_int_equal(lr.status[0], STORE_REVOKED);
	assert_string_equal(lr.hex[1], "FFFF");
	assert_int_equal(lr.status[1], STORE_HOLD);
	assert_int_equal(store_cert_foreach(f->st, ca2, 0, serial_collect, &l2), 0);
	assert_int_equal(l2.n, 1);
	assert_string_equal(l2.hex[0], "42");
	assert_int_equal(store_cert_foreach(f->st, f->ca, 0, stop_first, NULL), 5);
	struct serial_list l3 = { .n = 0 };
	assert_int_equal(store_cert_foreach(f->st, 99, 0, serial_collect, &l3), 0);
	assert_int_equal(l3.n, 0);
	assert_int_equal(store_cert_foreach(f->st, f->ca, 0, NULL, NULL), VA_ERR_INVAL);
	free(der2);
}

/* ---- batches ---- */

static void test_batch_bulk(void **state)
{
	struct fx *f = *state;
	const int n = 2 * LIM_STORE_BATCH + 1234;
	int err, exists = 0;
	store_batch *b;
	uint64_t last;
	struct store_stats stats;

	b = store_batch_begin(f->st, &err);
	assert_non_null(b);
	for (int i = 0; i < n; i++) {
		struct store_serial s = tsl_serial_rand(7, (uint64_t)i);
		struct store_cert_rec r = i % 10 == 0 ? tsl_revoked(1900000000, STORE_REASON_SUPERSEDED, 1700000000)
						      : tsl_good(1900000000);
		assert_int_equal(store_batch_put(b, f->ca, &s, &r), 0);
	}
	assert_int_equal(store_batch_end(b, 1), 0);
	assert_int_equal(store_changes_last(f->st, &last), 0);
	assert_int_equal(last, (uint64_t)n + 1);
	/* Re-import: every record unchanged, nothing logged. */
	b = store_batch_begin(f->st, &err);
	for (int i = 0; i < n; i++) {
		struct store_serial s = tsl_serial_rand(7, (uint64_t)i);
		struct store_cert_rec r = i % 10 == 0 ? tsl_revoked(1900000000, STORE_REASON_SUPERSEDED, 1700000000)
						      : tsl_good(1900000000);
		if (store_batch_put(b, f->ca, &s, &r) == VA_ERR_EXISTS)
			exists++;
	}
	assert_int_equal(store_batch_commit(b), 0);
	assert_int_equal(store_batch_end(b, 1), 0);
	assert_int_equal(exists, n);
	assert_int_equal(store_changes_last(f->st, &last), 0);
	assert_int_equal(last, (uint64_t)n + 1);
	assert_int_equal(store_stats_get(f->st, &stats), 0);
	assert_int_equal(stats.issuers, 1);
	assert_int_equal(stats.certs, n);
	assert_int_equal(stats.revoked, (n + 9) / 10);
	assert_int_equal(stats.good, n - (n + 9) / 10);
	assert_int_equal(stats.hold, 0);
	assert_int_equal(stats.changes, n + 1);
	assert_true(stats.map_used > 0 && stats.map_used <= stats.map_size);
	assert_int_equal(store_check(f->st), 0);
}

/* ---- meta and counters ---- */

static void test_meta_counters(void **state)
{
	struct fx *f = *state;
	uint64_t first, next;
	char buf[16];
	size_t len;
	char longname[300];

	assert_int_equal(store_counter_peek(f->st, "crlnumber/1", &next), 0);
	assert_int_equal(next, 1);
	assert_int_equal(store_counter_reserve(f->st, "crlnumber/1", 1, &first), 0);
	assert_int_equal(first, 1);
	assert_int_equal(store_counter_reserve(f->st, "crlnumber/1", LIM_TSA_SERIAL_BLOCK, &first), 0);
	assert_int_equal(first, 2);
	assert_int_equal(store_counter_peek(f->st, "crlnumber/1", &next), 0);
	assert_int_equal(next, 2 + LIM_TSA_SERIAL_BLOCK);
	assert_int_equal(store_counter_reserve(f->st, "tsa-serial/tsa1", 3, &first), 0);
	assert_int_equal(first, 1);
	assert_int_equal(store_counter_reserve(f->st, "x", 0, &first), VA_ERR_INVAL);
	assert_int_equal(store_counter_reserve(f->st, "", 1, &first), VA_ERR_INVAL);
	assert_int_equal(store_counter_reserve(f->st, "big", UINT64_MAX - 10, &first), 0);
	assert_int_equal(store_counter_reserve(f->st, "big", 100, &first), VA_ERR_RANGE);
	assert_int_equal(store_counter_peek(f->st, "big", &next), 0);
	assert_int_equal(next, UINT64_MAX - 9); /* refused reservation changed nothing */

	/* Meta values live apart from counters of the same name. */
	assert_int_equal(store_meta_put(f->st, "crlnumber/1", "hello", 5), 0);
	len = sizeof(buf);
	assert_int_equal(store_meta_get(f->st, "crlnumber/1", buf, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(store_counter_peek(f->st, "crlnumber/1", &next), 0);
	assert_int_equal(next, 2 + LIM_TSA_SERIAL_BLOCK);
	len = 2; /* short buffer: copies 2, reports 5 */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(store_meta_get(f->st, "crlnumber/1", buf, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "he\0", 3);
	assert_int_equal(store_meta_put(f->st, "crlnumber/1", "bye", 3), 0);
	len = sizeof(buf);
	assert_int_equal(store_meta_get(f->st, "crlnumber/1", buf, &len), 0);
	assert_int_equal(len, 3);
	assert_int_equal(store_meta_put(f->st, "empty", NULL, 0), 0);
	len = 0;
	assert_int_equal(store_meta_get(f->st, "empty", NULL, &len), 0);
	assert_int_equal(len, 0);
	len = sizeof(buf);
	assert_int_equal(store_meta_get(f->st, "absent", buf, &len), VA_ERR_NOTFOUND);
	/* The schema version cannot be reached through meta names. */
	assert_int_equal(store_meta_get(f->st, "schema", buf, &len), VA_ERR_NOTFOUND);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(store_meta_put(f->st, longname, "x", 1), VA_ERR_INVAL);
	assert_int_equal(store_counter_reserve(f->st, longname, 1, &first), VA_ERR_INVAL);
	assert_int_equal(store_meta_put(f->st, NULL, "x", 1), VA_ERR_INVAL);
	assert_int_equal(store_meta_put(f->st, "big", buf, 64 * 1024 + 1), VA_ERR_RANGE);
	assert_int_equal(store_check(f->st), 0);
}

/* ---- backup, stats, reopen ---- */

static void test_backup(void **state)
{
	struct fx *f = *state;
	char bdir[300], top[256];
	int err;
	store *b;
	struct store_stats s1, s2;
	struct store_cert_rec r;
	struct store_serial s = tsl_serial(7);
	FILE *fp;

	add_good_range(f, 1, 100);
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s, STORE_REASON_KEY_COMPROMISE, 1700000000, 0), 0);
	snprintf(top, sizeof(top), "%s", f->dir);
	*strrchr(top, '/') = '\0';
	snprintf(bdir, sizeof(bdir), "%s/missing", top);
	assert_int_equal(store_backup(f->st, bdir), VA_ERR_NOTFOUND);
	snprintf(bdir, sizeof(bdir), "%s/backup", top);
	assert_int_equal(mkdir(bdir, 0700), 0);
	assert_int_equal(store_backup(f->st, bdir), 0);
	assert_int_equal(store_backup(f->st, bdir), VA_ERR_EXISTS); /* not empty any more */

	b = store_open(bdir, STORE_RDONLY, 0, &err);
	assert_non_null(b);
	assert_int_equal(store_stats_get(f->st, &s1), 0);
	assert_int_equal(store_stats_get(b, &s2), 0);
	assert_int_equal(s1.certs, s2.certs);
	assert_int_equal(s1.revoked, 1);
	assert_int_equal(s2.revoked, 1);
	assert_int_equal(s1.changes, s2.changes);
	assert_int_equal(store_cert_get(b, f->ca, &s, &r), 0);
	assert_int_equal(r.status, STORE_REVOKED);
	assert_int_equal(store_check(b), 0);
	store_close(b);

	/* A file where the directory should be. */
	snprintf(bdir, sizeof(bdir), "%s/afile", top);
	fp = fopen(bdir, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_not_equal(store_backup(f->st, bdir), 0);
}

/* ---- damage and schema ---- */

/* Writes raw bytes into one of the store's databases, behind the store's back. */
static void raw_put(const char *dir, const char *db, const void *key, size_t klen, const void *val, size_t vlen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key }, v = { .mv_size = vlen, .mv_data = (void *)val };

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, MDB_CREATE, &dbi), 0);
	if (val)
		assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	else
		assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void test_schema(void **state)
{
	struct fx *f = *state;
	/* A version this program does not know (a later one), a malformed one, the current one. */
	uint8_t v2[4] = { STORE_SCHEMA_VERSION + 1, 0, 0, 0 }, bad[3] = { 1, 0, 0 },
		v1[4] = { STORE_SCHEMA_VERSION, 0, 0, 0 };
	int err;
	store *st;
	char other[300], top[256];

	store_close(f->st);
	raw_put(f->dir, "meta", "schema", 6, v2, sizeof(v2));
	assert_null(store_open(f->dir, STORE_RDWR, 0, &err));
	assert_int_equal(err, VA_ERR_SCHEMA);
	assert_null(store_open(f->dir, STORE_RDONLY, 0, &err));
	assert_int_equal(err, VA_ERR_SCHEMA);
	assert_null(store_open(f->dir, STORE_RDWR | STORE_CREATE, 0, &err));
	assert_int_equal(err, VA_ERR_SCHEMA);
	raw_put(f->dir, "meta", "schema", 6, bad, sizeof(bad));
	assert_null(store_open(f->dir, STORE_RDONLY, 0, &err));
	assert_int_equal(err, VA_ERR_SCHEMA);
	raw_put(f->dir, "meta", "schema", 6, NULL, 0); /* deleted */
	assert_null(store_open(f->dir, STORE_RDWR, 0, &err));
	assert_int_equal(err, VA_ERR_SCHEMA);
	raw_put(f->dir, "meta", "schema", 6, v1, sizeof(v1));
	f->st = store_open(f->dir, STORE_RDWR, 0, &err);
	assert_non_null(f->st);

	/* An LMDB environment that is not a store. */
	snprintf(top, sizeof(top), "%s", f->dir);
	*strrchr(top, '/') = '\0';
	snprintf(other, sizeof(other), "%s/other", top);
	assert_int_equal(mkdir(other, 0700), 0);
	raw_put(other, "something", "k", 1, "v", 1);
	st = store_open(other, STORE_RDONLY, 0, &err);
	assert_null(st);
	assert_int_equal(err, VA_ERR_SCHEMA);
}

static void test_damaged_values(void **state)
{
	struct fx *f = *state;
	uint8_t key[16], val[64];
	struct store_serial s5 = tsl_serial(5);
	struct store_cert_rec r;
	int err;

	add_good(f, 5);
	add_good(f, 6);
	store_close(f->st);
	f->st = NULL;
	/* Key of serial 5 under issuer 1: issuer BE, 0x81, 0x05. */
	key[0] = 0; key[1] = 0; key[2] = 0; key[3] = (uint8_t)f->ca; key[4] = 0x81; key[5] = 0x05;
	memset(val, 0, sizeof(val));
	val[0] = 1;
	raw_put(f->dir, "certs", key, 6, val, 35); /* one octet short */
	f->st = store_open(f->dir, STORE_RDWR, 0, &err);
	assert_non_null(f->st);
	assert_int_equal(store_cert_get(f->st, f->ca, &s5, &r), VA_ERR_STORE);
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s5, 0, 0, 0), VA_ERR_STORE);
	assert_int_equal(store_check(f->st), 1);
	assert_int_equal(store_cert_foreach(f->st, f->ca, 0, serial_collect, &(struct serial_list){ .n = 0 }),
			 VA_ERR_STORE);
	store_close(f->st);

	raw_put(f->dir, "certs", key, 6, val, 37); /* one octet long */
	f->st = store_open(f->dir, STORE_RDONLY, 0, &err);
	assert_int_equal(store_cert_get(f->st, f->ca, &s5, &r), VA_ERR_STORE);
	store_close(f->st);

	val[0] = 2; /* unknown record version */
	raw_put(f->dir, "certs", key, 6, val, 36);
	f->st = store_open(f->dir, STORE_RDONLY, 0, &err);
	assert_int_equal(store_cert_get(f->st, f->ca, &s5, &r), VA_ERR_STORE);
	store_close(f->st);

	val[0] = 1;
	val[1] = 7; /* unknown status */
	raw_put(f->dir, "certs", key, 6, val, 36);
	f->st = store_open(f->dir, STORE_RDONLY, 0, &err);
	assert_int_equal(store_cert_get(f->st, f->ca, &s5, &r), VA_ERR_STORE);
	store_close(f->st);

	/* A certificate of an issuer that does not exist, a malformed key, a change-log gap, a damaged change. */
	val[1] = 0;
	val[28] = 1; /* change_seq 1 (LE at offset 28) */
	key[3] = 9;
	raw_put(f->dir, "certs", key, 6, val, 36);
	key[4] = 0x81;
	key[5] = 0x00; /* leading zero octet: not canonical */
	raw_put(f->dir, "certs", key, 6, val, 36);
	uint8_t seq[8] = { 0, 0, 0, 0, 0, 0, 0, 50 };
	raw_put(f->dir, "changes", seq, 8, "\x01\x02", 2);
	f->st = store_open(f->dir, STORE_RDWR, 0, &err);
	assert_non_null(f->st);
	/* cert 5 (status 7), issuer 9's cert (no issuer, and change 1 is not about it), malformed key, gap before 50,
	 * damaged change 50 */
	assert_int_equal(store_check(f->st), 6);
	struct change_list l = { .n = 0 };
	assert_int_equal(store_changes_since(f->st, 3, 0, change_collect, &l), VA_ERR_STORE);
	/* Writes go on after the highest sequence number. */
	struct store_serial s6 = tsl_serial(6);
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s6, 0, 0, 0), 0);
	uint64_t last;
	assert_int_equal(store_changes_last(f->st, &last), 0);
	assert_int_equal(last, 51);
	store_close(f->st);

	/* A counter or an issuer of the wrong size. */
	raw_put(f->dir, "meta", "c:n", 3, "abc", 3);
	uint8_t ikey[4] = { 0, 0, 0, 1 };
	raw_put(f->dir, "issuers", ikey, 4, "\x01short", 6);
	f->st = store_open(f->dir, STORE_RDWR, 0, &err);
	assert_non_null(f->st);
	uint64_t next;
	assert_int_equal(store_counter_peek(f->st, "n", &next), VA_ERR_STORE);
	assert_int_equal(store_counter_reserve(f->st, "n", 1, &next), VA_ERR_STORE);
	struct store_issuer iss;
	assert_int_equal(store_issuer_get(f->st, "ca1", &iss), VA_ERR_STORE);
	assert_int_equal(store_check(f->st), 9); /* + the issuer; its two certificates now have no issuer (+2) */
	store_close(f->st);

	/* A well-formed record that does not match its change (edited behind the store's back). */
	key[3] = (uint8_t)f->ca;
	key[5] = 0x06;
	memset(val, 0, sizeof(val));
	val[0] = 1;
	val[1] = STORE_REVOKED;
	val[2] = STORE_REASON_KEY_COMPROMISE;
	val[12] = 1;  /* revoked_at 1 */
	val[28] = 3;  /* change 3: the ISSUE of serial 6, which said GOOD */
	raw_put(f->dir, "certs", key, 6, val, 36);
	f->st = store_open(f->dir, STORE_RDONLY, 0, &err);
	assert_non_null(f->st);
	/* The 9 above + certificate 6 against its change + its revoked index copy, still the record written by
	 * store_cert_revoke. */
	assert_int_equal(store_check(f->st), 11);
}

/* ---- revoked index ---- */

/* The index's keys (issuer/SERIAL), read behind the store's API, joined by spaces. */
static void idx_keys(store *st, char *out, size_t outlen)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t used = 0;
	int rc;

	out[0] = '\0';
	assert_int_equal(store_rtxn_begin(st, &txn), 0);
	assert_int_equal(mdb_cursor_open(txn, st->db_revoked, &cur), 0);
	for (int op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
		struct store_serial s;
		char hex[2 * LIM_SERIAL_MAX + 2];
		assert_true(k.mv_size > 4);
		assert_int_equal(v.mv_size, STORE_CERT_VAL_LEN); /* the record; store_check compares it with certs */
		assert_int_equal(store_serial_key_decode((const uint8_t *)k.mv_data + 4, k.mv_size - 4, &s),
				 (int)(k.mv_size - 4));
		store_serial_to_hex(&s, hex, sizeof(hex));
		used += (size_t)snprintf(out + used, outlen - used, "%s%u/%s", used ? " " : "",
					 (unsigned)store_get_be32(k.mv_data), hex);
		assert_true(used < outlen);
	}
	assert_int_equal(rc, MDB_NOTFOUND);
	mdb_cursor_close(cur);
	store_rtxn_end(st, txn);
}

static void expect_idx(struct fx *f, const char *want)
{
	char got[1024];

	idx_keys(f->st, got, sizeof(got));
	assert_string_equal(got, want);
	assert_int_equal(store_check(f->st), 0);
}

/* Every way a status is written moves the certificate in or out of the index, in the write that changes it;
 * refused and aborted writes leave it alone. */
static void test_revidx_transitions(void **state)
{
	struct fx *f = *state;
	struct store_serial s1 = tsl_serial(1), s2 = tsl_serial(2), s3 = tsl_serial(3), s4 = tsl_serial(4),
			    s5 = tsl_serial(5), s6 = tsl_serial(6);
	struct store_cert_rec good = tsl_good(1900000000), r;
	store_batch *b;
	int err;

	expect_idx(f, "");
	add_good(f, 1);
	add_good(f, 2);
	add_good(f, 3);
	expect_idx(f, "");
	/* Single operations. */
	assert_int_equal(store_cert_hold(f->st, f->ca, &s1, 0), 0);
	expect_idx(f, "1/01");
	assert_int_equal(store_cert_release(f->st, f->ca, &s1), 0);
	expect_idx(f, "");
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s2, STORE_REASON_SUPERSEDED, 0, 0), 0);
	expect_idx(f, "1/02");
	assert_int_equal(store_cert_hold(f->st, f->ca, &s3, 0), 0);
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s3, STORE_REASON_CESSATION, 0, 0), 0); /* HOLD -> REVOKED */
	expect_idx(f, "1/02 1/03");
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s2, STORE_REASON_KEY_COMPROMISE, 0, 1690000000), 0);
	expect_idx(f, "1/02 1/03");
	/* Refused: a revocation is final, a second hold or revoke changes nothing. */
	assert_int_equal(store_cert_release(f->st, f->ca, &s2), VA_ERR_CONFLICT);
	assert_int_equal(store_cert_hold(f->st, f->ca, &s2, 0), VA_ERR_CONFLICT);
	assert_int_equal(store_cert_revoke(f->st, f->ca, &s3, STORE_REASON_SUPERSEDED, 0, 0), VA_ERR_EXISTS);
	assert_int_equal(store_cert_release(f->st, f->ca, &s1), VA_ERR_CONFLICT);
	r = good;
	assert_int_equal(store_cert_add(f->st, f->ca, &s2, &r), VA_ERR_CONFLICT); /* no un-revoke through add */
	expect_idx(f, "1/02 1/03");
	/* store_cert_add: recorded revoked or held at once; notAfter changes keep the status. */
	r = tsl_revoked(1900000000, STORE_REASON_KEY_COMPROMISE, 1700000000);
	assert_int_equal(store_cert_add(f->st, f->ca, &s4, &r), 0);
	r = tsl_revoked(1900000000, STORE_REASON_CERTIFICATE_HOLD, 1700000000);
	assert_int_equal(store_cert_add(f->st, f->ca, &s5, &r), 0);
	expect_idx(f, "1/02 1/03 1/04 1/05");
	r = tsl_revoked(1950000000, STORE_REASON_KEY_COMPROMISE, 1700000000);
	assert_int_equal(store_cert_add(f->st, f->ca, &s4, &r), 0);
	r = tsl_good(1950000000);
	assert_int_equal(store_cert_add(f->st, f->ca, &s1, &r), 0);
	r = tsl_good(0);
	assert_int_equal(store_cert_add(f->st, f->ca, &s5, &r), 0); /* HOLD -> GOOD through add: a release */
	expect_idx(f, "1/02 1/03 1/04");

	/* Batches (index imports): the same, and an aborted batch leaves the index as it was. */
	b = store_batch_begin(f->st, &err);
	assert_non_null(b);
	r = tsl_revoked(1900000000, STORE_REASON_SUPERSEDED, 1700000000);
	assert_int_equal(store_batch_put(b, f->ca, &s6, &r), 0);
	assert_int_equal(store_batch_put(b, f->ca, &s1, &r), 0);
	assert_int_equal(store_batch_put(b, f->ca, &s1, &good), VA_ERR_CONFLICT);
	assert_int_equal(store_batch_end(b, 0), 0);
	expect_idx(f, "1/02 1/03 1/04");
	b = store_batch_begin(f->st, &err);
	assert_non_null(b);
	assert_int_equal(store_batch_put(b, f->ca, &s6, &r), 0);         /* new, revoked */
	r = tsl_revoked(1900000000, STORE_REASON_CERTIFICATE_HOLD, 1700000000);
	assert_int_equal(store_batch_put(b, f->ca, &s1, &r), 0);         /* GOOD -> HOLD */
	assert_int_equal(store_batch_put(b, f->ca, &s1, &good), 0);      /* and released again */
	assert_int_equal(store_batch_put(b, f->ca, &s5, &r), 0);         /* GOOD -> HOLD */
	r = tsl_revoked(1900000000, STORE_REASON_AFFILIATION_CHANGED, 1700000000);
	assert_int_equal(store_batch_put(b, f->ca, &s5, &r), 0);         /* HOLD -> REVOKED */
	assert_int_equal(store_batch_end(b, 1), 0);
	expect_idx(f, "1/02 1/03 1/04 1/05 1/06");

	/* Another issuer: its own keys, in issuer order. */
	uint8_t *der2;
	size_t len2;
	uint32_t ca2;
	assert_int_equal(tsl_make_ca("Test CA 2", &der2, &len2), 0);
	assert_int_equal(store_issuer_add(f->st, "ca2", der2, len2, &ca2), 0);
	free(der2);
	r = tsl_revoked(0, STORE_REASON_UNSPECIFIED, 1700000000);
	assert_int_equal(store_cert_add(f->st, ca2, &s1, &r), 0);
	expect_idx(f, "1/02 1/03 1/04 1/05 1/06 2/01");
}

struct rev_list {
	char hex[64][2 * LIM_SERIAL_MAX + 2];
	struct store_cert_rec rec[64];
	int n;
};

static int rev_collect(void *arg, const struct store_serial *s, const struct store_cert_rec *rec)
{
	struct rev_list *l = arg;

	if (l->n >= 64)
		return -99;
	store_serial_to_hex(s, l->hex[l->n], sizeof(l->hex[0]));
	l->rec[l->n] = *rec;
	l->n++;
	return 0;
}

/* store_revoked_foreach visits exactly what store_cert_foreach(.., 1, ..) visits, in the same order. */
static void expect_same_walks(store *st, uint32_t issuer, int n)
{
	struct rev_list *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));

	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(store_cert_foreach(st, issuer, 1, rev_collect, a), 0);
	assert_int_equal(store_revoked_foreach(st, issuer, rev_collect, b), 0);
	assert_int_equal(a->n, n);
	assert_int_equal(b->n, n);
	for (int i = 0; i < n; i++) {
		assert_string_equal(a->hex[i], b->hex[i]);
		assert_memory_equal(&a->rec[i], &b->rec[i], sizeof(a->rec[i]));
	}
	free(a);
	free(b);
}

static int stop_second(void *arg, const struct store_serial *s, const struct store_cert_rec *rec)
{
	int *n = arg;

	(void)s;
	(void)rec;
	return ++*n == 2 ? 9 : 0;
}

static void test_revidx_foreach(void **state)
{
	struct fx *f = *state;
	uint8_t *der2;
	size_t len2;
	uint32_t ca2;
	int err, listed1 = 0, listed2 = 0;
	store_batch *b;

	assert_int_equal(tsl_make_ca("Test CA 2", &der2, &len2), 0);
	assert_int_equal(store_issuer_add(f->st, "ca2", der2, len2, &ca2), 0);
	free(der2);
	/* 600 certificates per issuer: serials of 1 to 16 octets and negative ones, few revoked or held. */
	b = store_batch_begin(f->st, &err);
	assert_non_null(b);
	for (uint64_t i = 0; i < 1200; i++) {
		uint32_t iss = i % 2 ? ca2 : f->ca;
		struct store_serial s = i % 3 == 0 ? tsl_serial(i) : tsl_serial_rand(7, i);
		struct store_cert_rec r = tsl_good(1900000000 + (int64_t)i);
		if (i % 5 == 0) {
			s.len = (uint8_t)(1 + i % 4);
			s.negative = 1;
			s.mag[0] = (uint8_t)(1 + i % 200);
			memcpy(s.mag + 1, &i, s.len - 1);
		}
		if (i % 37 == 0)
			r = tsl_revoked(1900000000, STORE_REASON_KEY_COMPROMISE, 1700000000 + (int64_t)i);
		else if (i % 53 == 0)
			r = tsl_revoked(0, STORE_REASON_CERTIFICATE_HOLD, 1700000000);
		/* A few short serials repeat: later puts follow the status rules (EXISTS, CONFLICT). */
		int rc = store_batch_put(b, iss, &s, &r);
		if (rc != 0 && rc != VA_ERR_EXISTS && rc != VA_ERR_CONFLICT)
			fail_msg("put %llu: %d", (unsigned long long)i, rc);
	}
	assert_int_equal(store_batch_end(b, 1), 0);
	struct store_stats st;
	assert_int_equal(store_stats_get(f->st, &st), 0);
	for (int k = 0; k < 2; k++) {
		struct rev_list *l = calloc(1, sizeof(*l));
		assert_non_null(l);
		assert_int_equal(store_cert_foreach(f->st, k ? ca2 : f->ca, 1, rev_collect, l), 0);
		*(k ? &listed2 : &listed1) = l->n;
		free(l);
	}
	assert_true(listed1 > 5 && listed2 > 5);
	assert_int_equal((uint64_t)(listed1 + listed2), st.revoked + st.hold);
	expect_same_walks(f->st, f->ca, listed1);
	expect_same_walks(f->st, ca2, listed2);
	assert_int_equal(store_check(f->st), 0);
	/* A non-zero return stops the walk and is returned; an issuer without certificates; bad arguments. */
	int n = 0;
	assert_int_equal(store_revoked_foreach(f->st, f->ca, stop_second, &n), 9);
	assert_int_equal(n, 2);
	expect_same_walks(f->st, 99, 0);
	assert_int_equal(store_revoked_foreach(f->st, f->ca, NULL, NULL), VA_ERR_INVAL);
	assert_int_equal(store_revoked_foreach(NULL, f->ca, rev_collect, NULL), VA_ERR_INVAL);
}

static int count_revoked(void *arg, const struct store_serial *s, const struct store_cert_rec *rec)
{
	(void)s;
	*(uint64_t *)arg += rec->status == STORE_REVOKED;
	return 0;
}

/* Turns the store in dir into what schema 1 wrote: no `revoked` database, version 1. */
static void raw_downgrade(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint8_t v1[4] = { STORE_SCHEMA_NO_REVIDX, 0, 0, 0 };
	MDB_val k = { .mv_size = 6, .mv_data = "schema" }, v = { .mv_size = 4, .mv_data = v1 };

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "revoked", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 1), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static uint32_t raw_schema(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { .mv_size = 6, .mv_data = "schema" }, v;
	uint32_t ver;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	assert_int_equal(v.mv_size, 4);
	ver = store_get_le32(v.mv_data);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return ver;
}

/* "HEX" or "-HEX" into a serial (as store_serial_from_hex reads it); "*", no bound: NULL. */
static const struct store_serial *bound(const char *hex, struct store_serial *buf)
{
	if (strcmp(hex, "*") == 0)
		return NULL;
	assert_int_equal(store_serial_from_hex(buf, hex), 0);
	return buf;
}

/* The ranged walk's visits, as "HEX HEX ...", against want. */
static void expect_range(store *st, uint32_t issuer, const char *from, const char *to, const char *want)
{
	struct rev_list *l = calloc(1, sizeof(*l));
	struct store_serial fb, tb;
	char got[2048];
	size_t used = 0;

	assert_non_null(l);
	assert_int_equal(store_revoked_foreach_range(st, issuer, bound(from, &fb), bound(to, &tb), rev_collect, l), 0);
	got[0] = '\0';
	for (int i = 0; i < l->n; i++)
		used += (size_t)snprintf(got + used, sizeof(got) - used, "%s%s", i ? " " : "", l->hex[i]);
	if (strcmp(got, want) != 0)
		fail_msg("range [%s, %s): got '%s', want '%s'", from, to, got, want);
	free(l);
}

#define SER20_MIN "0100000000000000000000000000000000000000"
#define SER20_MAX "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"

/* The revoked certificates of the range tests, in key order (the full walk's order). */
static const char *const range_all[] = { "-01", "-7F", "-80", "-0100", "-FFFF", "00", "01", "7F", "80", "FF",
					 "0100", "0101", "FFFF", "010000", SER20_MIN, SER20_MAX };

static void range_store(struct fx *f, uint32_t ca2)
{
	struct store_serial s;
	struct store_cert_rec rv = tsl_revoked(1900000000, STORE_REASON_SUPERSEDED, 1700000000),
			      good = tsl_good(1900000000);

	for (size_t i = 0; i < sizeof(range_all) / sizeof(range_all[0]); i++) {
		assert_int_equal(store_serial_from_hex(&s, range_all[i]), 0);
		assert_int_equal(store_cert_add(f->st, f->ca, &s, &rv), 0);
	}
	/* Good certificates between them are never visited, whatever the range. */
	const char *goods[] = { "-02", "-0101", "02", "81", "0102", "FFFE", "01000000" };
	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		assert_int_equal(store_serial_from_hex(&s, goods[i]), 0);
		assert_int_equal(store_cert_add(f->st, f->ca, &s, &good), 0);
	}
	/* Another issuer's revoked certificates around them: the walk stays within its issuer. */
	const char *other[] = { "-01", "00", "01", SER20_MAX };
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		assert_int_equal(store_serial_from_hex(&s, other[i]), 0);
		assert_int_equal(store_cert_add(f->st, ca2, &s, &rv), 0);
	}
}

/* The edges of the ranged walk (partitioned CRLs): bounds at and between stored serials, at length changes
 * (0xFF < 0x0100: the key orders by length first), on both sides of zero, the first and last serials, empty and
 * inverted ranges, and the order of the visits (the full walk's). */
static void expect_range_edges(store *st, uint32_t ca, uint32_t ca2)
{
	const char *all = "-01 -7F -80 -0100 -FFFF 00 01 7F 80 FF 0100 0101 FFFF 010000 " SER20_MIN " " SER20_MAX;

	expect_range(st, ca, "*", "*", all);
	expect_range(st, ca, "-FFFF", "*", all);                 /* from the (numerically) first serial */
	expect_range(st, ca, "*", "-FFFF", "");                  /* nothing is below it */
	expect_range(st, ca, "-FFFE", "*", "-01 -7F -80 -0100 00 01 7F 80 FF 0100 0101 FFFF 010000 " SER20_MIN " " SER20_MAX);
	expect_range(st, ca, "*", SER20_MAX, "-01 -7F -80 -0100 -FFFF 00 01 7F 80 FF 0100 0101 FFFF 010000 " SER20_MIN);
	expect_range(st, ca, SER20_MAX, "*", SER20_MAX);         /* the last serial alone */
	expect_range(st, ca, SER20_MIN, SER20_MAX, SER20_MIN);
	expect_range(st, ca, "80", "0100", "80 FF");             /* one octet to two: 0xFF < 0x0100 */
	expect_range(st, ca, "FF", "0101", "FF 0100");
	expect_range(st, ca, "0100", "010000", "0100 0101 FFFF");
	expect_range(st, ca, "0100", "*", "0100 0101 FFFF 010000 " SER20_MIN " " SER20_MAX);
	expect_range(st, ca, "0101", "FFFF", "0101");
	expect_range(st, ca, "0102", "FFFF", "");                /* only good certificates in between */
	expect_range(st, ca, "81", "FF", "");
	expect_range(st, ca, "80", "80", "");                    /* empty */
	expect_range(st, ca, "0100", "80", "");                  /* inverted */
	expect_range(st, ca, "00", "01", "00");                  /* zero alone */
	expect_range(st, ca, "00", "*", "00 01 7F 80 FF 0100 0101 FFFF 010000 " SER20_MIN " " SER20_MAX);
	expect_range(st, ca, "*", "00", "-01 -7F -80 -0100 -FFFF"); /* the negative serials, in key order */
	expect_range(st, ca, "*", "01", "-01 -7F -80 -0100 -FFFF 00");
	expect_range(st, ca, "-80", "01", "-01 -7F -80 00");     /* from a negative serial, included */
	expect_range(st, ca, "-0100", "-01", "-7F -80 -0100");  /* between negative serials: -1 excluded */
	expect_range(st, ca, "-0100", "-7F", "-80 -0100");
	expect_range(st, ca, "-FFFF", "-FFFF", "");
	expect_range(st, ca, "-7F", "-80", "");                  /* inverted: -0x7F > -0x80 */
	expect_range(st, ca, "01", "-01", "");
	expect_range(st, ca, "-02", "02", "-01 00 01");          /* across zero */
	expect_range(st, ca2, "*", "*", "-01 00 01 " SER20_MAX);
	expect_range(st, ca2, "01", "*", "01 " SER20_MAX);
	expect_range(st, 99, "*", "*", "");
}

static void test_revidx_range(void **state)
{
	struct fx *f = *state;
	struct store_serial a, b;
	uint8_t *der2;
	size_t len2;
	uint32_t ca2;
	int n = 0;

	assert_int_equal(tsl_make_ca("Test CA 2", &der2, &len2), 0);
	assert_int_equal(store_issuer_add(f->st, "ca2", der2, len2, &ca2), 0);
	free(der2);
	range_store(f, ca2);
	expect_same_walks(f->st, f->ca, (int)(sizeof(range_all) / sizeof(range_all[0])));
	expect_range_edges(f->st, f->ca, ca2);
	/* A non-zero return stops the walk, in either stretch. */
	assert_int_equal(store_revoked_foreach_range(f->st, f->ca, bound("-80", &a), bound("FF", &b), stop_second, &n), 9);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(store_revoked_foreach_range(f->st, f->ca, bound("7F", &a), NULL, stop_second, &n), 9);
	assert_int_equal(n, 2);
	/* Bounds that are not serials as the store writes them: their keys would not sort by value. */
	struct store_serial bad = { .len = 2, .mag = { 0, 5 } };
	assert_int_equal(store_revoked_foreach_range(f->st, f->ca, &bad, NULL, rev_collect, NULL), VA_ERR_INVAL);
	bad = (struct store_serial){ .len = 0, .negative = 1 };
	assert_int_equal(store_revoked_foreach_range(f->st, f->ca, NULL, &bad, rev_collect, NULL), VA_ERR_INVAL);
	bad = (struct store_serial){ .len = LIM_SERIAL_MAX + 1, .mag = { 1 } };
	assert_int_equal(store_revoked_foreach_range(f->st, f->ca, &bad, NULL, rev_collect, NULL), VA_ERR_INVAL);
	assert_int_equal(store_revoked_foreach_range(f->st, f->ca, NULL, NULL, NULL, NULL), VA_ERR_INVAL);
	assert_int_equal(store_revoked_foreach_range(NULL, f->ca, NULL, NULL, rev_collect, NULL), VA_ERR_INVAL);

	/* A version 1 store opened read-only walks the same stretches of `certs`. */
	store_close(f->st);
	raw_downgrade(f->dir);
	int err;
	f->st = store_open(f->dir, STORE_RDONLY, 0, &err);
	assert_non_null(f->st);
	assert_int_equal(f->st->has_revidx, 0);
	expect_range_edges(f->st, f->ca, ca2);
}

struct status_count {
	uint64_t n[3], all;
};

static int status_count(void *arg, const struct store_serial *s, const struct store_cert_rec *rec)
{
	struct status_count *c = arg;

	(void)s;
	c->n[rec->status]++;
	c->all++;
	return 0;
}

/* store_stats_get counts revoked and held certificates from the index and the good ones as the rest: the same
 * figures as a walk of every record, over two issuers and every kind of status change, and as the walk it
 * makes on a schema 1 store opened read-only (no index). */
static void test_stats_counts(void **state)
{
	struct fx *f = *state;
	struct store_stats st;
	struct status_count c = { { 0, 0, 0 }, 0 };
	struct store_serial s;
	uint8_t *der2;
	size_t len2;
	uint32_t ca2;
	store_batch *b;
	int err;

	assert_int_equal(store_stats_get(f->st, &st), 0);
	assert_int_equal(st.certs + st.good + st.revoked + st.hold, 0);
	assert_int_equal(st.issuers, 1);
	assert_int_equal(tsl_make_ca("Test CA 2", &der2, &len2), 0);
	assert_int_equal(store_issuer_add(f->st, "ca2", der2, len2, &ca2), 0);
	free(der2);
	b = store_batch_begin(f->st, &err);
	assert_non_null(b);
	for (uint64_t i = 0; i < 3000; i++) {
		struct store_cert_rec r = i % 23 == 0   ? tsl_revoked(1900000000, STORE_REASON_KEY_COMPROMISE, 1700000000)
					  : i % 31 == 0 ? tsl_revoked(1900000000, STORE_REASON_CERTIFICATE_HOLD, 1700000000)
							: tsl_good(1900000000);
		s = i % 7 == 0 ? tsl_serial_rand(5, i) : tsl_serial(i);
		if (i % 11 == 0)
			s.negative = 1; /* serial 0 stays zero: tsl_serial(0) has no magnitude */
		if (s.len == 0)
			s.negative = 0;
		assert_int_equal(store_batch_put(b, i % 3 ? f->ca : ca2, &s, &r), 0);
	}
	assert_int_equal(store_batch_end(b, 1), 0);
	/* Single changes: holds released and revoked, good certificates revoked and held. */
	for (uint64_t i = 31; i < 3000; i += 31 * 4) {
		s = i % 7 == 0 ? tsl_serial_rand(5, i) : tsl_serial(i);
		if (i % 11 == 0)
			s.negative = 1;
		if (i % 23 != 0)
			assert_int_equal(store_cert_release(f->st, i % 3 ? f->ca : ca2, &s), 0);
	}
	for (uint64_t i = 2; i < 3000; i += 97) {
		s = i % 7 == 0 ? tsl_serial_rand(5, i) : tsl_serial(i);
		if (i % 11 == 0)
			s.negative = 1;
		int rc = i % 2 ? store_cert_hold(f->st, i % 3 ? f->ca : ca2, &s, 0)
			       : store_cert_revoke(f->st, i % 3 ? f->ca : ca2, &s, STORE_REASON_SUPERSEDED, 0, 0);
		assert_true(rc == 0 || rc == VA_ERR_EXISTS || rc == VA_ERR_CONFLICT);
	}
	assert_int_equal(store_cert_foreach(f->st, f->ca, 0, status_count, &c), 0);
	assert_int_equal(store_cert_foreach(f->st, ca2, 0, status_count, &c), 0);
	assert_int_equal(c.all, 3000);
	assert_true(c.n[STORE_REVOKED] > 100 && c.n[STORE_HOLD] > 50);
	assert_int_equal(store_stats_get(f->st, &st), 0);
	assert_int_equal(st.issuers, 2);
	assert_int_equal(st.certs, c.all);
	assert_int_equal(st.good, c.n[STORE_GOOD]);
	assert_int_equal(st.revoked, c.n[STORE_REVOKED]);
	assert_int_equal(st.hold, c.n[STORE_HOLD]);
	assert_int_equal(store_check(f->st), 0);

	/* Without the index, every record is read: the same figures. */
	store_close(f->st);
	raw_downgrade(f->dir);
	f->st = store_open(f->dir, STORE_RDONLY, 0, &err);
	assert_non_null(f->st);
	assert_int_equal(f->st->has_revidx, 0);
	struct store_stats old;
	assert_int_equal(store_stats_get(f->st, &old), 0);
	assert_int_equal(old.certs, st.certs);
	assert_int_equal(old.good, st.good);
	assert_int_equal(old.revoked, st.revoked);
	assert_int_equal(old.hold, st.hold);
	assert_int_equal(old.issuers, st.issuers);
	assert_int_equal(old.changes, st.changes);
}

/* A store written before the index: read as it is read-only, upgraded once by a read-write open. */
static void test_revidx_upgrade(void **state)
{
	struct fx *f = *state;
	struct store_serial s;
	struct store_cert_rec r;
	char before[1024], after[1024];
	int err;

	add_good_range(f, 1, 300);
	for (uint64_t i = 7; i <= 300; i += 41) {
		s = tsl_serial(i);
		assert_int_equal(store_cert_revoke(f->st, f->ca, &s, STORE_REASON_SUPERSEDED, 0, 0), 0);
	}
	s = tsl_serial(100);
	assert_int_equal(store_cert_hold(f->st, f->ca, &s, 0), 0);
	s = tsl_serial(101);
	assert_int_equal(store_cert_hold(f->st, f->ca, &s, 0), 0);
	assert_int_equal(store_cert_release(f->st, f->ca, &s), 0);
	idx_keys(f->st, before, sizeof(before));
	assert_string_equal(before, "1/07 1/30 1/59 1/64 1/82 1/AB 1/D4 1/FD 1/0126");
	store_close(f->st);
	raw_downgrade(f->dir);
	assert_int_equal(raw_schema(f->dir), STORE_SCHEMA_NO_REVIDX);

	/* Read-only: no index, the walk falls back to every certificate, the check says nothing is wrong. */
	f->st = store_open(f->dir, STORE_RDONLY, 0, &err);
	assert_non_null(f->st);
	assert_int_equal(f->st->has_revidx, 0);
	expect_same_walks(f->st, f->ca, 9);
	assert_int_equal(store_check(f->st), 0);
	store_close(f->st);
	assert_int_equal(raw_schema(f->dir), STORE_SCHEMA_NO_REVIDX);

	/* Read-write: upgraded before store_open returns; the same index as if it had always been kept. */
	f->st = store_open(f->dir, STORE_RDWR, 0, &err);
	assert_non_null(f->st);
	assert_int_equal(f->st->has_revidx, 1);
	idx_keys(f->st, after, sizeof(after));
	assert_string_equal(after, before);
	assert_int_equal(store_check(f->st), 0);
	expect_same_walks(f->st, f->ca, 9);
	/* And kept from then on. */
	s = tsl_serial(100);
	assert_int_equal(store_cert_release(f->st, f->ca, &s), 0);
	s = tsl_serial(2);
	assert_int_equal(store_cert_hold(f->st, f->ca, &s, 0), 0);
	expect_idx(f, "1/02 1/07 1/30 1/59 1/82 1/AB 1/D4 1/FD 1/0126");
	store_close(f->st);
	assert_int_equal(raw_schema(f->dir), STORE_SCHEMA_VERSION);
	/* A second open finds it upgraded. */
	f->st = store_open(f->dir, STORE_RDWR, 0, &err);
	assert_non_null(f->st);
	expect_idx(f, "1/02 1/07 1/30 1/59 1/82 1/AB 1/D4 1/FD 1/0126");
	store_close(f->st);

	/* An old store with a damaged record is not upgraded (its index could lack that certificate): the
	 * read-write open fails and the store stays at version 1, still readable. */
	raw_downgrade(f->dir);
	uint8_t key[6] = { 0, 0, 0, (uint8_t)f->ca, 0x81, 0x05 }, val[35] = { 1 };
	raw_put(f->dir, "certs", key, sizeof(key), val, sizeof(val));
	f->st = store_open(f->dir, STORE_RDWR, 0, &err);
	assert_null(f->st);
	assert_int_equal(err, VA_ERR_STORE);
	assert_int_equal(raw_schema(f->dir), STORE_SCHEMA_NO_REVIDX);
	f->st = store_open(f->dir, STORE_RDONLY, 0, &err);
	assert_non_null(f->st);
	s = tsl_serial(7);
	assert_int_equal(store_cert_get(f->st, f->ca, &s, &r), 0);
	assert_int_equal(r.status, STORE_REVOKED);
	assert_int_equal(store_check(f->st), 1); /* the damaged record */
}

/* An index changed behind the store's back: store_check (vactl check) finds each kind of damage. The walk reads
 * the index alone: it skips entries whose record says good, and refuses one that does not decode. */
static void test_revidx_tampered(void **state)
{
	struct fx *f = *state;
	struct store_serial s;
	struct store_cert_rec r;
	struct rev_list *l = calloc(1, sizeof(*l));
	uint8_t good[STORE_CERT_VAL_LEN], revoked[STORE_CERT_VAL_LEN], other[STORE_CERT_VAL_LEN];
	int err;

	assert_non_null(l);
	add_good_range(f, 1, 20);
	for (uint64_t i = 3; i <= 20; i += 5) {
		s = tsl_serial(i);
		assert_int_equal(store_cert_revoke(f->st, f->ca, &s, STORE_REASON_SUPERSEDED, 1700000000, 0), 0);
	}
	expect_idx(f, "1/03 1/08 1/0D 1/12");
	r = get_rec(f, 8);
	store_close(f->st);
	f->st = NULL;
	/* Well-formed records: serial 4's (good), one revoked, serial 8's with another revocation date. */
	struct store_cert_rec g = tsl_good(1900000000), rv = tsl_revoked(1900000000, STORE_REASON_KEY_COMPROMISE, 5);
	store_cert_rec_encode(&g, good);
	store_cert_rec_encode(&rv, revoked);
	r.revoked_at = 1600000000;
	store_cert_rec_encode(&r, other);
	/* Keys: issuer (BE) || 0x81 || serial. */
	uint8_t k3[6] = { 0, 0, 0, (uint8_t)f->ca, 0x81, 0x03 }, k4[6] = { 0, 0, 0, (uint8_t)f->ca, 0x81, 0x04 },
		k99[6] = { 0, 0, 0, (uint8_t)f->ca, 0x81, 0x99 }, k8[6] = { 0, 0, 0, (uint8_t)f->ca, 0x81, 0x08 },
		kx[6] = { 0, 0, 0, 7, 0x81, 0x01 };
	raw_put(f->dir, "revoked", k3, sizeof(k3), NULL, 0);  /* a revoked certificate missing */
	f->st = store_open(f->dir, STORE_RDONLY, 0, &err);
	assert_non_null(f->st);
	assert_int_equal(store_check(f->st), 1);
	store_close(f->st);
	raw_put(f->dir, "revoked", k4, sizeof(k4), good, sizeof(good));          /* a good one listed */
	raw_put(f->dir, "revoked", k99, sizeof(k99), revoked, sizeof(revoked));  /* no such certificate */
	raw_put(f->dir, "revoked", kx, sizeof(kx), revoked, sizeof(revoked));    /* nor such an issuer, at the end */
	raw_put(f->dir, "revoked", k8, sizeof(k8), other, sizeof(other));        /* not the record */
	f->st = store_open(f->dir, STORE_RDONLY, 0, &err);
	assert_non_null(f->st);
	assert_int_equal(store_check(f->st), 5);
	/* The walk lists what the index says (the check is what finds the rest), good records excepted. */
	assert_int_equal(store_revoked_foreach(f->st, f->ca, rev_collect, l), 0);
	assert_int_equal(l->n, 4);
	assert_string_equal(l->hex[0], "08");
	assert_int_equal(l->rec[0].revoked_at, 1600000000);
	assert_string_equal(l->hex[1], "0D");
	assert_string_equal(l->hex[2], "12");
	assert_string_equal(l->hex[3], "99");
	store_close(f->st);
	/* A value that does not decode: the walk refuses (no CRL from it), the check counts it as differing. */
	raw_put(f->dir, "revoked", k8, sizeof(k8), "x", 1);
	f->st = store_open(f->dir, STORE_RDONLY, 0, &err);
	assert_non_null(f->st);
	assert_int_equal(store_check(f->st), 5);
	l->n = 0;
	assert_int_equal(store_revoked_foreach(f->st, f->ca, rev_collect, l), VA_ERR_STORE);
	store_close(f->st);

	/* A store of the current version without its index does not open (an empty index would list nothing). */
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "revoked", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 1), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_null(store_open(f->dir, STORE_RDONLY, 0, &err));
	assert_int_equal(err, VA_ERR_SCHEMA);
	assert_null(store_open(f->dir, STORE_RDWR, 0, &err));
	assert_int_equal(err, VA_ERR_SCHEMA);
	f->st = store_open(f->dir, STORE_RDWR | STORE_CREATE, 0, &err);
	assert_null(f->st);
	assert_int_equal(err, VA_ERR_SCHEMA);
	free(l);
}

/* Removes the `revoked` database of the store in dir, behind the store's back (the version stays). */
static void raw_drop_index(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "revoked", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 1), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* The repair (vactl reindex): store_open with STORE_REINDEX rebuilds the index from the certificates after each
 * kind of damage store_check finds, and when the index is gone; the result is the index the writes had kept,
 * and nothing else changes. A damaged certificate record refuses the rebuild and leaves the index as it was. */
static void test_revidx_reindex(void **state)
{
	struct fx *f = *state;
	struct store_serial s, neg = { .len = 2, .negative = 1, .mag = { 0x12, 0x34 } };
	struct store_cert_rec r;
	struct store_stats st0, st1;
	char before[1024], after[1024];
	uint64_t seq0, seq1;
	uint8_t *der2, rec5[STORE_CERT_VAL_LEN], rec12[STORE_CERT_VAL_LEN], good[STORE_CERT_VAL_LEN];
	size_t len2;
	uint32_t ca2;
	int err;

	/* Two issuers, serials of several lengths and a negative one, revoked and held. */
	assert_int_equal(tsl_make_ca("Test CA 2", &der2, &len2), 0);
	assert_int_equal(store_issuer_add(f->st, "ca2", der2, len2, &ca2), 0);
	free(der2);
	add_good_range(f, 1, 40);
	for (uint64_t i = 5; i <= 40; i += 7) {
		s = tsl_serial(i);
		assert_int_equal(store_cert_revoke(f->st, f->ca, &s, STORE_REASON_SUPERSEDED, 1700000000, 0), 0);
	}
	s = tsl_serial(2);
	assert_int_equal(store_cert_hold(f->st, f->ca, &s, 1700000100), 0);
	r = tsl_revoked(0, STORE_REASON_KEY_COMPROMISE, 1700000200);
	assert_int_equal(store_cert_add(f->st, f->ca, &neg, &r), 0);
	s = tsl_serial_rand(3, 1);
	assert_int_equal(store_cert_add(f->st, ca2, &s, &r), 0);
	s = tsl_serial(0x4242);
	r = tsl_good(1900000000);
	assert_int_equal(store_cert_add(f->st, ca2, &s, &r), 0);
	idx_keys(f->st, before, sizeof(before));
	assert_int_equal(store_check(f->st), 0);
	assert_int_equal(store_stats_get(f->st, &st0), 0);
	assert_int_equal(store_changes_last(f->st, &seq0), 0);
	r = get_rec(f, 5);
	store_cert_rec_encode(&r, rec5);
	r = get_rec(f, 12);
	store_cert_rec_encode(&r, rec12);
	r = tsl_good(1900000000);
	store_cert_rec_encode(&r, good);
	store_close(f->st);
	f->st = NULL;

	/* Every kind of damage at once: a revoked certificate missing (5), a good one listed (3), one without a
	 * certificate (0x99), one of no issuer (7/01), a record that is not the certificate's (12 holds 5's), one that
	 * does not decode (19). */
	uint8_t k5[6] = { 0, 0, 0, (uint8_t)f->ca, 0x81, 5 }, k3[6] = { 0, 0, 0, (uint8_t)f->ca, 0x81, 3 },
		k99[6] = { 0, 0, 0, (uint8_t)f->ca, 0x81, 0x99 }, kx[6] = { 0, 0, 0, 7, 0x81, 1 },
		k12[6] = { 0, 0, 0, (uint8_t)f->ca, 0x81, 12 }, k19[6] = { 0, 0, 0, (uint8_t)f->ca, 0x81, 19 };
	raw_put(f->dir, "revoked", k5, sizeof(k5), NULL, 0);
	raw_put(f->dir, "revoked", k3, sizeof(k3), good, sizeof(good));
	raw_put(f->dir, "revoked", k99, sizeof(k99), rec5, sizeof(rec5));
	raw_put(f->dir, "revoked", kx, sizeof(kx), rec5, sizeof(rec5));
	raw_put(f->dir, "revoked", k12, sizeof(k12), rec5, sizeof(rec5));
	raw_put(f->dir, "revoked", k19, sizeof(k19), "x", 1);
	f->st = store_open(f->dir, STORE_RDONLY, 0, &err);
	assert_non_null(f->st);
	assert_int_equal(store_check(f->st), 6);
	store_close(f->st);
	/* A rebuild writes: never through a read-only handle. */
	f->st = store_open(f->dir, STORE_RDONLY | STORE_REINDEX, 0, &err);
	assert_null(f->st);
	assert_int_equal(err, VA_ERR_INVAL);

	f->st = store_open(f->dir, STORE_RDWR | STORE_REINDEX, 0, &err);
	assert_non_null(f->st);
	idx_keys(f->st, after, sizeof(after));
	assert_string_equal(after, before);
	assert_int_equal(store_check(f->st), 0); /* also compares every entry with its record, byte for byte */
	expect_same_walks(f->st, f->ca, 8);
	expect_same_walks(f->st, ca2, 1);
	/* Nothing else changed: no status, no change logged. */
	assert_int_equal(store_stats_get(f->st, &st1), 0);
	assert_int_equal(store_changes_last(f->st, &seq1), 0);
	assert_int_equal(seq1, seq0);
	assert_int_equal(st1.certs, st0.certs);
	assert_int_equal(st1.revoked, st0.revoked);
	assert_int_equal(st1.hold, st0.hold);
	store_close(f->st);

	/* A sound index rebuilt is the same index. */
	f->st = store_open(f->dir, STORE_RDWR | STORE_REINDEX, 0, &err);
	assert_non_null(f->st);
	idx_keys(f->st, after, sizeof(after));
	assert_string_equal(after, before);
	store_close(f->st);

	/* The index gone: no other open works (an empty index would list nothing); the rebuild makes it again. */
	raw_drop_index(f->dir);
	assert_null(store_open(f->dir, STORE_RDONLY, 0, &err));
	assert_int_equal(err, VA_ERR_SCHEMA);
	assert_null(store_open(f->dir, STORE_RDWR, 0, &err));
	assert_int_equal(err, VA_ERR_SCHEMA);
	f->st = store_open(f->dir, STORE_RDWR | STORE_REINDEX, 0, &err);
	assert_non_null(f->st);
	assert_int_equal(f->st->has_revidx, 1);
	idx_keys(f->st, after, sizeof(after));
	assert_string_equal(after, before);
	assert_int_equal(store_check(f->st), 0);
	store_close(f->st);

	/* A certificate record that does not decode: no rebuild (the index could lack that certificate), the index
	 * stays as it was, here still without serial 5's entry. */
	raw_put(f->dir, "revoked", k5, sizeof(k5), NULL, 0);
	raw_put(f->dir, "certs", k12, sizeof(k12), "x", 1);
	f->st = store_open(f->dir, STORE_RDWR | STORE_REINDEX, 0, &err);
	assert_null(f->st);
	assert_int_equal(err, VA_ERR_STORE);
	f->st = store_open(f->dir, STORE_RDONLY, 0, &err);
	assert_non_null(f->st);
	idx_keys(f->st, after, sizeof(after));
	assert_null(strstr(after, "1/05"));
	assert_non_null(strstr(after, "1/0C"));
	assert_int_equal(store_check(f->st), 2); /* the record, the missing entry */
	store_close(f->st);
	f->st = NULL;

	/* Record repaired, store taken back to schema 1: STORE_REINDEX upgrades it (the upgrade is the rebuild). */
	raw_put(f->dir, "certs", k12, sizeof(k12), rec12, sizeof(rec12));
	raw_downgrade(f->dir);
	f->st = store_open(f->dir, STORE_RDWR | STORE_REINDEX, 0, &err);
	assert_non_null(f->st);
	idx_keys(f->st, after, sizeof(after));
	assert_string_equal(after, before);
	assert_int_equal(store_check(f->st), 0);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(raw_schema(f->dir), STORE_SCHEMA_VERSION);
}

/* ---- threads ---- */

struct reader_arg {
	store *st;
	uint32_t ca;
	int n;
	int errors;
};

static void *reader_thread(void *p)
{
	struct reader_arg *a = p;

	for (int i = 0; i < a->n; i++) {
		struct store_serial s = tsl_serial((uint64_t)(i % 500) + 1);
		struct store_cert_rec r;
		int rc = store_cert_get(a->st, a->ca, &s, &r);
		if (rc != 0 || (r.status != STORE_GOOD && r.status != STORE_REVOKED))
			a->errors++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct fx *f = *state;
	pthread_t th[4];
	struct reader_arg a[4];
	struct store_cert_rec r;
	struct store_serial s = tsl_serial(1);

	add_good_range(f, 1, 500);
	/* The main thread's cached transaction, left for store_close to free. */
	assert_int_equal(store_cert_get(f->st, f->ca, &s, &r), 0);
	for (int i = 0; i < 4; i++) {
		a[i] = (struct reader_arg){ .st = f->st, .ca = f->ca, .n = 20000 };
		assert_int_equal(pthread_create(&th[i], NULL, reader_thread, &a[i]), 0);
	}
	for (uint64_t i = 1; i <= 500; i += 20) {
		struct store_serial x = tsl_serial(i);
		assert_int_equal(store_cert_revoke(f->st, f->ca, &x, STORE_REASON_SUPERSEDED, 0, 0), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(a[i].errors, 0);
	}
	/* Threads that ran and exited freed their slots; another round on fresh threads still works. */
	for (int i = 0; i < 2; i++) {
		a[i] = (struct reader_arg){ .st = f->st, .ca = f->ca, .n = 1000 };
		assert_int_equal(pthread_create(&th[i], NULL, reader_thread, &a[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(a[i].errors, 0);
	}
	assert_int_equal(store_cert_get(f->st, f->ca, &s, &r), 0);
	assert_int_equal(r.status, STORE_REVOKED);
}

/* Threads that are still alive when the store closes: their slots are freed by store_close. */
struct parked {
	store *st;
	uint32_t ca;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int read_done, may_exit;
};

static void *parked_thread(void *p)
{
	struct parked *k = p;
	struct store_serial s = tsl_serial(1);
	struct store_cert_rec r;

	int rc = store_cert_get(k->st, k->ca, &s, &r);
	pthread_mutex_lock(&k->mu);
	k->read_done = rc == 0 ? 1 : 2;
	pthread_cond_broadcast(&k->cv);
	while (!k->may_exit)
		pthread_cond_wait(&k->cv, &k->mu);
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

static void test_close_with_live_threads(void **state)
{
	struct fx *f = *state;
	struct parked k = { .st = f->st, .ca = f->ca };
	pthread_t th;

	add_good(f, 1);
	pthread_mutex_init(&k.mu, NULL);
	pthread_cond_init(&k.cv, NULL);
	assert_int_equal(pthread_create(&th, NULL, parked_thread, &k), 0);
	pthread_mutex_lock(&k.mu);
	while (!k.read_done)
		pthread_cond_wait(&k.cv, &k.mu);
	pthread_mutex_unlock(&k.mu);
	assert_int_equal(k.read_done, 1);
	store_close(f->st);
	f->st = NULL;
	pthread_mutex_lock(&k.mu);
	k.may_exit = 1;
	pthread_cond_broadcast(&k.cv);
	pthread_mutex_unlock(&k.mu);
	assert_int_equal(pthread_join(th, NULL), 0);
	pthread_mutex_destroy(&k.mu);
	pthread_cond_destroy(&k.cv);
}

static void test_get_no_alloc(void **state)
{
	struct fx *f = *state;
	struct store_cert_rec r;
	int hits = 0, misses = 0;

	add_good_range(f, 1, 100);
	struct store_serial s1 = tsl_serial(1);
	assert_int_equal(store_cert_get(f->st, f->ca, &s1, &r), 0); /* this thread's first read allocates */
#if ALLOC_COUNTING
	allocs = 0;
	counting = 1;
#endif
	for (uint64_t i = 0; i < 10000; i++) {
		struct store_serial s = tsl_serial(i % 200 + 1);
		int rc = store_cert_get(f->st, f->ca, &s, &r);
		hits += rc == 0;
		misses += rc == VA_ERR_NOTFOUND;
	}
#if ALLOC_COUNTING
	counting = 0;
	assert_int_equal(allocs, 0);
#endif
	assert_int_equal(hits, 5000);
	assert_int_equal(misses, 5000);
}

/* Every reader slot taken: the next thread's read is VA_ERR_BUSY, not a crash or a wait. */
#define MANY_READERS (LIM_STORE_READERS + 8)

struct many {
	store *st;
	uint32_t ca;
	pthread_barrier_t *hold;
	int rc;
};

static void *many_reader(void *p)
{
	struct many *m = p;
	struct store_serial s = tsl_serial(1);
	struct store_cert_rec r;

	m->rc = store_cert_get(m->st, m->ca, &s, &r);
	pthread_barrier_wait(m->hold); /* keep the slot until every thread has tried */
	return NULL;
}

static void test_readers_full(void **state)
{
	struct fx *f = *state;
	pthread_t *th = calloc(MANY_READERS, sizeof(*th));
	struct many *m = calloc(MANY_READERS, sizeof(*m));
	pthread_barrier_t hold;
	pthread_attr_t attr;
	int ok = 0, busy = 0, started = 0;

	assert_non_null(th);
	assert_non_null(m);
	add_good(f, 1);
	assert_int_equal(pthread_barrier_init(&hold, NULL, MANY_READERS + 1), 0);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 0; i < MANY_READERS; i++) {
		m[i] = (struct many){ .st = f->st, .ca = f->ca, .hold = &hold };
		assert_int_equal(pthread_create(&th[i], &attr, many_reader, &m[i]), 0);
		started++;
	}
	pthread_barrier_wait(&hold);
	for (int i = 0; i < started; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		ok += m[i].rc == 0;
		busy += m[i].rc == VA_ERR_BUSY;
	}
	assert_int_equal(ok + busy, MANY_READERS);
	assert_true(ok <= LIM_STORE_READERS && ok >= LIM_STORE_READERS - 8);
	assert_true(busy >= 8);
	/* The slots of the exited threads are free again. */
	struct store_serial s = tsl_serial(1);
	struct store_cert_rec r;
	assert_int_equal(store_cert_get(f->st, f->ca, &s, &r), 0);
	pthread_attr_destroy(&attr);
	pthread_barrier_destroy(&hold);
	free(th);
	free(m);
}

/* ---- map growth (one process) ---- */

static void test_map_growth(void **state)
{
	struct fx *f = *state;
	int err;
	store_batch *b;
	struct store_stats stats;
	struct store_cert_rec r;

	/* A fresh store with a 64 KiB map (an existing one keeps the size recorded in it). */
	store_close(f->st);
	strcat(f->dir, "-tiny");
	f->st = store_open(f->dir, STORE_RDWR | STORE_CREATE, 64 * 1024, &err);
	assert_non_null(f->st);
	assert_int_equal(store_stats_get(f->st, &stats), 0);
	assert_int_equal(stats.map_size, 64 * 1024);
	assert_int_equal(store_issuer_add(f->st, "ca1", f->ca_der, f->ca_len, &f->ca), 0);
	/* Single writes grow the map too. */
	for (uint64_t i = 1; i <= 150; i++)
		add_good(f, i);
	assert_int_equal(store_stats_get(f->st, &stats), 0);
	assert_true(stats.map_size > 64 * 1024);
	add_good_range(f, 151, 300);
	b = store_batch_begin(f->st, &err);
	for (int i = 0; i < 30000; i++) {
		struct store_serial s = tsl_serial_rand(3, (uint64_t)i);
		/* One in a hundred revoked: the index grows in the transactions that are replayed after a full map. */
		struct store_cert_rec g = i % 100 == 42 ? tsl_revoked(1900000000, STORE_REASON_SUPERSEDED, 1700000000)
						       : tsl_good(1900000000);
		assert_int_equal(store_batch_put(b, f->ca, &s, &g), 0);
	}
	assert_int_equal(store_batch_end(b, 1), 0);
	uint64_t listed = 0;
	assert_int_equal(store_revoked_foreach(f->st, f->ca, count_revoked, &listed), 0);
	assert_int_equal(listed, 300);
	assert_int_equal(store_stats_get(f->st, &stats), 0);
	assert_int_equal(stats.certs, 30300);
	assert_int_equal(stats.revoked, 300);
	assert_true(stats.map_size >= 4 * 1024 * 1024);
	struct store_serial last = tsl_serial_rand(3, 29999);
	assert_int_equal(store_cert_get(f->st, f->ca, &last, &r), 0);
	assert_int_equal(store_check(f->st), 0);
	uint64_t seq;
	assert_int_equal(store_changes_last(f->st, &seq), 0);
	assert_int_equal(seq, 30301);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serial_der),
		cmocka_unit_test(test_serial_hex),
		cmocka_unit_test(test_serial_bytes),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_serial_random),
		cmocka_unit_test(test_codec_random),
		cmocka_unit_test(test_open_errors),
		T(test_issuer),
		T(test_cert_roundtrip),
		T(test_transitions),
		T(test_batch_transitions),
		T(test_changes),
		T(test_foreach),
		T(test_map_trim),
		T(test_batch_bulk),
		T(test_meta_counters),
		T(test_backup),
		T(test_schema),
		T(test_damaged_values),
		T(test_revidx_transitions),
		T(test_revidx_foreach),
		T(test_revidx_range),
		T(test_stats_counts),
		T(test_revidx_upgrade),
		T(test_revidx_tampered),
		T(test_revidx_reindex),
		T(test_threads),
		T(test_close_with_live_threads),
		T(test_get_no_alloc),
		T(test_readers_full),
		T(test_map_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
