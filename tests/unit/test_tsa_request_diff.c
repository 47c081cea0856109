/*
 * test_tsa_request_diff.c: tsa_request_parse (a DER walk) against the decoder it replaced: d2i_TS_REQ followed
 * by the checks of the former request.c, kept below as the oracle. Same input, same answer: accepted or not,
 * the same failInfo, text and metric, and for accepted requests the same fields (imprint, policy, nonce,
 * certReq, digest).
 *
 * Corpus: the vectors of test_tsa_request_vectors.h, requests made by OpenSSL's encoder (what `openssl ts
 * -query` sends: every hash, nonce, certReq, policy), the hand-made seeds of tests/integration/tsa_fuzz.sh,
 * every TLV of valid requests rewritten in each BER form DER forbids, and a few thousand random single-octet
 * replacements, bit flips, insertions and deletions of valid requests (fixed seed: the run is reproducible).
 *
 * Documented exceptions, the only differences allowed (each counted, and each must occur):
 *  1. Not DER. d2i_TS_REQ decodes BER: indefinite lengths, length octets that are not the fewest, high-tag-
 *     number identifiers (also for low tag numbers), constructed encodings of OCTET STRING. We refuse them as
 *     badDataFormat (RFC 3161 2.4.1 says the request is DER; a non-DER request has no single encoding for the
 *     TSTInfo to copy). The oracle either accepted such a request or refused it later on a value. Checked by
 *     an independent BER walker (ber_flags) that must find one of these forms in the input.
 *     Also not BER: extensions [0] with the primitive bit (0x80). X.690 8.14.4 keeps an implicitly tagged
 *     SEQUENCE OF constructed; OpenSSL's template decoder does not look at that bit for an IMPLICIT SEQUENCE OF
 *     and decodes the content anyway. We refuse it (badDataFormat). Checked by primitive_extensions().
 *  2. Parameters of the hash algorithm that are neither absent nor NULL are badAlg here whatever they hold;
 *     d2i_TS_REQ decoded them by their universal type first and refused some (an INTEGER not minimal, a BOOLEAN
 *     of two octets, a constructed NULL...) as badDataFormat. Both refuse the request.
 * Where d2i_TS_REQ was laxer than DER in ways clients use (certReq or critical as an explicit FALSE, a BOOLEAN
 * TRUE other than 0xFF, an empty extension list), we accept as it did: no exception is needed for them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include "der.h"
#include "va_limits.h"
#include "../../tsa/request.h"
#include "test_tsa_request_vectors.h"
#include "test_tsa_util.h"

#define POLICY2 "1.3.6.1.4.1.55555.1.2"
#define BUF_MAX 4096

/* ---- the oracle: the former tsa_request_parse, on OpenSSL's decoder ---- */

static int oracle_reject(struct tsa_reject *rej, int failure, const char *text, const char *metric)
{
	tsa_reject_set(rej, failure, text, metric);
	return VA_ERR_INVAL;
}

static int oracle_imprint(const struct tsa_accept *a, TS_MSG_IMPRINT *mi, struct tsa_request *out,
			  struct tsa_reject *rej)
{
	X509_ALGOR *alg = TS_MSG_IMPRINT_get_algo(mi);
	ASN1_OCTET_STRING *msg = TS_MSG_IMPRINT_get_msg(mi);
	const ASN1_OBJECT *obj = NULL;
	const void *pval = NULL;
	const EVP_MD *md;
	unsigned char *p = out->imprint_der;
	int ptype = V_ASN1_UNDEF, nid, n, ok = 0;

	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	nid = OBJ_obj2nid(obj);
	for (size_t i = 0; i < a->ndigests; i++)
		ok |= a->digest_nids[i] == nid;
	if (nid == NID_undef || !ok)
		return oracle_reject(rej, TSA_FAIL_BAD_ALG, "imprint hash algorithm not accepted", "bad_alg");
	if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL)
		return oracle_reject(rej, TSA_FAIL_BAD_ALG, "imprint hash algorithm has parameters", "bad_alg");
	md = EVP_get_digestbynid(nid);
	if (md == NULL || ASN1_STRING_length(msg) != EVP_MD_get_size(md))
		return oracle_reject(rej, TSA_FAIL_BAD_ALG, "hashedMessage length does not match its algorithm",
				     "bad_alg");
	n = i2d_TS_MSG_IMPRINT(mi, NULL);
	if (n <= 0 || (size_t)n > sizeof(out->imprint_der))
		return oracle_reject(rej, TSA_FAIL_BAD_DATA_FORMAT, "messageImprint too large", "bad_format");
	assert_int_equal(i2d_TS_MSG_IMPRINT(mi, &p), n);
	out->imprint_len = (size_t)n;
	out->digest_nid = nid;
	return 0;
}

static int oracle_policy(const struct tsa_accept *a, const ASN1_OBJECT *pol, struct tsa_request *out,
			 struct tsa_reject *rej)
{
	uint8_t buf[256];
	unsigned char *p = buf;
	int n;

	out->policy_der = a->policy_der;
	out->policy_len = a->policy_len;
	if (pol == NULL)
		return 0;
	n = i2d_ASN1_OBJECT(pol, NULL);
	if (n <= 0 || n > TSA_OID_DER_MAX)
		return oracle_reject(rej, TSA_FAIL_UNACCEPTED_POLICY, "requested policy not supported", "bad_policy");
	assert_int_equal(i2d_ASN1_OBJECT(pol, &p), n);
	if ((size_t)n == a->policy_len && memcmp(buf, a->policy_der, (size_t)n) == 0)
		return 0;
	for (size_t i = 0; i < a->naccepted; i++) {
		if ((size_t)n == a->accepted_len[i] && memcmp(buf, a->accepted_der[i], (size_t)n) == 0) {
			out->policy_der = a->accepted_der[i];
			out->policy_len = a->accepted_len[i];
			return 0;
		}
	}
	return oracle_reject(rej, TSA_FAIL_UNACCEPTED_POLICY, "requested policy not supported", "bad_policy");
}

static int oracle_nonce(const ASN1_INTEGER *nonce, struct tsa_request *out, struct tsa_reject *rej)
{
	unsigned char *p = out->nonce_der;
	int n;

	if (nonce == NULL)
		return 0;
	if (ASN1_STRING_length(nonce) < 1 || ASN1_STRING_length(nonce) > TSA_NONCE_MAX)
		return oracle_reject(rej, TSA_FAIL_BAD_REQUEST, "nonce too long", "bad_request");
	n = i2d_ASN1_INTEGER(nonce, NULL);
	if (n <= 0 || (size_t)n > sizeof(out->nonce_der))
		return oracle_reject(rej, TSA_FAIL_BAD_REQUEST, "nonce too long", "bad_request");
	assert_int_equal(i2d_ASN1_INTEGER(nonce, &p), n);
	out->nonce_len = (size_t)n;
	out->has_nonce = 1;
	return 0;
}

static int oracle_parse(const struct tsa_accept *a, const uint8_t *der, size_t len, struct tsa_request *out,
			struct tsa_reject *rej)
{
	const unsigned char *p = der;
	STACK_OF(X509_EXTENSION) *exts;
	TS_REQ *req = NULL;
	int rc = VA_ERR_INVAL;

	memset(out, 0, sizeof(*out));
	tsa_reject_set(rej, TSA_FAIL_BAD_DATA_FORMAT, "not a DER TimeStampReq", "bad_format");
	if (len == 0 || len > LIM_TSA_REQ_MAX)
		goto out;
	req = d2i_TS_REQ(NULL, &p, (long)len);
	if (req == NULL || (size_t)(p - der) != len)
		goto out;
	if (TS_REQ_get_version(req) != 1) {
		rc = oracle_reject(rej, TSA_FAIL_BAD_REQUEST, "unsupported request version", "bad_request");
		goto out;
	}
	rc = oracle_imprint(a, TS_REQ_get_msg_imprint(req), out, rej);
	if (rc == 0)
		rc = oracle_policy(a, TS_REQ_get_policy_id(req), out, rej);
	if (rc == 0)
		rc = oracle_nonce(TS_REQ_get_nonce(req), out, rej);
	if (rc != 0)
		goto out;
	exts = TS_REQ_get_exts(req);
	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		if (X509_EXTENSION_get_critical(sk_X509_EXTENSION_value(exts, i))) {
			rc = oracle_reject(rej, TSA_FAIL_UNACCEPTED_EXTENSION, "unsupported critical extension",
					   "bad_extension");
			goto out;
		}
	}
	out->cert_req = TS_REQ_get_cert_req(req) ? 1 : 0;
	rej->status = TSA_STATUS_GRANTED;
	rej->failure = TSA_FAIL_NONE;
	rej->text = NULL;
	rej->metric = "ok";
	rc = 0;
out:
	TS_REQ_free(req);
	ERR_clear_error();
	return rc;
}

/* ---- an independent BER walker: which forms outside DER does an input use? ---- */

#define BER_LENGTH 1 /* indefinite length, or length octets that are not the fewest */
#define BER_TAG 2    /* high-tag-number identifier */
#define BER_CONS 4   /* constructed encoding of a string type */

/* Walks BER TLVs in p[0..len) (up to an end-of-contents when indef), adding to *flags; returns the octets used,
 * or -1 when this is not BER at all. */
static long ber_walk(const uint8_t *p, size_t len, int indef, int depth, int *flags)
{
	size_t pos = 0;

	if (depth > 32)
		return -1;
	while (pos < len) {
		size_t clen = 0, tagnum;
		int cons, universal;

		if (indef && len - pos >= 2 && p[pos] == 0 && p[pos + 1] == 0)
			return (long)(pos + 2);
		cons = (p[pos] & 0x20) != 0;
		universal = (p[pos] & 0xc0) == 0;
		tagnum = p[pos] & 0x1f;
		pos++;
		if (tagnum == 0x1f) {
			*flags |= BER_TAG;
			tagnum = 0;
			do {
				if (pos >= len)
					return -1;
				tagnum = (tagnum << 7) | (p[pos] & 0x7f);
			} while (p[pos++] & 0x80);
		}
		if (pos >= len)
			return -1;
		if (p[pos] == 0x80) {
			long used;

			pos++;
			if (!cons)
				return -1;
			*flags |= BER_LENGTH;
			used = ber_walk(p + pos, len - pos, 1, depth + 1, flags);
			if (used < 0)
				return -1;
			pos += (size_t)used;
			continue;
		}
		if (p[pos] & 0x80) {
			size_t n = p[pos++] & 0x7f;

			if (n > 8 || len - pos < n)
				return -1;
			for (size_t i = 0; i < n; i++)
				clen = (clen << 8) | p[pos + i];
			if (p[pos] == 0 || clen < 0x80)
				*flags |= BER_LENGTH;
			pos += n;
		} else {
			clen = p[pos++];
		}
		if (clen > len - pos)
			return -1;
		/* X.690 10.2: DER strings are primitive: BIT STRING, OCTET STRING, UTF8String (12), the character
		 * strings 18..22 and 25..30, and the times 23, 24 (X.680 8.4). */
		if (cons && universal &&
		    (tagnum == 3 || tagnum == 4 || tagnum == 12 || (tagnum >= 18 && tagnum <= 30)))
			*flags |= BER_CONS;
		if (cons && ber_walk(p + pos, clen, 0, depth + 1, flags) != (long)clen)
			return -1;
		pos += clen;
	}
	return indef ? -1 : (long)pos;
}

/* The BER_* forms an input uses; 0 for pure DER (as far as these forms go), -1 when it is not BER. */
static int ber_flags(const uint8_t *p, size_t len)
{
	int flags = 0;

	return ber_walk(p, len, 0, 0, &flags) == (long)len ? flags : -1;
}

/* 1 if the TimeStampReq's own fields include a primitive [0] (0x80) where the extensions [0] belong. */
static int primitive_extensions(const uint8_t *p, size_t len)
{
	struct der_cur c, in;
	struct der_tlv t;

	der_init(&c, p, len);
	if (der_expect(&c, DER_SEQUENCE, &t) != 0)
		return 0;
	der_enter(&t, &in);
	while (der_next(&in, &t) == 0)
		if (t.tag == DER_CTX_PRIM(0))
			return 1;
	return 0;
}

/* ---- BER rewriting of DER input: one TLV in a form DER forbids ---- */

enum ber_form { FORM_NONMIN, FORM_INDEF, FORM_HIGHTAG, FORM_CONS, FORM_COUNT };

/* The length octets alone (minimal). */
static size_t put_len(uint8_t *out, size_t len)
{
	uint8_t h[DER_HDR_MAX];
	size_t n = der_put_hdr(h, 0, len);

	memcpy(out, h + 1, n - 1);
	return n - 1;
}

/* Writes the DER in p[0..len) again, the target-th TLV (depth first, from 0) in `form`; *applied tells whether it
 * could be (FORM_INDEF needs a constructed TLV, FORM_CONS an OCTET STRING of 2 octets or more). */
static size_t ber_rewrite(const uint8_t *p, size_t len, int *counter, int target, enum ber_form form, uint8_t *out,
			  int *applied)
{
	struct der_cur c;
	struct der_tlv t;
	size_t n = 0;

	der_init(&c, p, len);
	while (c.len > 0) {
		uint8_t *content = malloc(BUF_MAX);
		size_t clen;
		int me = (*counter)++;

		assert_non_null(content);
		assert_int_equal(der_next(&c, &t), 0);
		if (t.tag & 0x20) {
			clen = ber_rewrite(t.c, t.len, counter, target, form, content, applied);
		} else {
			memcpy(content, t.c, t.len);
			clen = t.len;
		}
		if (me == target && form == FORM_NONMIN) {
			out[n++] = t.tag;
			out[n++] = 0x82;
			out[n++] = (uint8_t)(clen >> 8);
			out[n++] = (uint8_t)clen;
			*applied = 1;
		} else if (me == target && form == FORM_INDEF && (t.tag & 0x20)) {
			out[n++] = t.tag;
			out[n++] = 0x80;
			memcpy(out + n, content, clen);
			n += clen;
			out[n++] = 0;
			out[n++] = 0;
			*applied = 1;
			free(content);
			continue;
		} else if (me == target && form == FORM_HIGHTAG) {
			out[n++] = (uint8_t)(t.tag | 0x1f);
			out[n++] = t.tag & 0x1f;
			n += put_len(out + n, clen);
			*applied = 1;
		} else if (me == target && form == FORM_CONS && t.tag == DER_OCTET_STRING && clen >= 2) {
			size_t half = clen / 2;

			out[n++] = 0x24;
			n += put_len(out + n, der_tlv_size(half) + der_tlv_size(clen - half));
			n += der_put_tlv(out + n, DER_OCTET_STRING, content, half);
			n += der_put_tlv(out + n, DER_OCTET_STRING, content + half, clen - half);
			*applied = 1;
			free(content);
			continue;
		} else {
			n += der_put_hdr(out + n, t.tag, clen);
		}
		memcpy(out + n, content, clen);
		n += clen;
		free(content);
	}
	return n;
}

/* ---- comparison ---- */

struct tally {
	int accepted, rejected; /* agreements */
	int not_der;            /* exception 1 */
	int primitive;          /* exception 1, the primitive [0] */
	int params;             /* exception 2 */
	int total;
};

static void hexdump(const char *what, const uint8_t *p, size_t len)
{
	print_error("%s (%zu octets):", what, len);
	for (size_t i = 0; i < len; i++)
		print_error(" %02x", p[i]);
	print_error("\n");
}

static void compare(const struct tsa_accept *a, const uint8_t *der, size_t len, const char *what, struct tally *t)
{
	struct tsa_request rn, ro;
	struct tsa_reject jn, jo;
	int rcn = tsa_request_parse(a, der, len, &rn, &jn);
	int rco = oracle_parse(a, der, len, &ro, &jo);

	t->total++;
	if (rcn == 0 && rco == 0) {
		if (rn.imprint_len != ro.imprint_len || memcmp(rn.imprint_der, ro.imprint_der, rn.imprint_len) != 0 ||
		    rn.policy_der != ro.policy_der || rn.policy_len != ro.policy_len || rn.has_nonce != ro.has_nonce ||
		    rn.nonce_len != ro.nonce_len || memcmp(rn.nonce_der, ro.nonce_der, rn.nonce_len) != 0 ||
		    rn.cert_req != ro.cert_req || rn.digest_nid != ro.digest_nid) {
			hexdump(what, der, len);
			fail_msg("both accept, the fields differ");
		}
		t->accepted++;
		return;
	}
	if (rcn == 0) {
		hexdump(what, der, len);
		fail_msg("accepted here, refused by d2i_TS_REQ (%s)", jo.text);
	}
	assert_int_equal(jn.status, TSA_STATUS_REJECTION);
	if (rco != 0 && jn.failure == jo.failure && strcmp(jn.text, jo.text) == 0 &&
	    strcmp(jn.metric, jo.metric) == 0) {
		t->rejected++;
		return;
	}
	if (jn.failure == TSA_FAIL_BAD_DATA_FORMAT && ber_flags(der, len) > 0) {
		t->not_der++;
		return;
	}
	if (jn.failure == TSA_FAIL_BAD_DATA_FORMAT && primitive_extensions(der, len)) {
		t->primitive++;
		return;
	}
	if (rco != 0 && jo.failure == TSA_FAIL_BAD_DATA_FORMAT && jn.failure == TSA_FAIL_BAD_ALG &&
	    strcmp(jn.text, "imprint hash algorithm has parameters") == 0) {
		t->params++;
		return;
	}
	hexdump(what, der, len);
	fail_msg("answers differ: here %d \"%s\", d2i_TS_REQ %s %d \"%s\"", jn.failure, jn.text,
		 rco == 0 ? "accepts" : "refuses", jo.failure, rco == 0 ? "" : jo.text);
}

/* xorshift32: a fixed sequence, so that a failure can be replayed */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* The seeds of tests/integration/tsa_fuzz.sh made by hand, and a few more corners. */
static const char *const extra_seeds[] = {
	TV_REQ("a0{30{06032a0304 0101ff 04{0500}}}"), /* crit-ext */
	TV_REQ("02{<70:7f>}"),                        /* long-nonce */
	TV_REQ("02028001"),                           /* neg-nonce */
	"30{" TV_V1 "30{" TV_ALG "04{<31>}}}",        /* short-hash */
	"3080 020101 0000",                           /* indefinite */
	"3084ffffffff 020101",                        /* huge-len */
	"30{" TV_V1 "30{30{" TV_OID_SHA256 "0102ffff} 04{<32>}}}",  /* params: BOOLEAN of 2 octets */
	"30{" TV_V1 "30{30{" TV_OID_SHA256 "2500} 04{<32>}}}",      /* params: constructed NULL */
	"30{" TV_V1 "30{30{" TV_OID_SHA256 "bf1f00} 04{<32>}}}",    /* params: [31] */
	"30{" TV_V1 "30{30{" TV_OID_SHA256 "0500} 04{<32>}} 0101ff a0{}}",
};

static void test_differential(void **state)
{
	static const char *const mds[] = { "sha256", "sha384", "sha512", "sha1", "md5", "sha3-256" };
	static const uint64_t nonces[] = { 0, 0x1122334455667788ULL, 0xff00ff00ff00ff00ULL };
	static const char *const policies[] = { NULL, POLICY2, "1.2.3.4" };
	struct tsa_accept a;
	struct tally t = { 0 };
	uint8_t bases[8][BUF_MAX], buf[BUF_MAX], *der = NULL;
	size_t base_len[8], nbases = 0, len;
	uint32_t seed = 0x9e3779b9;
	int n;

	(void)state;
	assert_int_equal(tv_accept_init(&a), 0);

	/* the vectors, with their expected answers checked in test_tsa_request.c */
	for (size_t i = 0; i < sizeof(tsa_req_vectors) / sizeof(tsa_req_vectors[0]); i++) {
		n = tt_der_asm(tsa_req_vectors[i].der, buf, sizeof(buf));
		assert_true(n > 0);
		compare(&a, buf, (size_t)n, tsa_req_vectors[i].name, &t);
		if (tsa_req_vectors[i].failure == TSA_FAIL_NONE && nbases < 4) {
			memcpy(bases[nbases], buf, (size_t)n);
			base_len[nbases++] = (size_t)n;
		}
	}
	for (size_t i = 0; i < sizeof(extra_seeds) / sizeof(extra_seeds[0]); i++) {
		n = tt_der_asm(extra_seeds[i], buf, sizeof(buf));
		assert_true(n > 0);
		compare(&a, buf, (size_t)n, extra_seeds[i], &t);
	}

	/* what OpenSSL's encoder makes (openssl ts -query) */
	for (size_t m = 0; m < sizeof(mds) / sizeof(mds[0]); m++) {
		for (size_t k = 0; k < sizeof(nonces) / sizeof(nonces[0]); k++) {
			for (int cert = 0; cert < 2; cert++) {
				for (size_t p = 0; p < sizeof(policies) / sizeof(policies[0]); p++) {
					const EVP_MD *md = EVP_get_digestbyname(mds[m]);
					int rc;

					assert_non_null(md);
					rc = tt_make_request(md, nonces[k], cert, policies[p], &der, &len);
					assert_int_equal(rc, 0);
					compare(&a, der, len, mds[m], &t);
					if (m < 3 && k > 0 && p < 2 && nbases < 8 && (cert == (int)(p % 2))) {
						memcpy(bases[nbases], der, len);
						base_len[nbases++] = len;
					}
					OPENSSL_free(der);
				}
			}
		}
	}
	assert_int_equal(nbases, 8);

	/* every TLV of every base in every BER form: refused here, and the walker sees why */
	for (size_t b = 0; b < nbases; b++) {
		for (int form = 0; form < FORM_COUNT; form++) {
			for (int target = 0;; target++) {
				int counter = 0, applied = 0;
				size_t l = ber_rewrite(bases[b], base_len[b], &counter, target,
						       (enum ber_form)form, buf, &applied);
				struct tsa_request rq;
				struct tsa_reject rej;

				if (target >= counter)
					break;
				if (!applied)
					continue;
				assert_true(ber_flags(buf, l) > 0);
				assert_int_equal(tsa_request_parse(&a, buf, l, &rq, &rej), VA_ERR_INVAL);
				assert_int_equal(rej.failure, TSA_FAIL_BAD_DATA_FORMAT);
				compare(&a, buf, l, "BER rewrite", &t);
			}
		}
	}

	/* random damage of the bases */
	for (size_t b = 0; b < nbases; b++) {
		for (int i = 0; i < 500; i++) {
			size_t l = base_len[b], pos = rnd(&seed) % l;

			memcpy(buf, bases[b], l);
			switch (i % 5) {
			case 0: case 1: case 2: /* replace one octet */
				buf[pos] = (uint8_t)(buf[pos] + 1 + rnd(&seed) % 255);
				break;
			case 3: /* flip one bit */
				buf[pos] ^= (uint8_t)(1u << (rnd(&seed) % 8));
				break;
			default: /* insert or delete one octet */
				if (rnd(&seed) % 2) {
					memmove(buf + pos + 1, buf + pos, l - pos);
					buf[pos] = (uint8_t)rnd(&seed);
					l++;
				} else {
					memmove(buf + pos, buf + pos + 1, l - pos - 1);
					l--;
				}
				break;
			}
			compare(&a, buf, l, "mutation", &t);
		}
	}

	print_message("%d inputs: %d accepted by both, %d refused alike; exceptions: %d not DER, %d primitive [0], "
		      "%d parameters\n", t.total, t.accepted, t.rejected, t.not_der, t.primitive, t.params);
	assert_true(t.total >= 4000);
	assert_true(t.accepted >= 300);
	assert_true(t.rejected >= 1000);
	/* each exception is exercised, so the classification above is tested too */
	assert_true(t.not_der >= 20);
	assert_true(t.primitive >= 1);
	assert_true(t.params >= 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
