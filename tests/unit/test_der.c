/*
 * test_der.c: the DER codec (common/der.c) on its own: header vectors (minimal lengths, indefinite lengths, high
 * tag numbers, truncations, lengths at the 4-octet limit), content checks (INTEGER, BOOLEAN, OID, Time), the
 * fixed-buffer writers against the reader, and the checked writer's growth, bounds and sticky errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "der.h"
#include "store.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- reader: headers ---- */

static const struct {
	const char *name;
	uint8_t in[12];
	size_t len;
	int rc;       /* of der_hdr_parse */
	size_t clen;  /* content length when rc == 0 */
	size_t hdr;
} hdr_vectors[] = {
	{ "short form", { 0x30, 0x00 }, 2, 0, 0, 2 },
	{ "short form 127", { 0x04, 0x7f }, 2, 0, 0x7f, 2 },
	{ "long form 128", { 0x04, 0x81, 0x80 }, 3, 0, 0x80, 3 },
	{ "long form 255", { 0x04, 0x81, 0xff }, 3, 0, 0xff, 3 },
	{ "long form 256", { 0x04, 0x82, 0x01, 0x00 }, 4, 0, 0x100, 4 },
	{ "four length octets", { 0x30, 0x84, 0x01, 0x00, 0x00, 0x00 }, 6, 0, 0x1000000, 6 },
	{ "largest length", { 0x30, 0x84, 0xff, 0xff, 0xff, 0xff }, 6, 0, 0xffffffffu, 6 },
	{ "non-minimal: long form for 127", { 0x04, 0x81, 0x7f }, 3, VA_ERR_INVAL, 0, 0 },
	{ "non-minimal: long form for 0", { 0x04, 0x81, 0x00 }, 3, VA_ERR_INVAL, 0, 0 },
	{ "non-minimal: leading zero octet", { 0x04, 0x82, 0x00, 0x80 }, 4, VA_ERR_INVAL, 0, 0 },
	{ "non-minimal: 0x82 for 255", { 0x04, 0x82, 0x00, 0xff }, 4, VA_ERR_INVAL, 0, 0 },
	{ "non-minimal: 4 octets for 1", { 0x30, 0x84, 0x00, 0x00, 0x00, 0x01 }, 6, VA_ERR_INVAL, 0, 0 },
	{ "indefinite length", { 0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00 }, 7, VA_ERR_INVAL, 0, 0 },
	{ "five length octets", { 0x30, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00 }, 7, VA_ERR_INVAL, 0, 0 },
	{ "eight length octets", { 0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 10, VA_ERR_INVAL, 0,
	  0 },
	{ "reserved 0xff length", { 0x30, 0xff }, 2, VA_ERR_INVAL, 0, 0 },
	{ "high tag number, universal", { 0x1f, 0x20, 0x00 }, 3, VA_ERR_INVAL, 0, 0 },
	{ "high tag number, [31] constructed", { 0xbf, 0x1f, 0x00 }, 3, VA_ERR_INVAL, 0, 0 },
	{ "high tag number for a low one", { 0x9f, 0x00, 0x00 }, 3, VA_ERR_INVAL, 0, 0 },
	{ "tag 30 is still low", { 0x1e, 0x00 }, 2, 0, 0, 2 },
	{ "empty", { 0 }, 0, DER_NEED_MORE, 0, 0 },
	{ "tag only", { 0x30 }, 1, DER_NEED_MORE, 0, 0 },
	{ "inside the length octets", { 0x30, 0x82, 0x01 }, 3, DER_NEED_MORE, 0, 0 },
	{ "inside four length octets", { 0x30, 0x84, 0xff, 0xff, 0xff }, 5, DER_NEED_MORE, 0, 0 },
};

static void test_hdr_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(hdr_vectors); i++) {
		uint8_t tag = 0;
		size_t len = 0, hdr = 0;

		print_message("%s\n", hdr_vectors[i].name);
		assert_int_equal(der_hdr_parse(hdr_vectors[i].in, hdr_vectors[i].len, &tag, &len, &hdr),
				 hdr_vectors[i].rc);
		if (hdr_vectors[i].rc == 0) {
			assert_int_equal(tag, hdr_vectors[i].in[0]);
			assert_int_equal(len, hdr_vectors[i].clen);
			assert_int_equal(hdr, hdr_vectors[i].hdr);
		}
	}
}

/* der_next on a whole buffer: the header rules above, and the content must fit in what is left. */
static void test_next_bounds(void **state)
{
	static const uint8_t past[] = { 0x04, 0x05, 1, 2, 3, 4 };
	static const uint8_t huge[] = { 0x04, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00 };
	static const uint8_t huge2[] = { 0x04, 0x84, 0x7f, 0xff, 0xff, 0xfa, 0x00 };
	static const uint8_t two[] = { 0x02, 0x01, 0x05, 0x05, 0x00 };
	struct der_cur cur;
	struct der_tlv t;

	(void)state;
	der_init(&cur, past, sizeof(past));
	assert_int_equal(der_next(&cur, &t), VA_ERR_INVAL);
	/* the cursor did not move */
	assert_ptr_equal(cur.p, past);
	assert_int_equal(cur.len, sizeof(past));
	der_init(&cur, past, sizeof(past) - 1);
	assert_int_equal(der_next(&cur, &t), VA_ERR_INVAL);
	/* lengths at the 4-octet limit, with nearly nothing behind them */
	der_init(&cur, huge, sizeof(huge));
	assert_int_equal(der_next(&cur, &t), VA_ERR_INVAL);
	der_init(&cur, huge2, sizeof(huge2));
	assert_int_equal(der_next(&cur, &t), VA_ERR_INVAL);
	/* empty cursor */
	der_init(&cur, NULL, 0);
	assert_int_equal(der_next(&cur, &t), VA_ERR_INVAL);
	assert_int_equal(der_peek(&cur), -1);
	assert_int_equal(der_expect(&cur, DER_NULL, &t), VA_ERR_INVAL);

	/* two TLVs in a row; expect with the wrong tag leaves the cursor */
	der_init(&cur, two, sizeof(two));
	assert_int_equal(der_peek(&cur), DER_INTEGER);
	assert_int_equal(der_expect(&cur, DER_NULL, &t), VA_ERR_INVAL);
	assert_int_equal(cur.len, sizeof(two));
	assert_int_equal(der_expect(&cur, DER_INTEGER, &t), 0);
	assert_int_equal(t.tag, DER_INTEGER);
	assert_ptr_equal(t.raw, two);
	assert_int_equal(t.raw_len, 3);
	assert_ptr_equal(t.c, two + 2);
	assert_int_equal(t.len, 1);
	assert_int_equal(der_expect(&cur, DER_NULL, &t), 0);
	assert_int_equal(t.len, 0);
	assert_int_equal(cur.len, 0);
}

/* A nested value: every truncation fails somewhere on the walk, none reads past its end (ASan). */
static int walk(const uint8_t *p, size_t len, int depth)
{
	struct der_cur cur;
	struct der_tlv t;

	der_init(&cur, p, len);
	while (cur.len > 0) {
		if (der_next(&cur, &t) != 0)
			return VA_ERR_INVAL;
		if ((t.tag & 0x20) && depth < 8 && walk(t.c, t.len, depth + 1) != 0)
			return VA_ERR_INVAL;
	}
	return 0;
}

static void test_truncations(void **state)
{
	/* SEQUENCE { INTEGER 1, SEQUENCE { OID, NULL }, OCTET STRING (200 octets) } */
	uint8_t buf[300];
	size_t n = 0;

	(void)state;
	buf[n++] = DER_SEQUENCE;
	buf[n++] = 0x81;
	buf[n++] = 3 + 2 + 11 + 2 + 3 + 200;
	buf[n++] = DER_INTEGER;
	buf[n++] = 1;
	buf[n++] = 1;
	buf[n++] = DER_SEQUENCE;
	buf[n++] = 11;
	memcpy(buf + n, "\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01", 11);
	n += 11;
	buf[n++] = DER_NULL;
	buf[n++] = 0;
	buf[n++] = DER_OCTET_STRING;
	buf[n++] = 0x81;
	buf[n++] = 200;
	memset(buf + n, 0xab, 200);
	n += 200;
	assert_int_equal(walk(buf, n, 0), 0);
	for (size_t cut = 0; cut < n; cut++) {
		uint8_t *copy = malloc(cut > 0 ? cut : 1);

		assert_non_null(copy);
		memcpy(copy, buf, cut);
		assert_int_equal(walk(copy, cut, 0), cut == 0 ? 0 : VA_ERR_INVAL);
		free(copy);
	}
}

/* ---- reader: contents ---- */

static struct der_tlv content(uint8_t tag, const void *c, size_t len)
{
	struct der_tlv t = { .tag = tag, .raw = c, .raw_len = len, .c = c, .len = len };

	return t;
}

static void test_integers(void **state)
{
	static const struct {
		uint8_t c[10];
		size_t len;
		int check;  /* der_int_check */
		int urc;    /* der_uint_parse */
		uint64_t v;
	} v[] = {
		{ { 0 }, 0, VA_ERR_INVAL, VA_ERR_INVAL, 0 },
		{ { 0x00 }, 1, 0, 0, 0 },
		{ { 0x7f }, 1, 0, 0, 0x7f },
		{ { 0x00, 0x80 }, 2, 0, 0, 0x80 },
		{ { 0x00, 0x7f }, 2, VA_ERR_INVAL, VA_ERR_INVAL, 0 }, /* X.690 8.3.2: nine zero bits */
		{ { 0x00, 0x00 }, 2, VA_ERR_INVAL, VA_ERR_INVAL, 0 },
		{ { 0x80 }, 1, 0, VA_ERR_INVAL, 0 },                  /* -128: fine, but negative */
		{ { 0xff }, 1, 0, VA_ERR_INVAL, 0 },
		{ { 0xff, 0x7f }, 2, 0, VA_ERR_INVAL, 0 },
		{ { 0xff, 0x80 }, 2, VA_ERR_INVAL, VA_ERR_INVAL, 0 }, /* nine one bits */
		{ { 0x01, 0x00 }, 2, 0, 0, 0x100 },
		{ { 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 8, 0, 0, 0x7fffffffffffffffULL },
		{ { 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 9, 0, 0, UINT64_MAX },
		{ { 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, 9, 0, VA_ERR_RANGE, 0 },
	};

	(void)state;
	for (size_t i = 0; i < N(v); i++) {
		struct der_tlv t = content(DER_INTEGER, v[i].c, v[i].len);
		uint64_t u = 12345;

		print_message("integer %zu\n", i);
		assert_int_equal(der_int_check(&t), v[i].check);
		assert_int_equal(der_uint_parse(&t, &u), v[i].urc);
		if (v[i].urc == 0)
			assert_true(u == v[i].v);
	}
}

static void test_bool_oid(void **state)
{
	static const uint8_t f[] = { 0x00 }, tr[] = { 0xff }, one[] = { 0x01 }, two[] = { 0xff, 0xff };
	static const uint8_t sha256[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };
	static const struct {
		uint8_t c[6];
		size_t len;
		int rc;
	} oids[] = {
		{ { 0x2a }, 1, 0 },                    /* 1.2 */
		{ { 0x2a, 0x03 }, 2, 0 },
		{ { 0x2a, 0x86, 0x80, 0x01 }, 4, 0 },  /* a zero group inside a subidentifier is fine */
		{ { 0 }, 0, VA_ERR_INVAL },            /* no subidentifier */
		{ { 0x80, 0x01 }, 2, VA_ERR_INVAL },   /* leading zero group in the first one */
		{ { 0x2a, 0x80, 0x01 }, 3, VA_ERR_INVAL },
		{ { 0x2a, 0x86 }, 2, VA_ERR_INVAL },   /* last subidentifier unfinished */
		{ { 0x2a, 0x03, 0xff }, 3, VA_ERR_INVAL },
	};
	struct der_tlv t;
	int b = -1;

	(void)state;
	t = content(DER_BOOLEAN, f, 1);
	assert_int_equal(der_bool_parse(&t, &b), 0);
	assert_int_equal(b, 0);
	t = content(DER_BOOLEAN, tr, 1);
	assert_int_equal(der_bool_parse(&t, &b), 0);
	assert_int_equal(b, 1);
	/* X.690 11.1: TRUE is all ones in DER */
	t = content(DER_BOOLEAN, one, 1);
	assert_int_equal(der_bool_parse(&t, &b), VA_ERR_INVAL);
	t = content(DER_BOOLEAN, two, 2);
	assert_int_equal(der_bool_parse(&t, &b), VA_ERR_INVAL);
	t = content(DER_BOOLEAN, two, 0);
	assert_int_equal(der_bool_parse(&t, &b), VA_ERR_INVAL);

	t = content(DER_OID, sha256, sizeof(sha256));
	assert_int_equal(der_oid_check(&t), 0);
	assert_true(der_oid_eq(&t, sha256, sizeof(sha256)));
	assert_false(der_oid_eq(&t, sha256, sizeof(sha256) - 1));
	for (size_t i = 0; i < N(oids); i++) {
		t = content(DER_OID, oids[i].c, oids[i].len);
		print_message("oid %zu\n", i);
		assert_int_equal(der_oid_check(&t), oids[i].rc);
	}
}

static void test_ext_next(void **state)
{
	static const struct {
		const char *name;
		uint8_t in[24];
		size_t len;
		int rc;
		int has_crit;
	} v[] = {
		{ "no critical", { 0x30, 0x07, 0x06, 0x01, 0x2a, 0x04, 0x02, 0x05, 0x00 }, 9, 0, 0 },
		{ "critical TRUE", { 0x30, 0x0a, 0x06, 0x01, 0x2a, 0x01, 0x01, 0xff, 0x04, 0x02, 0x05, 0x00 }, 12, 0, 1 },
		/* the BOOLEAN's value is the caller's to judge */
		{ "critical 0x01", { 0x30, 0x0a, 0x06, 0x01, 0x2a, 0x01, 0x01, 0x01, 0x04, 0x02, 0x05, 0x00 }, 12, 0, 1 },
		{ "empty extnValue", { 0x30, 0x05, 0x06, 0x01, 0x2a, 0x04, 0x00 }, 7, 0, 0 },
		{ "no extnValue", { 0x30, 0x03, 0x06, 0x01, 0x2a }, 5, VA_ERR_INVAL, 0 },
		{ "no extnID", { 0x30, 0x04, 0x04, 0x02, 0x05, 0x00 }, 6, VA_ERR_INVAL, 0 },
		{ "extnValue not an OCTET STRING", { 0x30, 0x05, 0x06, 0x01, 0x2a, 0x05, 0x00 }, 7, VA_ERR_INVAL, 0 },
		{ "trailing element", { 0x30, 0x09, 0x06, 0x01, 0x2a, 0x04, 0x02, 0x05, 0x00, 0x05, 0x00 }, 11,
		  VA_ERR_INVAL, 0 },
		{ "a SET", { 0x31, 0x07, 0x06, 0x01, 0x2a, 0x04, 0x02, 0x05, 0x00 }, 9, VA_ERR_INVAL, 0 },
		{ "critical after extnValue", { 0x30, 0x0a, 0x06, 0x01, 0x2a, 0x04, 0x02, 0x05, 0x00, 0x01, 0x01, 0xff },
		  12, VA_ERR_INVAL, 0 },
		{ "truncated", { 0x30, 0x07, 0x06, 0x01, 0x2a, 0x04, 0x02, 0x05 }, 8, VA_ERR_INVAL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < N(v); i++) {
		struct der_cur cur;
		struct der_tlv oid, crit, val;

		print_message("%s\n", v[i].name);
		der_init(&cur, v[i].in, v[i].len);
		assert_int_equal(der_ext_next(&cur, &oid, &crit, &val), v[i].rc);
		if (v[i].rc != 0)
			continue;
		assert_int_equal(cur.len, 0);
		assert_int_equal(oid.len, 1);
		assert_int_equal(oid.c[0], 0x2a);
		assert_int_equal(crit.raw != NULL, v[i].has_crit);
		if (v[i].has_crit)
			assert_int_equal(crit.tag, DER_BOOLEAN);
		assert_int_equal(val.tag, DER_OCTET_STRING);
	}
}

static void test_time_parse(void **state)
{
	static const struct {
		uint8_t tag;
		const char *s;
		int rc;
		int64_t t;
	} v[] = {
		{ DER_UTCTIME, "700101000000Z", 0, 0 },
		{ DER_UTCTIME, "491231235959Z", 0, 2524607999 },
		{ DER_UTCTIME, "500101000000Z", 0, -631152000 },
		{ DER_GENTIME, "20500101000000Z", 0, 2524608000 },
		{ DER_GENTIME, "20000229120000Z", 0, 951825600 },
		{ DER_GENTIME, "19000229120000Z", VA_ERR_INVAL, 0 }, /* 1900 is not a leap year */
		{ DER_GENTIME, "20230229120000Z", VA_ERR_INVAL, 0 },
		{ DER_GENTIME, "20231301000000Z", VA_ERR_INVAL, 0 },
		{ DER_GENTIME, "20230101240000Z", VA_ERR_INVAL, 0 },
		{ DER_GENTIME, "20230101000060Z", VA_ERR_INVAL, 0 }, /* no leap seconds in RFC 5280 times */
		{ DER_GENTIME, "20230101000000.5Z", VA_ERR_INVAL, 0 },
		{ DER_GENTIME, "20230101000000+0100", VA_ERR_INVAL, 0 },
		{ DER_GENTIME, "2023010100000Z", VA_ERR_INVAL, 0 },
		{ DER_UTCTIME, "2301010000Z", VA_ERR_INVAL, 0 },
		{ DER_UTCTIME, "23010100000 Z", VA_ERR_INVAL, 0 },
		{ DER_OCTET_STRING, "700101000000Z", VA_ERR_INVAL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < N(v); i++) {
		struct der_tlv t = content(v[i].tag, v[i].s, strlen(v[i].s));
		int64_t got = -1;

		print_message("time %s\n", v[i].s);
		assert_int_equal(der_time_parse(&t, &got), v[i].rc);
		if (v[i].rc == 0)
			assert_true(got == v[i].t);
	}
}

/* ---- fixed-buffer writers ---- */

static void test_lengths(void **state)
{
	static const size_t lens[] = { 0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffff, 0x1000000,
				       0xffffffffu };
	uint8_t out[16];

	(void)state;
	assert_int_equal(der_len_size(0x7f), 1);
	assert_int_equal(der_len_size(0x80), 2);
	assert_int_equal(der_len_size(0xffffffffu), 5);
	assert_int_equal(der_len_size(SIZE_MAX), 1 + sizeof(size_t));
	assert_int_equal(der_tlv_size(0), 2);
	assert_int_equal(der_tlv_size(0x80), 0x83);
	for (size_t i = 0; i < N(lens); i++) {
		uint8_t tag = 0;
		size_t len = 0, hdr = 0, n = der_put_hdr(out, DER_OCTET_STRING, lens[i]);

		assert_true(n <= DER_HDR_MAX);
		assert_int_equal(n, 1 + der_len_size(lens[i]));
		assert_int_equal(der_tlv_size(lens[i]), n + lens[i]);
		/* the reader takes back exactly what the writer wrote */
		assert_int_equal(der_hdr_parse(out, n, &tag, &len, &hdr), 0);
		assert_int_equal(tag, DER_OCTET_STRING);
		assert_int_equal(len, lens[i]);
		assert_int_equal(hdr, n);
	}
}

static void test_put_uint(void **state)
{
	static const struct {
		uint64_t v;
		uint8_t der[12];
		size_t len;
	} v[] = {
		{ 0, { 0x02, 0x01, 0x00 }, 3 },
		{ 1, { 0x02, 0x01, 0x01 }, 3 },
		{ 0x7f, { 0x02, 0x01, 0x7f }, 3 },
		{ 0x80, { 0x02, 0x02, 0x00, 0x80 }, 4 },
		{ 0x100, { 0x02, 0x02, 0x01, 0x00 }, 4 },
		{ UINT64_MAX, { 0x02, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 11 },
	};
	uint8_t out[DER_UINT_MAX];

	(void)state;
	for (size_t i = 0; i < N(v); i++) {
		struct der_cur cur;
		struct der_tlv t;
		uint64_t back = 0;
		size_t n = der_put_uint(out, DER_INTEGER, v[i].v);

		assert_int_equal(n, v[i].len);
		assert_memory_equal(out, v[i].der, n);
		der_init(&cur, out, n);
		assert_int_equal(der_expect(&cur, DER_INTEGER, &t), 0);
		assert_int_equal(der_uint_parse(&t, &back), 0);
		assert_true(back == v[i].v);
	}
	/* an IMPLICIT tag instead of INTEGER */
	assert_int_equal(der_put_uint(out, DER_CTX_PRIM(0), 500), 4);
	assert_int_equal(out[0], 0x80);
}

/* Serials of every length and sign: minimal INTEGERs that the store reads back to the same value. */
static void test_put_serial(void **state)
{
	uint8_t out[DER_SERIAL_MAX];
	unsigned seed = 7;

	(void)state;
	for (size_t len = 0; len <= LIM_SERIAL_MAX; len++) {
		for (int round = 0; round < 50; round++) {
			struct store_serial s, back;
			struct der_cur cur;
			struct der_tlv t;
			size_t n;

			memset(&s, 0, sizeof(s));
			s.len = (uint8_t)len;
			for (size_t i = 0; i < len; i++) {
				seed = seed * 1103515245 + 12345;
				s.mag[i] = (uint8_t)(seed >> 16);
			}
			if (len > 0 && s.mag[0] == 0)
				s.mag[0] = (uint8_t)(1 + round); /* the store's form has no leading zero */
			if (round == 1 && len > 0)
				s.mag[0] = 0x80; /* the sign bit set: a zero octet in front when positive */
			s.negative = (uint8_t)(len > 0 && round % 2 == 1);
			n = der_put_serial(out, &s);
			assert_true(n >= 3 && n <= DER_SERIAL_MAX);
			der_init(&cur, out, n);
			assert_int_equal(der_expect(&cur, DER_INTEGER, &t), 0);
			assert_int_equal(cur.len, 0);
			assert_int_equal(der_int_check(&t), 0);
			assert_int_equal(store_serial_from_der(&back, t.c, t.len), 0);
			assert_int_equal(back.len, s.len);
			assert_int_equal(back.negative, s.negative);
			assert_memory_equal(back.mag, s.mag, s.len);
		}
	}
	{
		struct store_serial bad;

		memset(&bad, 0, sizeof(bad));
		bad.len = LIM_SERIAL_MAX + 1;
		assert_int_equal(der_put_serial(out, &bad), 0);
	}
}

static void test_put_time(void **state)
{
	static const int64_t edges[] = { -62167219200LL, -2208988800LL, -631152001, -631152000, 0, 951782400,
					 951868799, 2524607999, 2524608000, 253402300799LL };
	uint8_t out[DER_TIME_MAX];
	unsigned seed = 11;

	(void)state;
	assert_int_equal(der_put_time(out, -62167219201LL, 1), 0);
	assert_int_equal(der_put_time(out, 253402300800LL, 0), 0);
	assert_int_equal(der_put_time(out, -631152001, 0), DER_TIME_MAX); /* 1949: GeneralizedTime */
	assert_memory_equal(out + 2, "19491231235959Z", 15);
	assert_int_equal(der_put_time(out, -62167219200LL, 1), DER_TIME_MAX);
	assert_memory_equal(out + 2, "00000101000000Z", 15);
	assert_int_equal(der_put_time(out, 253402300799LL, 1), DER_TIME_MAX);
	assert_memory_equal(out + 2, "99991231235959Z", 15);
	for (size_t i = 0; i < N(edges) + 2000; i++) {
		int64_t t, back = 0;
		struct der_cur cur;
		struct der_tlv tlv;

		if (i < N(edges)) {
			t = edges[i];
		} else {
			seed = seed * 1103515245 + 12345;
			t = -62167219200LL + (int64_t)((uint64_t)seed * 1000003ULL % 315537897600ULL);
		}
		for (int gen = 0; gen < 2; gen++) {
			size_t n = der_put_time(out, t, gen);

			assert_true(n == 15 || n == 17);
			der_init(&cur, out, n);
			assert_int_equal(der_next(&cur, &tlv), 0);
			assert_int_equal(tlv.tag, gen || n == 17 ? DER_GENTIME : DER_UTCTIME);
			assert_int_equal(der_time_parse(&tlv, &back), 0);
			assert_true(back == t);
		}
	}
}

/* ---- checked writer ---- */

/* Nested values of growing size through a heap writer: the buffer grows and the reader takes it all back. */
static void test_w_growth(void **state)
{
	struct der_w w;
	uint8_t *out = NULL, chunk[1000];
	size_t len = 0, m[5];
	struct der_cur cur, in;
	struct der_tlv t;

	(void)state;
	memset(chunk, 0x5a, sizeof(chunk));
	der_w_init(&w);
	m[0] = der_w_begin(&w);
	for (int lvl = 1; lvl < 5; lvl++) {
		m[lvl] = der_w_begin(&w);
		for (int i = 0; i < 40; i++)
			der_w_tlv(&w, DER_OCTET_STRING, chunk, (size_t)(lvl * 97 + i));
	}
	for (int lvl = 4; lvl >= 1; lvl--)
		der_w_end(&w, DER_SEQUENCE, m[lvl]);
	der_w_uint(&w, DER_INTEGER, 0x1234);
	der_w_gentime(&w, 1700000000);
	der_w_end(&w, DER_SET, m[0]);
	assert_int_equal(w.err, 0);
	assert_true(w.cap >= w.len);
	assert_int_equal(der_w_take(&w, &out, &len), 0);
	assert_null(w.buf);

	der_init(&cur, out, len);
	assert_int_equal(der_expect(&cur, DER_SET, &t), 0);
	assert_int_equal(cur.len, 0);
	der_enter(&t, &in);
	for (int lvl = 1; lvl < 5; lvl++) {
		struct der_cur c2;

		assert_int_equal(der_expect(&in, DER_SEQUENCE, &t), 0);
		der_init(&c2, t.c, t.len);
		for (int i = 0; i < 40; i++) {
			assert_int_equal(der_expect(&c2, DER_OCTET_STRING, &t), 0);
			assert_int_equal(t.len, (size_t)(lvl * 97 + i));
		}
		/* lvl's SEQUENCE holds the deeper ones after its own strings */
		if (lvl < 4) {
			assert_int_equal(der_peek(&c2), DER_SEQUENCE);
			in = c2;
		}
	}
	free(out);
}

static void test_w_sticky(void **state)
{
	struct der_w w;
	uint8_t sentinel = 0, *out = &sentinel;
	size_t len = 99, before;
	static const uint8_t b[4] = { 1, 2, 3, 4 };

	(void)state;
	/* a length no buffer can take: refused before any allocation, and every later call does nothing */
	der_w_init(&w);
	der_w_raw(&w, b, sizeof(b));
	before = w.len;
	der_w_raw(&w, b, SIZE_MAX - 2);
	assert_int_equal(w.err, VA_ERR_RANGE);
	der_w_raw(&w, b, sizeof(b));
	der_w_tlv(&w, DER_NULL, NULL, 0);
	der_w_uint(&w, DER_INTEGER, 5);
	der_w_end(&w, DER_SEQUENCE, 0);
	assert_int_equal(w.len, before);
	assert_int_equal(w.err, VA_ERR_RANGE);
	assert_int_equal(der_w_take(&w, &out, &len), VA_ERR_RANGE);
	assert_null(w.buf); /* freed on the error path */
	assert_ptr_equal(out, &sentinel); /* nothing handed out */
	assert_int_equal(len, 99);

	/* the first error wins */
	der_w_init(&w);
	der_w_end(&w, DER_SEQUENCE, 5); /* mark past the end */
	assert_int_equal(w.err, VA_ERR_RANGE);
	der_w_gentime(&w, 253402300800LL);
	assert_int_equal(w.err, VA_ERR_RANGE);
	der_w_free(&w);

	/* a time out of range, then a header over DER_LEN_MAX */
	der_w_init(&w);
	der_w_gentime(&w, -62167219201LL);
	assert_int_equal(w.err, VA_ERR_RANGE);
	der_w_free(&w);
	der_w_free(NULL);
#if SIZE_MAX > 0xffffffffULL
	der_w_init(&w);
	der_w_hdr(&w, DER_OCTET_STRING, (size_t)DER_LEN_MAX + 1);
	assert_int_equal(w.err, VA_ERR_RANGE);
	assert_int_equal(w.len, 0);
	der_w_free(&w);
#endif
}

static void test_w_fixed(void **state)
{
	uint8_t buf[64];
	struct der_w w;
	size_t m;
	uint8_t *out = NULL;
	size_t len = 0;

	(void)state;
	/* exactly full: SEQUENCE { OCTET STRING of 10 } is 14 octets */
	memset(buf, 0xee, sizeof(buf));
	der_w_init_fixed(&w, buf, 14);
	m = der_w_begin(&w);
	der_w_tlv(&w, DER_OCTET_STRING, "0123456789", 10);
	der_w_end(&w, DER_SEQUENCE, m);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.len, 14);
	assert_memory_equal(buf, "\x30\x0c\x04\x0a" "0123456789", 14);
	assert_int_equal(buf[14], 0xee);
	/* a fixed writer hands nothing out and frees nothing */
	assert_int_equal(der_w_take(&w, &out, &len), VA_ERR_INVAL);
	assert_null(out);

	/* one octet short: VA_ERR_RANGE, and nothing written past the end */
	for (size_t cap = 0; cap < 14; cap++) {
		memset(buf, 0xee, sizeof(buf));
		der_w_init_fixed(&w, buf, cap);
		m = der_w_begin(&w);
		der_w_tlv(&w, DER_OCTET_STRING, "0123456789", 10);
		der_w_end(&w, DER_SEQUENCE, m);
		assert_int_equal(w.err, VA_ERR_RANGE);
		assert_true(w.len <= cap);
		for (size_t i = cap; i < sizeof(buf); i++)
			assert_int_equal(buf[i], 0xee);
		der_w_free(&w);
	}
	/* forward writing with the length computed first */
	der_w_init_fixed(&w, buf, der_tlv_size(der_tlv_size(3)));
	der_w_hdr(&w, DER_SEQUENCE, der_tlv_size(3));
	der_w_uint(&w, DER_INTEGER, 0x8000);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.len, 7);
	assert_memory_equal(buf, "\x30\x05\x02\x03\x00\x80\x00", 7);
	der_w_init_fixed(&w, NULL, 10);
	assert_int_equal(w.err, VA_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_vectors), cmocka_unit_test(test_next_bounds),
		cmocka_unit_test(test_truncations), cmocka_unit_test(test_integers),
		cmocka_unit_test(test_bool_oid),    cmocka_unit_test(test_ext_next),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_lengths),     cmocka_unit_test(test_put_uint),
		cmocka_unit_test(test_put_serial),  cmocka_unit_test(test_put_time),
		cmocka_unit_test(test_w_growth),    cmocka_unit_test(test_w_sticky),
		cmocka_unit_test(test_w_fixed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
