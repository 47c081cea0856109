/*
 * test_crl_build: the streaming CRL encoder, the DER walker and atomic publication, checked against OpenSSL's own
 * CRL parser and signature verification (d2i_X509_CRL, X509_CRL_verify) on small CRLs.
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

#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../crlgen/crl.h"
#include "der.h"

/* ---------- fixtures: a CA key and certificate made here ---------- */

struct ca {
	EVP_PKEY *key;
	X509 *cert;
	uint8_t *name;
	size_t name_len;
	struct crl_sign_ops ops;
};

static int pkey_sign(void *arg, const uint8_t *dgst, size_t dlen, uint8_t *sig, size_t *siglen)
{
	EVP_PKEY *key = arg;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
	size_t len = CRL_SIG_MAX;
	int rc = VA_ERR_CRYPTO;

	if (c != NULL && EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 &&
	    EVP_PKEY_sign(c, sig, &len, dgst, dlen) == 1) {
		*siglen = len;
		rc = 0;
	}
	EVP_PKEY_CTX_free(c);
	return rc;
}

static int failing_sign(void *arg, const uint8_t *dgst, size_t dlen, uint8_t *sig, size_t *siglen)
{
	return VA_ERR_SIGNER_DOWN;
}

/* Returns a short signature of garbage: only the structure is checked with it. */
static int short_sign(void *arg, const uint8_t *dgst, size_t dlen, uint8_t *sig, size_t *siglen)
{
	memset(sig, 0x5a, 10);
	*siglen = 10;
	return 0;
}

static void ca_make(struct ca *ca, int ec)
{
	static const uint8_t rsa_alg[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
					   0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00 };
	static const uint8_t ec_alg[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
	X509_NAME *nm;
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	memset(ca, 0, sizeof(*ca));
	ca->key = ec ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
	assert_non_null(ca->key);
	ca->cert = X509_new();
	assert_non_null(ca->cert);
	X509_set_version(ca->cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(ca->cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(ca->cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(ca->cert), 86400L * 365);
	nm = X509_get_subject_name(ca->cert);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"Test CA", -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC, (const unsigned char *)"VA tests", -1, -1, 0);
	X509_set_issuer_name(ca->cert, nm);
	X509_set_pubkey(ca->cert, ca->key);
	X509V3_set_ctx(&v3, ca->cert, ca->cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_key_identifier, "hash");
	X509_add_ext(ca->cert, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(ca->cert, ca->key, EVP_sha256()) > 0);
	int n = i2d_X509_NAME(nm, &ca->name);
	assert_true(n > 0);
	ca->name_len = (size_t)n;
	ca->ops.md = EVP_sha256();
	memcpy(ca->ops.alg, ec ? ec_alg : rsa_alg, ec ? sizeof(ec_alg) : sizeof(rsa_alg));
	ca->ops.alg_len = ec ? sizeof(ec_alg) : sizeof(rsa_alg);
	ca->ops.max_sig = (size_t)EVP_PKEY_get_size(ca->key);
	ca->ops.sign = pkey_sign;
	ca->ops.arg = ca->key;
}

static void ca_free(struct ca *ca)
{
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	OPENSSL_free(ca->name);
}

/* ---------- an array source ---------- */

struct arr {
	const struct crl_entry *e;
	size_t n;
	int calls;
	int mutate_second; /* change an entry on the second call (a store changing between the passes) */
	int fail_second;
};

static int arr_source(void *arg, crl_emit_fn emit, void *ctx)
{
	struct arr *a = arg;
	int rc;

	a->calls++;
	if (a->fail_second && a->calls == 2)
		return VA_ERR_STORE;
	for (size_t i = 0; i < a->n; i++) {
		struct crl_entry e = a->e[i];
		if (a->mutate_second && a->calls == 2 && i == 0)
			e.reason = 1;
		if ((rc = emit(ctx, &e)) != 0)
			return rc;
	}
	return 0;
}

/* Local hex parser (the store's own is tested with the store). */
static void hex_serial(struct store_serial *s, const char *hex)
{
	size_t n = strlen(hex) / 2, off = 0;

	memset(s, 0, sizeof(*s));
	assert_true(n <= LIM_SERIAL_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		if (off == 0 && s->len == 0 && v == 0)
			continue; /* canonical: no leading zero octets */
		s->mag[s->len++] = (uint8_t)v;
		off = 1;
	}
}

static struct crl_entry mk(const char *hex, int64_t when, int reason, int64_t inval)
{
	struct crl_entry e;

	memset(&e, 0, sizeof(e));
	hex_serial(&e.serial, hex);
	e.revoked_at = when;
	e.reason = reason;
	e.invalidity = inval;
	return e;
}

static FILE *tmpf(void)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	return f;
}

/* Reads the file back into OpenSSL's CRL object (fine for small CRLs). */
static X509_CRL *load_crl(int fd)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	uint8_t *buf = malloc((size_t)st.st_size);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	const unsigned char *p = buf;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, st.st_size);
	if (crl != NULL)
		assert_ptr_equal(p, buf + st.st_size);
	free(buf);
	return crl;
}

static const struct crl_params *params(struct ca *ca, uint64_t number)
{
	static struct crl_params p;
	static uint8_t akid[20];
	unsigned int alen = 20;

	memset(&p, 0, sizeof(p));
	assert_int_equal(X509_pubkey_digest(ca->cert, EVP_sha1(), akid, &alen), 1);
	p.issuer_name = ca->name;
	p.issuer_name_len = ca->name_len;
	p.akid = akid;
	p.akid_len = alen;
	p.this_update = 1700000000;
	p.next_update = 1700000000 + 7 * 86400;
	p.number = number;
	return &p;
}

/* ---------- DER helper tables ---------- */

static void test_der_serial_table(void **state)
{
	static const struct {
		const char *hex;
		int negative;
		uint8_t der[8];
		size_t len;
	} v[] = {
		{ "00", 0, { 0x02, 0x01, 0x00 }, 3 },
		{ "01", 0, { 0x02, 0x01, 0x01 }, 3 },
		{ "7f", 0, { 0x02, 0x01, 0x7f }, 3 },
		{ "80", 0, { 0x02, 0x02, 0x00, 0x80 }, 4 },
		{ "0100", 0, { 0x02, 0x02, 0x01, 0x00 }, 4 },
		{ "ffff", 0, { 0x02, 0x03, 0x00, 0xff, 0xff }, 5 },
		{ "01", 1, { 0x02, 0x01, 0xff }, 3 },
		{ "80", 1, { 0x02, 0x01, 0x80 }, 3 },
		{ "81", 1, { 0x02, 0x02, 0xff, 0x7f }, 4 },
		{ "0100", 1, { 0x02, 0x02, 0xff, 0x00 }, 4 },
		{ "8000", 1, { 0x02, 0x02, 0x80, 0x00 }, 4 },
	};
	uint8_t out[DER_SERIAL_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct store_serial s;
		hex_serial(&s, v[i].hex);
		s.negative = (uint8_t)v[i].negative;
		size_t n = der_put_serial(out, &s);
		assert_int_equal(n, v[i].len);
		assert_memory_equal(out, v[i].der, n);
		/* OpenSSL reads back the same value. */
		const unsigned char *p = out;
		ASN1_INTEGER *ai = d2i_ASN1_INTEGER(NULL, &p, (long)n);
		assert_non_null(ai);
		BIGNUM *bn = ASN1_INTEGER_to_BN(ai, NULL);
		char *hx = BN_bn2hex(bn);
		char want[16];
		snprintf(want, sizeof(want), "%s%s", v[i].negative ? "-" : "", v[i].hex);
		BIGNUM *wb = NULL;
		BN_hex2bn(&wb, want);
		assert_int_equal(BN_cmp(bn, wb), 0);
		BN_free(wb);
		OPENSSL_free(hx);
		BN_free(bn);
		ASN1_INTEGER_free(ai);
	}
}

static void test_der_time_and_lengths(void **state)
{
	uint8_t out[DER_TIME_MAX + 1];
	struct der_tlv c;
	int64_t t;
	uint8_t tag;
	size_t len, hdr;

	(void)state;
	/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
	assert_int_equal(der_put_time(out, 2524607999, 0), 15); /* 2049-12-31 23:59:59 */
	assert_int_equal(out[0], DER_UTCTIME);
	assert_memory_equal(out + 2, "491231235959Z", 13);
	assert_int_equal(der_put_time(out, 2524608000, 0), 17); /* 2050-01-01 */
	assert_int_equal(out[0], DER_GENTIME);
	assert_memory_equal(out + 2, "20500101000000Z", 15);
	assert_int_equal(der_put_time(out, 0, 1), 17);
	assert_memory_equal(out + 2, "19700101000000Z", 15);
	assert_int_equal(der_put_time(out, 253402300800LL, 0), 0); /* year 10000 */
	c.tag = DER_GENTIME;
	c.c = out + 2;
	c.len = 15;
	assert_int_equal(der_time_parse(&c, &t), 0);
	assert_int_equal(t, 0);
	c.len = 14;
	assert_int_equal(der_time_parse(&c, &t), VA_ERR_INVAL);
	static const uint8_t bad_month[] = "491331235959Z";
	c.tag = DER_UTCTIME;
	c.c = bad_month;
	c.len = 13;
	assert_int_equal(der_time_parse(&c, &t), VA_ERR_INVAL);

	/* Header parsing: minimal definite lengths only. */
	static const uint8_t h1[] = { 0x30, 0x81, 0x80 }, h2[] = { 0x30, 0x81, 0x7f }, h3[] = { 0x30, 0x80 },
			     h4[] = { 0x30, 0x85, 1, 2, 3, 4, 5 }, h5[] = { 0x30, 0x82, 0x00, 0x80 },
			     h6[] = { 0x1f, 0x01 }, h7[] = { 0x30, 0x82, 0x01 };
	assert_int_equal(der_hdr_parse(h1, sizeof(h1), &tag, &len, &hdr), 0);
	assert_int_equal(len, 0x80);
	assert_int_equal(hdr, 3);
	assert_int_equal(der_hdr_parse(h2, sizeof(h2), &tag, &len, &hdr), VA_ERR_INVAL);
	assert_int_equal(der_hdr_parse(h3, sizeof(h3), &tag, &len, &hdr), VA_ERR_INVAL);
	assert_int_equal(der_hdr_parse(h4, sizeof(h4), &tag, &len, &hdr), VA_ERR_INVAL);
	assert_int_equal(der_hdr_parse(h5, sizeof(h5), &tag, &len, &hdr), VA_ERR_INVAL);
	assert_int_equal(der_hdr_parse(h6, sizeof(h6), &tag, &len, &hdr), VA_ERR_INVAL);
	assert_int_equal(der_hdr_parse(h7, sizeof(h7), &tag, &len, &hdr), 1);
	uint8_t big[DER_HDR_MAX];
	assert_int_equal(der_put_hdr(big, DER_SEQUENCE, 3170000), 5);
	assert_int_equal(der_hdr_parse(big, 5, &tag, &len, &hdr), 0);
	assert_int_equal(len, 3170000);
	/* der_expect refuses content running past the cursor. */
	static const uint8_t over[] = { 0x04, 0x05, 1, 2 };
	struct der_cur cur;
	der_init(&cur, over, sizeof(over));
	assert_int_equal(der_expect(&cur, DER_OCTET_STRING, &c), VA_ERR_INVAL);
	static const uint8_t nonmin[] = { 0x00, 0x01 }, neg[] = { 0xff };
	uint64_t u;
	c.c = nonmin;
	c.len = 2;
	assert_int_equal(der_uint_parse(&c, &u), VA_ERR_INVAL);
	c.c = neg;
	c.len = 1;
	assert_int_equal(der_uint_parse(&c, &u), VA_ERR_INVAL);
}

/* ---------- full CRLs ---------- */

static void check_full(int ec)
{
	struct ca ca;
	struct crl_entry ents[] = {
		mk("01", 1690000000, -1, 0),                 /* unspecified: no reasonCode */
		mk("02", 1690000100, STORE_REASON_KEY_COMPROMISE, 1689990000),
		mk("03", 1690000200, STORE_REASON_CA_COMPROMISE, 0),
		mk("04", 1690000300, STORE_REASON_AFFILIATION_CHANGED, 0),
		mk("05", 1690000400, STORE_REASON_SUPERSEDED, 0),
		mk("06", 1690000500, STORE_REASON_CESSATION, 0),
		mk("07", 1690000600, STORE_REASON_CERTIFICATE_HOLD, 0),
		mk("09", 1690000700, STORE_REASON_PRIVILEGE_WITHDRAWN, 0),
		mk("0a", 1690000800, STORE_REASON_AA_COMPROMISE, 0),
		mk("00ff112233445566778899aabbccddeeff0011", 2600000000, STORE_REASON_KEY_COMPROMISE, 2599000000),
	};
	struct arr a = { .e = ents, .n = sizeof(ents) / sizeof(ents[0]) };
	struct crl_result res;
	struct crl_info info;

	ca_make(&ca, ec);
	FILE *f = tmpf();
	int fd = fileno(f);
	assert_int_equal(crl_build(params(&ca, 42), arr_source, &a, &ca.ops, fd, &res), 0);
	assert_int_equal(a.calls, 2);
	assert_int_equal(res.entries, a.n);

	assert_int_equal(crl_verify_fd(fd, ca.key, ca.name, ca.name_len, &info), 0);
	assert_int_equal(info.entries, a.n);
	assert_int_equal(info.number, 42);
	assert_false(info.is_delta);
	assert_int_equal(info.this_update, 1700000000);
	assert_int_equal(info.next_update, 1700000000 + 7 * 86400);
	assert_int_equal(info.file_len, res.file_len);

	X509_CRL *crl = load_crl(fd);
	assert_non_null(crl);
	assert_int_equal(X509_CRL_verify(crl, ca.key), 1);
	assert_int_equal(X509_CRL_get_version(crl), 1);
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
	assert_int_equal(sk_X509_REVOKED_num(rev), (int)a.n);
	for (int i = 0; i < (int)a.n; i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(rev, i);
		int crit = 0;
		ASN1_ENUMERATED *reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL);
		if (ents[i].reason < 0) {
			assert_null(reason);
		} else {
			assert_non_null(reason);
			assert_int_equal(ASN1_ENUMERATED_get(reason), ents[i].reason);
		}
		ASN1_ENUMERATED_free(reason);
		time_t when;
		const ASN1_TIME *rt = X509_REVOKED_get0_revocationDate(r);
		struct tm tm;
		assert_int_equal(ASN1_TIME_to_tm(rt, &tm), 1);
		when = timegm(&tm);
		assert_int_equal(when, ents[i].revoked_at);
		ASN1_GENERALIZEDTIME *inv = X509_REVOKED_get_ext_d2i(r, NID_invalidity_date, &crit, NULL);
		assert_int_equal(inv != NULL, ents[i].invalidity != 0);
		ASN1_GENERALIZEDTIME_free(inv);
	}
	ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	assert_non_null(num);
	assert_int_equal(ASN1_INTEGER_get(num), 42);
	ASN1_INTEGER_free(num);
	AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
	assert_non_null(akid);
	AUTHORITY_KEYID_free(akid);
	X509_CRL_free(crl);
	fclose(f);
	ca_free(&ca);
}

static void test_full_rsa(void **state)
{
	(void)state;
	check_full(0);
}

static void test_full_ec(void **state)
{
	(void)state;
	check_full(1);
}

static void test_delta_idp_freshest(void **state)
{
	struct ca ca;
	struct crl_entry ents[] = { mk("10", 1690000000, STORE_REASON_REMOVE_FROM_CRL, 0),
				    mk("11", 1690000000, STORE_REASON_CERTIFICATE_HOLD, 0) };
	struct arr a = { .e = ents, .n = 2 };
	struct crl_params p;
	struct crl_info info;

	(void)state;
	ca_make(&ca, 1);
	p = *params(&ca, 7);
	p.is_delta = 1;
	p.base_number = 5;
	p.idp_uri = "http://crl.example/ca1.crl";
	p.freshest_uri = "http://crl.example/ca1-delta.crl"; /* must be left out of a delta */
	FILE *f = tmpf();
	assert_int_equal(crl_build(&p, arr_source, &a, &ca.ops, fileno(f), NULL), 0);
	assert_int_equal(crl_verify_fd(fileno(f), ca.key, ca.name, ca.name_len, &info), 0);
	assert_true(info.is_delta);
	assert_int_equal(info.base_number, 5);
	assert_int_equal(info.number, 7);
	X509_CRL *crl = load_crl(fileno(f));
	assert_non_null(crl);
	assert_int_equal(X509_CRL_verify(crl, ca.key), 1);
	int crit = 0;
	ASN1_INTEGER *base = X509_CRL_get_ext_d2i(crl, NID_delta_crl, &crit, NULL);
	assert_non_null(base);
	assert_int_equal(crit, 1);
	assert_int_equal(ASN1_INTEGER_get(base), 5);
	ASN1_INTEGER_free(base);
	ISSUING_DIST_POINT *idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit, NULL);
	assert_non_null(idp);
	assert_int_equal(crit, 1);
	ISSUING_DIST_POINT_free(idp);
	assert_int_equal(X509_CRL_get_ext_by_NID(crl, NID_freshest_crl, -1), -1);
	X509_CRL_free(crl);
	fclose(f);

	/* The full CRL of the same scope carries freshestCRL. */
	p.is_delta = 0;
	f = tmpf();
	assert_int_equal(crl_build(&p, arr_source, &a, &ca.ops, fileno(f), NULL), 0);
	crl = load_crl(fileno(f));
	assert_non_null(crl);
	STACK_OF(DIST_POINT) *fr = X509_CRL_get_ext_d2i(crl, NID_freshest_crl, &crit, NULL);
	assert_non_null(fr);
	assert_int_equal(crit, 0);
	assert_int_equal(sk_DIST_POINT_num(fr), 1);
	sk_DIST_POINT_pop_free(fr, DIST_POINT_free);
	X509_CRL_free(crl);
	fclose(f);
	ca_free(&ca);
}

static void test_empty_and_short_header(void **state)
{
	struct ca ca;
	struct arr a = { .e = NULL, .n = 0 };
	struct crl_info info;
	struct crl_result res;
	struct crl_sign_ops ops;

	(void)state;
	ca_make(&ca, 0);
	/* No entries: revokedCertificates is left out, not encoded empty (RFC 5280 5.1.2.6). */
	FILE *f = tmpf();
	assert_int_equal(crl_build(params(&ca, 1), arr_source, &a, &ca.ops, fileno(f), NULL), 0);
	assert_int_equal(crl_verify_fd(fileno(f), ca.key, NULL, 0, &info), 0);
	assert_int_equal(info.entries, 0);
	X509_CRL *crl = load_crl(fileno(f));
	assert_non_null(crl);
	assert_null(X509_CRL_get_REVOKED(crl));
	X509_CRL_free(crl);
	fclose(f);

	/* A signature shorter than the room reserved for it, across a length-of-length boundary: the body is moved
	 * down and the file is still exact DER. */
	ops = ca.ops;
	ops.sign = short_sign;
	ops.max_sig = 300;
	f = tmpf();
	assert_int_equal(crl_build(params(&ca, 1), arr_source, &a, &ops, fileno(f), &res), 0);
	assert_int_equal(crl_verify_fd(fileno(f), NULL, ca.name, ca.name_len, &info), 0);
	assert_int_equal(info.file_len, res.file_len);
	assert_true(res.file_len < 256 + 3);
	crl = load_crl(fileno(f));
	assert_non_null(crl);
	assert_int_not_equal(X509_CRL_verify(crl, ca.key), 1);
	X509_CRL_free(crl);
	/* ... and the real signature check refuses it. */
	assert_int_equal(crl_verify_fd(fileno(f), ca.key, ca.name, ca.name_len, &info), VA_ERR_CRYPTO);
	fclose(f);
	ca_free(&ca);
}

static void test_build_failures(void **state)
{
	struct ca ca;
	struct crl_entry ents[] = { mk("01", 1690000000, STORE_REASON_SUPERSEDED, 0),
				    mk("02", 1690000000, -1, 0) };
	struct arr a = { .e = ents, .n = 2 };
	struct crl_sign_ops ops;
	struct crl_params p;

	(void)state;
	ca_make(&ca, 0);
	FILE *f = tmpf();
	a.mutate_second = 1;
	assert_int_equal(crl_build(params(&ca, 1), arr_source, &a, &ca.ops, fileno(f), NULL), VA_ERR_CONFLICT);
	a.mutate_second = 0;
	a.fail_second = 1;
	a.calls = 0;
	assert_int_equal(crl_build(params(&ca, 1), arr_source, &a, &ca.ops, fileno(f), NULL), VA_ERR_STORE);
	a.fail_second = 0;
	ops = ca.ops;
	ops.sign = failing_sign;
	assert_int_equal(crl_build(params(&ca, 1), arr_source, &a, &ops, fileno(f), NULL), VA_ERR_SIGNER_DOWN);
	ops.max_sig = CRL_SIG_MAX + 1;
	assert_int_equal(crl_build(params(&ca, 1), arr_source, &a, &ops, fileno(f), NULL), VA_ERR_INVAL);
	p = *params(&ca, 1);
	p.next_update = 253402300800LL;
	assert_int_equal(crl_build(&p, arr_source, &a, &ca.ops, fileno(f), NULL), VA_ERR_RANGE);
	struct crl_entry far = mk("03", 253402300800LL, -1, 0);
	struct arr b = { .e = &far, .n = 1 };
	assert_int_equal(crl_build(params(&ca, 1), arr_source, &b, &ca.ops, fileno(f), NULL), VA_ERR_RANGE);
	/* A read-only descriptor: the write fails with VA_ERR_IO. */
	FILE *ro = fopen("/dev/null", "r");
	assert_non_null(ro);
	assert_int_equal(crl_build(params(&ca, 1), arr_source, &a, &ca.ops, fileno(ro), NULL), VA_ERR_IO);
	fclose(ro);
	fclose(f);
	ca_free(&ca);
}

/* Every single-octet corruption of a small signed CRL is refused by the walker or by the signature. */
static void test_verify_rejects_corruption(void **state)
{
	struct ca ca;
	struct crl_entry ents[] = { mk("01", 1690000000, STORE_REASON_SUPERSEDED, 1680000000),
				    mk("02", 1690000000, -1, 0) };
	struct arr a = { .e = ents, .n = 2 };
	struct crl_result res;
	struct crl_info info;

	(void)state;
	ca_make(&ca, 1);
	FILE *f = tmpf();
	int fd = fileno(f);
	assert_int_equal(crl_build(params(&ca, 3), arr_source, &a, &ca.ops, fd, &res), 0);
	uint8_t *orig = malloc(res.file_len);
	assert_non_null(orig);
	assert_int_equal(pread(fd, orig, res.file_len, 0), (ssize_t)res.file_len);
	for (size_t i = 0; i < res.file_len; i++) {
		uint8_t b = orig[i] ^ 0x01;
		assert_int_equal(pwrite(fd, &b, 1, (off_t)i), 1);
		assert_int_not_equal(crl_verify_fd(fd, ca.key, ca.name, ca.name_len, &info), 0);
		assert_int_equal(pwrite(fd, orig + i, 1, (off_t)i), 1);
	}
	assert_int_equal(crl_verify_fd(fd, ca.key, ca.name, ca.name_len, &info), 0);
	/* Truncations and trailing garbage. */
	for (size_t cut = 0; cut < res.file_len; cut += 7) {
		assert_int_equal(ftruncate(fd, (off_t)cut), 0);
		assert_int_not_equal(crl_verify_fd(fd, NULL, NULL, 0, &info), 0);
	}
	assert_int_equal(pwrite(fd, orig, res.file_len, 0), (ssize_t)res.file_len);
	assert_int_equal(pwrite(fd, "\0", 1, (off_t)res.file_len), 1);
	assert_int_not_equal(crl_verify_fd(fd, NULL, NULL, 0, &info), 0);
	/* Another issuer name. */
	assert_int_equal(ftruncate(fd, (off_t)res.file_len), 0);
	assert_int_equal(crl_verify_fd(fd, NULL, ca.name, ca.name_len - 1, &info), VA_ERR_INVAL);
	free(orig);
	fclose(f);
	ca_free(&ca);
}

/* A revoked entry's serial in more octets than needed (X.690 8.3.2) is refused by the walker alone: the same
 * CRL with the serial's first octet patched to another non-zero value still walks. */
static void test_verify_rejects_long_serial(void **state)
{
	static const uint8_t ser[] = { DER_INTEGER, 3, 0x5a, 0x5a, 0x5a };
	struct ca ca;
	struct crl_entry ents[] = { mk("5a5a5a", 1690000000, -1, 0) };
	struct arr a = { .e = ents, .n = 1 };
	struct crl_result res;
	struct crl_info info;

	(void)state;
	ca_make(&ca, 1);
	FILE *f = tmpf();
	int fd = fileno(f);
	assert_int_equal(crl_build(params(&ca, 1), arr_source, &a, &ca.ops, fd, &res), 0);
	uint8_t *buf = malloc(res.file_len);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, res.file_len, 0), (ssize_t)res.file_len);
	uint8_t *at = memmem(buf, res.file_len, ser, sizeof(ser));
	assert_non_null(at);
	off_t first = (off_t)(at + 2 - buf);
	uint8_t b = 0x01;
	assert_int_equal(pwrite(fd, &b, 1, first), 1);
	assert_int_equal(crl_verify_fd(fd, NULL, ca.name, ca.name_len, &info), 0);
	b = 0x00;
	assert_int_equal(pwrite(fd, &b, 1, first), 1);
	assert_int_equal(crl_verify_fd(fd, NULL, ca.name, ca.name_len, &info), VA_ERR_INVAL);
	free(buf);
	fclose(f);
	ca_free(&ca);
}

static void test_publish_atomic(void **state)
{
	char dir[512], tmp[4096], path[4200];
	const char *td = getenv("TMPDIR");
	struct stat st;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/crltest.%s", td != NULL && *td ? td : P_tmpdir, "XX" "XX" "XX");
	assert_non_null(mkdtemp(dir));
	int fd = crl_tmp_open(dir, "x.crl", tmp, sizeof(tmp));
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "one", 3), 3);
	assert_int_equal(crl_tmp_commit(dir, "x.crl", tmp, fd), 0);
	snprintf(path, sizeof(path), "%s/x.crl", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 3);
	assert_int_equal(st.st_mode & 0777, 0644);
	snprintf(path, sizeof(path), "%s/x.crl.prev", dir);
	assert_int_not_equal(stat(path, &st), 0);

	fd = crl_tmp_open(dir, "x.crl", tmp, sizeof(tmp));
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "second", 6), 6);
	assert_int_equal(crl_tmp_commit(dir, "x.crl", tmp, fd), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 3); /* the previous one kept */

	/* An aborted publication leaves nothing behind and the current file as it was. */
	fd = crl_tmp_open(dir, "x.crl", tmp, sizeof(tmp));
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "broken", 6), 6);
	crl_tmp_abort(tmp, fd);
	assert_int_not_equal(stat(tmp, &st), 0);
	snprintf(path, sizeof(path), "%s/x.crl", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 6);
	/* A directory that does not exist. */
	assert_true(crl_tmp_open("/nonexistent-dir-crl", "x.crl", tmp, sizeof(tmp)) < 0);

	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_der_serial_table),
		cmocka_unit_test(test_der_time_and_lengths),
		cmocka_unit_test(test_full_rsa),
		cmocka_unit_test(test_full_ec),
		cmocka_unit_test(test_delta_idp_freshest),
		cmocka_unit_test(test_empty_and_short_header),
		cmocka_unit_test(test_build_failures),
		cmocka_unit_test(test_verify_rejects_corruption),
		cmocka_unit_test(test_verify_rejects_long_serial),
		cmocka_unit_test(test_publish_atomic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
