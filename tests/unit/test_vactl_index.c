/* index.txt line parser and writer (vactl/index.c) and the time formats (vactl/vtime.c), driven by tables of
 * good lines, boundaries and hostile lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../vactl/index.h"
#include "../../vactl/vtime.h"

/* 2026-11-23T01:02:03Z */
#define T_2026 1795395723LL

struct good_case {
	const char *line;
	char status;
	int64_t expiry;
	const char *serial;      /* as index_serial_format prints it */
	int64_t revoked_at;
	int reason;
	int has_invalidity;
	int64_t invalidity;
	const char *hold_oid;
	const char *subject;
	int rec_status;          /* enum store_status of index_entry_to_rec */
};

static const struct good_case good_cases[] = {
	{ "V\t261123010203Z\t\t01\tunknown\t/CN=a", 'V', T_2026, "01", 0, 0, 0, 0, "", "/CN=a", STORE_GOOD },
	/* GeneralizedTime expiry, lowercase and odd-length serial, leading zeros. */
	{ "V\t20261123010203Z\t\t0abc\tunknown\t/CN=b", 'V', T_2026, "0ABC", 0, 0, 0, 0, "", "/CN=b", STORE_GOOD },
	{ "E\t500101000000Z\t\t00\tunknown\t/CN=old", 'E', -631152000LL, "00", 0, 0, 0, 0, "", "/CN=old",
	  STORE_GOOD },
	/* UTCTime 49 is 2049, 50 is 1950 (RFC 5280 4.1.2.5.1). */
	{ "V\t491231235959Z\t\t7F\tunknown\t/CN=c", 'V', 2524607999LL, "7F", 0, 0, 0, 0, "", "/CN=c", STORE_GOOD },
	{ "R\t261123010203Z\t261123010203Z\t10\tunknown\t/CN=d", 'R', T_2026, "10", T_2026, STORE_REASON_UNSPECIFIED,
	  0, 0, "", "/CN=d", STORE_REVOKED },
	{ "R\t261123010203Z\t261123010203Z,superseded\t11\tunknown\t/CN=e", 'R', T_2026, "11", T_2026,
	  STORE_REASON_SUPERSEDED, 0, 0, "", "/CN=e", STORE_REVOKED },
	{ "R\t261123010203Z\t261123010203Z,CESSATIONOFOPERATION\t12\tunknown\t/CN=f", 'R', T_2026, "12", T_2026,
	  STORE_REASON_CESSATION, 0, 0, "", "/CN=f", STORE_REVOKED },
	{ "R\t261123010203Z\t261123010203Z,keyTime,20261122000000Z\t13\tunknown\t/CN=g", 'R', T_2026, "13", T_2026,
	  STORE_REASON_KEY_COMPROMISE, 1, T_2026 - 3723 - 86400, "",
	  "/CN=g", STORE_REVOKED },
	{ "R\t261123010203Z\t261123010203Z,CAkeyTime,20261123010203Z\t14\tunknown\t/CN=h", 'R', T_2026, "14",
	  T_2026, STORE_REASON_CA_COMPROMISE, 1, T_2026, "", "/CN=h", STORE_REVOKED },
	{ "R\t261123010203Z\t261123010203Z,keyCompromise,20261123010203Z\t15\tunknown\t/CN=i", 'R', T_2026, "15",
	  T_2026, STORE_REASON_KEY_COMPROMISE, 1, T_2026, "", "/CN=i", STORE_REVOKED },
	{ "R\t261123010203Z\t261123010203Z,holdInstruction,holdInstructionReject\t16\tunknown\t/CN=j", 'R', T_2026,
	  "16", T_2026, STORE_REASON_CERTIFICATE_HOLD, 0, 0, "holdInstructionReject", "/CN=j", STORE_HOLD },
	{ "R\t261123010203Z\t261123010203Z,holdInstruction,1.2.840.10040.2.1\t17\tunknown\t/CN=k", 'R', T_2026,
	  "17", T_2026, STORE_REASON_CERTIFICATE_HOLD, 0, 0, "1.2.840.10040.2.1", "/CN=k", STORE_HOLD },
	{ "R\t261123010203Z\t261123010203Z,certificateHold\t18\tunknown\t/CN=l", 'R', T_2026, "18", T_2026,
	  STORE_REASON_CERTIFICATE_HOLD, 0, 0, "", "/CN=l", STORE_HOLD },
	{ "R\t261123010203Z\t261123010203Z,AACompromise\t19\tunknown\t/CN=m", 'R', T_2026, "19", T_2026,
	  STORE_REASON_AA_COMPROMISE, 0, 0, "", "/CN=m", STORE_REVOKED },
	/* Escaped TAB inside the subject, empty subject, 20-octet serial, longest accepted serial. */
	{ "V\t261123010203Z\t\t01\tunknown\t/CN=a\\\tb", 'V', T_2026, "01", 0, 0, 0, 0, "", "/CN=a\tb",
	  STORE_GOOD },
	{ "V\t261123010203Z\t\t01\tunknown\t", 'V', T_2026, "01", 0, 0, 0, 0, "", "", STORE_GOOD },
	{ "V\t261123010203Z\t\t7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\tunknown\t/CN=n", 'V', T_2026,
	  "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", 0, 0, 0, 0, "", "/CN=n", STORE_GOOD },
	{ "V\t261123010203Z\t\t"
	  "0000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\tunknown\t/CN=o",
	  'V', T_2026, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", 0, 0, 0, 0, "", "/CN=o",
	  STORE_GOOD },
	/* Leap day. */
	{ "V\t20240229000000Z\t\t01\tunknown\t/CN=p", 'V', 1709164800LL, "01", 0, 0, 0, 0, "", "/CN=p", STORE_GOOD },
	{ "V\t261123010203Z\t\t-01\tunknown\t/CN=neg", 'V', T_2026, "-01", 0, 0, 0, 0, "", "/CN=neg", STORE_GOOD },
};

static const struct {
	const char *line;
	const char *why; /* substring of the reason */
} bad_cases[] = {
	{ "V", "too few fields" },
	{ "V\t261123010203Z\t\t01\tunknown", "too few fields" },
	{ "V\t261123010203Z\t\t01\tunknown\t/CN=a\textra", "too many fields" },
	{ "X\t261123010203Z\t\t01\tunknown\t/CN=a", "bad status" },
	{ "VV\t261123010203Z\t\t01\tunknown\t/CN=a", "bad status" },
	{ "\t261123010203Z\t\t01\tunknown\t/CN=a", "bad status" },
	{ "V\t\t\t01\tunknown\t/CN=a", "bad expiry" },
	{ "V\t2611230102Z\t\t01\tunknown\t/CN=a", "bad expiry" },
	{ "V\t261123010203\t\t01\tunknown\t/CN=a", "bad expiry" },
	{ "V\t261123010203+\t\t01\tunknown\t/CN=a", "bad expiry" },
	{ "V\t261323010203Z\t\t01\tunknown\t/CN=a", "bad expiry" },       /* month 13 */
	{ "V\t260230010203Z\t\t01\tunknown\t/CN=a", "bad expiry" },       /* 30 February */
	{ "V\t20230229000000Z\t\t01\tunknown\t/CN=a", "bad expiry" },     /* not a leap year */
	{ "V\t261123240000Z\t\t01\tunknown\t/CN=a", "bad expiry" },       /* hour 24 */
	{ "V\t261123016003Z\t\t01\tunknown\t/CN=a", "bad expiry" },       /* minute 60 */
	{ "V\t261123010260Z\t\t01\tunknown\t/CN=a", "bad expiry" },       /* second 60 */
	{ "V\t26112301020 Z\t\t01\tunknown\t/CN=a", "bad expiry" },
	{ "V\t-61123010203Z\t\t01\tunknown\t/CN=a", "bad expiry" },
	{ "V\t261123010203Z\t261123010203Z\t01\tunknown\t/CN=a", "revocation field set" },
	{ "E\t261123010203Z\t261123010203Z\t01\tunknown\t/CN=a", "revocation field set" },
	{ "R\t261123010203Z\t\t01\tunknown\t/CN=a", "without a revocation date" },
	{ "R\t261123010203Z\tyesterday\t01\tunknown\t/CN=a", "bad revocation date" },
	{ "R\t261123010203Z\t261123010203Z,\t01\tunknown\t/CN=a", "empty revocation reason" },
	{ "R\t261123010203Z\t261123010203Z,stolen\t01\tunknown\t/CN=a", "unknown revocation reason" },
	{ "R\t261123010203Z\t261123010203Z,removeFromCRL\t01\tunknown\t/CN=a", "removeFromCRL" },
	{ "R\t261123010203Z\t261123010203Z,keyTime\t01\tunknown\t/CN=a", "without a compromise time" },
	{ "R\t261123010203Z\t261123010203Z,CAkeyTime\t01\tunknown\t/CN=a", "without a compromise time" },
	{ "R\t261123010203Z\t261123010203Z,keyTime,soon\t01\tunknown\t/CN=a", "bad compromise time" },
	{ "R\t261123010203Z\t261123010203Z,holdInstruction\t01\tunknown\t/CN=a", "without an instruction" },
	{ "R\t261123010203Z\t261123010203Z,holdInstruction,notAnOid\t01\tunknown\t/CN=a", "bad hold instruction" },
	{ "R\t261123010203Z\t261123010203Z,holdInstruction,\t01\tunknown\t/CN=a", "bad hold instruction" },
	{ "R\t261123010203Z\t261123010203Z,superseded,20261123010203Z\t01\tunknown\t/CN=a", "takes no argument" },
	{ "R\t261123010203Z\t261123010203Z,keyTime,20261123010203Z,x\t01\tunknown\t/CN=a", "more than" },
	{ "V\t261123010203Z\t\t\tunknown\t/CN=a", "bad serial" },
	{ "V\t261123010203Z\t\t0x01\tunknown\t/CN=a", "bad serial" },
	{ "V\t261123010203Z\t\t01:02\tunknown\t/CN=a", "bad serial" },
	{ "V\t261123010203Z\t\tG1\tunknown\t/CN=a", "bad serial" },
	{ "V\t261123010203Z\t\t-\tunknown\t/CN=a", "bad serial" },
	{ "V\t261123010203Z\t\t 01\tunknown\t/CN=a", "bad serial" },
	/* 33 octets: one more than LIM_SERIAL_MAX. */
	{ "V\t261123010203Z\t\t"
	  "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\tunknown\t/CN=a",
	  "serial longer" },
	{ "V\t261123010203Z\t\t01\tunknown\t/CN=a\r", "carriage return" },
	{ "V\t261123010203Z\t\t01\tunknown\t/CN=\x01", "control character" },
	{ "V\t261123010203Z\t\t01\tunknown\t/CN=\x7f", "control character" },
	{ "V\t261123010203Z\t\t01\tunk\nown\t/CN=a", "control character" },
	{ "V 261123010203Z  01 unknown /CN=a", "too few fields" },
};

static int parse_str(const char *line, char *buf, size_t buflen, struct index_entry *e, const char **why)
{
	size_t len = strlen(line);

	assert_true(len + 1 <= buflen);
	memcpy(buf, line, len + 1);
	return index_line_parse(buf, len, e, why);
}

static void test_good_lines(void **state)
{
	char buf[INDEX_LINE_MAX + 1], hex[2 * LIM_SERIAL_MAX + 3];
	struct index_entry e;
	struct store_cert_rec rec;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		const struct good_case *c = &good_cases[i];
		int rc = parse_str(c->line, buf, sizeof(buf), &e, &why);

		if (rc != 0)
			fail_msg("good case %zu rejected: %s", i, why);
		assert_int_equal(e.status, c->status);
		assert_int_equal(e.expiry, c->expiry);
		index_serial_format(&e.serial, hex, sizeof(hex));
		assert_string_equal(hex, c->serial);
		assert_int_equal(e.revoked_at, c->revoked_at);
		assert_int_equal(e.reason, c->reason);
		assert_int_equal(e.has_invalidity, c->has_invalidity);
		if (c->has_invalidity)
			assert_int_equal(e.invalidity, c->invalidity);
		assert_string_equal(e.hold_oid, c->hold_oid);
		assert_string_equal(e.subject, c->subject);
		assert_string_equal(e.file, "unknown");
		index_entry_to_rec(&e, &rec);
		assert_int_equal(rec.status, c->rec_status);
		assert_int_equal(rec.not_after, c->expiry);
		if (c->status == 'R') {
			assert_int_equal(rec.revoked_at, c->revoked_at);
			assert_int_equal(rec.reason, c->reason);
			assert_int_equal(rec.has_invalidity, c->has_invalidity);
		}
	}
}

static void test_bad_lines(void **state)
{
	char buf[INDEX_LINE_MAX + 1];
	struct index_entry e;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		int rc = parse_str(bad_cases[i].line, buf, sizeof(buf), &e, &why);

		if (rc >= 0)
			fail_msg("bad case %zu accepted (rc %d): %s", i, rc, bad_cases[i].line);
		if (strstr(why, bad_cases[i].why) == NULL)
			fail_msg("bad case %zu: reason '%s' lacks '%s'", i, why, bad_cases[i].why);
	}
}

static void test_skip_and_limits(void **state)
{
	char *buf;
	struct index_entry e;
	const char *why;
	size_t len = INDEX_LINE_MAX + 1;

	(void)state;
	buf = malloc(len + 1);
	assert_non_null(buf);
	assert_int_equal(index_line_parse(buf, 0, &e, &why), INDEX_LINE_SKIP);
	memcpy(buf, "# comment\tx", 12);
	assert_int_equal(index_line_parse(buf, 11, &e, &why), INDEX_LINE_SKIP);
	/* Embedded NUL within the stated length. */
	memcpy(buf, "V\t261123010203Z\t\t01\tunknown\t/CN=a\0b", 36);
	assert_int_equal(index_line_parse(buf, 35, &e, &why), VA_ERR_INVAL);
	assert_non_null(strstr(why, "NUL"));
	/* One byte over the line limit, and exactly at it (then it fails on content, not length). */
	memset(buf, 'A', len);
	buf[0] = 'V';
	assert_int_equal(index_line_parse(buf, len, &e, &why), VA_ERR_RANGE);
	assert_non_null(strstr(why, "too long"));
	memset(buf, 'A', len);
	assert_int_equal(index_line_parse(buf, INDEX_LINE_MAX, &e, &why), VA_ERR_INVAL);
	assert_non_null(strstr(why, "too few fields"));
	free(buf);
}

/* Every good line written back and parsed again gives the same entry; the writer's form is OpenSSL's. */
static void test_round_trip(void **state)
{
	char buf[INDEX_LINE_MAX + 1], out[INDEX_LINE_MAX + 2], buf2[INDEX_LINE_MAX + 2];
	struct index_entry e, e2;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		assert_int_equal(parse_str(good_cases[i].line, buf, sizeof(buf), &e, &why), 0);
		assert_int_equal(index_line_format(&e, out, sizeof(out)), VA_OK);
		assert_int_equal(out[strlen(out) - 1], '\n');
		memcpy(buf2, out, strlen(out) + 1);
		assert_int_equal(index_line_parse(buf2, strlen(out) - 1, &e2, &why), 0);
		assert_int_equal(e2.status, e.status);
		assert_int_equal(e2.expiry, e.expiry);
		assert_memory_equal(&e2.serial, &e.serial, sizeof(e.serial));
		assert_int_equal(e2.revoked_at, e.revoked_at);
		assert_int_equal(e2.reason, e.reason);
		assert_int_equal(e2.has_invalidity, e.has_invalidity);
		assert_int_equal(e2.invalidity, e.invalidity);
		assert_string_equal(e2.hold_oid, e.hold_oid);
		assert_string_equal(e2.subject, e.subject);
	}
	/* Exact forms. */
	assert_int_equal(parse_str("R\t20261123010203Z\t261123010203Z,keyCompromise,20261123010203Z\t0a\tf\t/CN=x",
				   buf, sizeof(buf), &e, &why), 0);
	assert_int_equal(index_line_format(&e, out, sizeof(out)), VA_OK);
	assert_string_equal(out, "R\t261123010203Z\t261123010203Z,keyTime,20261123010203Z\t0A\tf\t/CN=x\n");
	/* Too small an output buffer is an error, never a truncated line. */
	assert_int_equal(index_line_format(&e, out, 20), VA_ERR_RANGE);
	assert_int_equal(index_line_format(&e, out, strlen("R\t261123010203Z\t261123010203Z,keyTime,"
							   "20261123010203Z\t0A\tf\t/CN=x\n")),
			 VA_ERR_RANGE);
	assert_int_equal(index_line_format(&e, out, strlen("R\t261123010203Z\t261123010203Z,keyTime,"
							   "20261123010203Z\t0A\tf\t/CN=x\n") + 1),
			 VA_OK);
}

static void test_from_rec(void **state)
{
	struct store_serial s;
	struct store_cert_rec rec = { 0 };
	struct index_entry e;
	char out[256];

	(void)state;
	assert_int_equal(index_serial_parse("1F", &s), VA_OK);
	rec.status = STORE_GOOD;
	rec.not_after = T_2026;
	index_entry_from_rec(&s, &rec, T_2026 - 1, &e);
	assert_int_equal(e.status, 'V');
	index_entry_from_rec(&s, &rec, T_2026 + 1, &e);
	assert_int_equal(e.status, 'E');
	rec.status = STORE_HOLD;
	rec.reason = STORE_REASON_CERTIFICATE_HOLD;
	rec.revoked_at = T_2026;
	index_entry_from_rec(&s, &rec, T_2026, &e);
	assert_int_equal(index_line_format(&e, out, sizeof(out)), VA_OK);
	assert_string_equal(out, "R\t261123010203Z\t261123010203Z,certificateHold\t1F\tunknown\t\n");
	rec.status = STORE_REVOKED;
	rec.reason = STORE_REASON_UNSPECIFIED;
	index_entry_from_rec(&s, &rec, T_2026, &e);
	assert_int_equal(index_line_format(&e, out, sizeof(out)), VA_OK);
	assert_string_equal(out, "R\t261123010203Z\t261123010203Z\t1F\tunknown\t\n");
	rec.reason = STORE_REASON_SUPERSEDED;
	rec.has_invalidity = 1;
	rec.invalidity = T_2026 - 60;
	rec.not_after = 2556144000LL; /* 2051-01-01: GeneralizedTime */
	index_entry_from_rec(&s, &rec, T_2026, &e);
	assert_int_equal(index_line_format(&e, out, sizeof(out)), VA_OK);
	/* An invalidity date with a reason other than key/CA compromise has no index.txt form. */
	assert_string_equal(out, "R\t20510101000000Z\t261123010203Z,superseded\t1F\tunknown\t\n");
	rec.reason = STORE_REASON_KEY_COMPROMISE;
	index_entry_from_rec(&s, &rec, T_2026, &e);
	assert_int_equal(index_line_format(&e, out, sizeof(out)), VA_OK);
	assert_string_equal(out, "R\t20510101000000Z\t261123010203Z,keyTime,20261123010103Z\t1F\tunknown\t\n");
}

static void test_serial_and_reason(void **state)
{
	struct store_serial s;
	char hex[2 * LIM_SERIAL_MAX + 3];

	(void)state;
	assert_int_equal(index_serial_parse("000", &s), VA_OK);
	assert_int_equal(s.len, 0);
	index_serial_format(&s, hex, sizeof(hex));
	assert_string_equal(hex, "00");
	assert_int_equal(index_serial_parse("-0", &s), VA_OK);
	assert_int_equal(s.negative, 0);
	assert_int_equal(index_serial_parse("123", &s), VA_OK);
	assert_int_equal(s.len, 2);
	assert_int_equal(s.mag[0], 0x01);
	assert_int_equal(s.mag[1], 0x23);
	assert_int_equal(index_serial_parse("", &s), VA_ERR_INVAL);
	assert_int_equal(index_serial_parse(NULL, &s), VA_ERR_INVAL);
	/* Small output buffers are cut at a whole octet, always NUL-terminated. */
	index_serial_format(&s, hex, 4);
	assert_string_equal(hex, "01");
	for (int r = 0; r <= 10; r++) {
		if (r == 7)
			continue;
		assert_int_equal(store_reason_parse(store_reason_name(r)), r);
	}
	assert_int_equal(store_reason_parse("KEYCOMPROMISE"), STORE_REASON_KEY_COMPROMISE);
	assert_int_equal(store_reason_parse("keyTime"), -1);
	assert_int_equal(store_reason_parse(""), -1);
	assert_int_equal(store_reason_parse(NULL), -1);
	assert_string_equal(store_reason_name(7), "unknown");
}

static void test_vtime(void **state)
{
	static const struct {
		const char *s;
		int ok;
		int64_t t;
	} cli[] = {
		{ "2026-11-23T01:02:03Z", 1, T_2026 },
		{ "2026-11-23 01:02:03Z", 1, T_2026 },
		{ "2026-11-23T01:02:03+00:00", 1, T_2026 },
		{ "20261123010203Z", 1, T_2026 },
		{ "2026-11-23", 1, T_2026 - 3723 },
		{ "1970-01-01T00:00:00Z", 1, 0 },
		{ "1969-12-31T23:59:59Z", 1, -1 },
		{ "2026-11-23T01:02:03", 0, 0 },         /* no zone: refused */
		{ "2026-11-23T01:02:03+01:00", 0, 0 },   /* not UTC */
		{ "2026-11-23T01:02:03.5Z", 0, 0 },
		{ "2026-13-01T00:00:00Z", 0, 0 },
		{ "2026-02-29", 0, 0 },
		{ "2026-11-23T25:00:00Z", 0, 0 },
		{ "2026/11/23", 0, 0 },
		{ "261123010203Z", 0, 0 },               /* two-digit years only inside index.txt */
		{ "now", 0, 0 },
		{ "", 0, 0 },
	};
	char out[VTIME_STR_MAX];
	int64_t t;

	(void)state;
	for (size_t i = 0; i < sizeof(cli) / sizeof(cli[0]); i++) {
		int rc = vtime_parse_cli(cli[i].s, &t);

		if (cli[i].ok && (rc != VA_OK || t != cli[i].t))
			fail_msg("cli time %zu '%s': rc %d t %lld", i, cli[i].s, rc, (long long)t);
		if (!cli[i].ok && rc == VA_OK)
			fail_msg("cli time %zu '%s' accepted", i, cli[i].s);
	}
	assert_int_equal(vtime_format_iso(T_2026, out, sizeof(out)), VA_OK);
	assert_string_equal(out, "2026-11-23T01:02:03Z");
	assert_int_equal(vtime_format_gen(-1, out, sizeof(out)), VA_OK);
	assert_string_equal(out, "19691231235959Z");
	assert_int_equal(vtime_format_index(-631152000LL, out, sizeof(out)), VA_OK);
	assert_string_equal(out, "500101000000Z");
	assert_int_equal(vtime_format_index(-631152001LL, out, sizeof(out)), VA_OK);
	assert_string_equal(out, "19491231235959Z");
	assert_int_equal(vtime_format_gen(T_2026, out, 15), VA_ERR_INVAL);
	assert_int_equal(vtime_format_gen(INT64_C(1) << 40, out, sizeof(out)), VA_ERR_RANGE);
	assert_int_equal(vtime_parse_asn1(NULL, 13, &t), VA_ERR_INVAL);
	assert_int_equal(vtime_parse_asn1("261123010203Z", 12, &t), VA_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_lines),    cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_skip_and_limits), cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_from_rec),      cmocka_unit_test(test_serial_and_reason),
		cmocka_unit_test(test_vtime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
