/*
 * request.c: TimeStampReq (RFC 3161 2.4.1) decoding and validation.
 *
 * The DER is walked with the bounded reader of der.h over the received length: no OpenSSL decoder, no
 * allocation. The walk first checks the form of every field (DER, the ASN.1 structure, INTEGER and OID
 * encodings: a failure is badDataFormat), then the values are checked against the RFC and the configuration in
 * a fixed order (version, imprint, policy, nonce, extensions), which is the order of the rejections the
 * OpenSSL-based parser gave. What the token needs is copied out as the TLVs received, so the token builder
 * never goes back to the request.
 *
 * Where d2i_TS_REQ was laxer than DER this parser is not: indefinite lengths, non-minimal lengths, constructed
 * strings and high-tag-number forms are badDataFormat (tests/unit/test_tsa_request_diff.c lists every
 * difference). Where clients may differ from DER and d2i_TS_REQ accepted it, so do we: certReq or critical
 * encoded as an explicit FALSE, and any non-zero BOOLEAN octet read as TRUE.
 */
#include "request.h"

#include <string.h>

#include <openssl/objects.h>

#include "der.h"
#include "va_limits.h"

/* The imprint hash algorithms tsad knows: configuration name, NID, OID content octets and digest size. OIDs:
 * RFC 3279 2.2.1 (SHA-1), RFC 5754 2 (SHA-2), NIST CSOR 2.16.840.1.101.3.4.2.8-10 (SHA-3). */
static const struct {
	const char *name;
	int nid;
	uint8_t oid[9];
	size_t oid_len;
	size_t size;
} hashes[] = {
	/* SHA-1 only when configured explicitly; the code-signing BRs forbid it for new tokens. */
	{ "sha1", NID_sha1, { 0x2b, 0x0e, 0x03, 0x02, 0x1a }, 5, 20 },
	{ "sha256", NID_sha256, { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 }, 9, 32 },
	{ "sha384", NID_sha384, { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02 }, 9, 48 },
	{ "sha512", NID_sha512, { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03 }, 9, 64 },
	{ "sha3-256", NID_sha3_256, { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x08 }, 9, 32 },
	{ "sha3-384", NID_sha3_384, { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x09 }, 9, 48 },
	{ "sha3-512", NID_sha3_512, { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x0a }, 9, 64 },
};

#define NHASHES (sizeof(hashes) / sizeof(hashes[0]))

void tsa_reject_set(struct tsa_reject *rej, int failure, const char *text, const char *metric)
{
	rej->status = TSA_STATUS_REJECTION;
	rej->failure = failure;
	rej->text = text;
	rej->metric = metric;
}

/* Dotted decimal only: digits separated by single dots, at least two arcs, the first 0..2 (X.660). OpenSSL's
 * parser is more lenient ("1.2..3"), and a policy OID is something an operator must get exactly right. */
static int oid_text_valid(const char *t)
{
	int arcs = 0, digits = 0;

	if (t[0] < '0' || t[0] > '2' || t[1] != '.')
		return 0;
	for (; *t != '\0'; t++) {
		if (*t >= '0' && *t <= '9') {
			digits++;
		} else if (*t == '.' && digits > 0) {
			arcs++;
			digits = 0;
		} else {
			return 0;
		}
	}
	return digits > 0 && arcs >= 1;
}

/* Encodes a dotted OID as DER (tag, length, content) into out[TSA_OID_DER_MAX]. Configuration time only. */
static int oid_encode(const char *text, uint8_t *out, size_t *outlen)
{
	ASN1_OBJECT *obj = NULL;
	unsigned char *p = out;
	int n, rc = VA_ERR_CONFIG;

	if (!oid_text_valid(text))
		goto out;
	/* no_name = 1: only numeric OIDs, so a typo never silently maps onto a registered name. */
	obj = OBJ_txt2obj(text, 1);
	if (obj == NULL)
		goto out;
	n = i2d_ASN1_OBJECT(obj, NULL);
	if (n <= 2 || n > TSA_OID_DER_MAX)
		goto out;
	n = i2d_ASN1_OBJECT(obj, &p);
	if (n <= 2)
		goto out;
	*outlen = (size_t)n;
	rc = 0;
out:
	ASN1_OBJECT_free(obj);
	return rc;
}

int tsa_accept_set_policy(struct tsa_accept *a, const char *oid)
{
	return oid_encode(oid, a->policy_der, &a->policy_len);
}

int tsa_accept_add_policy(struct tsa_accept *a, const char *oid)
{
	int rc;

	if (a->naccepted >= TSA_POLICIES_MAX)
		return VA_ERR_RANGE;
	rc = oid_encode(oid, a->accepted_der[a->naccepted], &a->accepted_len[a->naccepted]);
	if (rc == 0)
		a->naccepted++;
	return rc;
}

int tsa_accept_add_digest(struct tsa_accept *a, const char *name)
{
	if (a->ndigests >= TSA_DIGESTS_MAX)
		return VA_ERR_RANGE;
	for (size_t i = 0; i < NHASHES; i++) {
		if (strcmp(hashes[i].name, name) != 0)
			continue;
		for (size_t j = 0; j < a->ndigests; j++)
			if (a->digest_nids[j] == hashes[i].nid)
				return 0;
		a->digest_nids[a->ndigests++] = hashes[i].nid;
		return 0;
	}
	return VA_ERR_CONFIG;
}

/* ---- decoding: the form of every field ---- */

/* The fields of a TimeStampReq as found in the DER, before their values are checked. */
struct req_fields {
	struct der_tlv version;
	struct der_tlv imprint; /* MessageImprint */
	struct der_tlv alg;     /* its hashAlgorithm's OID */
	struct der_tlv params;  /* its parameters, when has_params */
	struct der_tlv hashed;  /* hashedMessage */
	struct der_tlv policy, nonce;
	int has_params, has_policy, has_nonce;
	int cert_req;
	int critical_ext;       /* some extension is marked critical */
};

/* BOOLEAN: one octet. DER's TRUE is 0xFF (X.690 11.1), but d2i_TS_REQ read any non-zero octet as TRUE and a
 * client that encodes TRUE as 0x01 gets what it asked for. */
static int bool_decode(const struct der_tlv *t, int *v)
{
	if (t->len != 1)
		return VA_ERR_INVAL;
	*v = t->c[0] != 0;
	return 0;
}

/* extensions [0] IMPLICIT Extensions, Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN
 * DEFAULT FALSE, extnValue OCTET STRING } (RFC 5280 4.1). An empty list is let through as d2i_TS_REQ did. */
static int extensions_decode(const struct der_tlv *exts, int *critical)
{
	struct der_cur c;
	struct der_tlv oid, crit, val;
	int v;

	der_enter(exts, &c);
	while (c.len > 0) {
		DER_GUARD(der_ext_next(&c, &oid, &crit, &val));
		DER_GUARD(der_oid_check(&oid));
		if (crit.raw != NULL) {
			DER_GUARD(bool_decode(&crit, &v));
			*critical |= v;
		}
	}
	return 0;
}

/* MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING },
 * AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY DEFINED BY algorithm OPTIONAL } */
static int imprint_decode(struct req_fields *f)
{
	struct der_cur mi, ai;
	struct der_tlv alg;

	der_enter(&f->imprint, &mi);
	DER_GUARD(der_expect(&mi, DER_SEQUENCE, &alg));
	DER_GUARD(der_expect(&mi, DER_OCTET_STRING, &f->hashed));
	if (mi.len != 0)
		return VA_ERR_INVAL;
	der_enter(&alg, &ai);
	DER_GUARD(der_expect(&ai, DER_OID, &f->alg));
	DER_GUARD(der_oid_check(&f->alg));
	if (ai.len > 0) {
		DER_GUARD(der_next(&ai, &f->params));
		f->has_params = 1;
		/* X.690 8.8.2: NULL has no content. Other parameters are refused later (badAlg), whatever they hold. */
		if (ai.len != 0 || (f->params.tag == DER_NULL && f->params.len != 0))
			return VA_ERR_INVAL;
	}
	return 0;
}

/* TimeStampReq ::= SEQUENCE { version INTEGER { v1(1) }, messageImprint MessageImprint, reqPolicy
 * TSAPolicyId OPTIONAL, nonce INTEGER OPTIONAL, certReq BOOLEAN DEFAULT FALSE, extensions [0] IMPLICIT
 * Extensions OPTIONAL } (RFC 3161 2.4.1). The optional fields have distinct tags, in this order. */
static int req_decode(const uint8_t *der, size_t len, struct req_fields *f)
{
	struct der_cur top, rq;
	struct der_tlv seq, t;

	memset(f, 0, sizeof(*f));
	der_init(&top, der, len);
	DER_GUARD(der_expect(&top, DER_SEQUENCE, &seq));
	/* A TimeStampReq is the whole body: trailing octets mean the client and we disagree on what was sent. */
	if (top.len != 0)
		return VA_ERR_INVAL;
	der_enter(&seq, &rq);
	DER_GUARD(der_expect(&rq, DER_INTEGER, &f->version));
	DER_GUARD(der_int_check(&f->version));
	DER_GUARD(der_expect(&rq, DER_SEQUENCE, &f->imprint));
	DER_GUARD(imprint_decode(f));
	if (der_peek(&rq) == DER_OID) {
		DER_GUARD(der_next(&rq, &f->policy));
		DER_GUARD(der_oid_check(&f->policy));
		f->has_policy = 1;
	}
	if (der_peek(&rq) == DER_INTEGER) {
		DER_GUARD(der_next(&rq, &f->nonce));
		DER_GUARD(der_int_check(&f->nonce));
		f->has_nonce = 1;
	}
	/* certReq DEFAULT FALSE: DER leaves FALSE out (X.690 11.5), clients may still send it. */
	if (der_peek(&rq) == DER_BOOLEAN) {
		DER_GUARD(der_next(&rq, &t));
		DER_GUARD(bool_decode(&t, &f->cert_req));
	}
	if (der_peek(&rq) == DER_CTX(0)) {
		DER_GUARD(der_next(&rq, &t));
		DER_GUARD(extensions_decode(&t, &f->critical_ext));
	}
	if (rq.len != 0)
		return VA_ERR_INVAL;
	return 0;
}

/* ---- validation: the values ---- */

static int digest_accepted(const struct tsa_accept *a, int nid)
{
	for (size_t i = 0; i < a->ndigests; i++)
		if (a->digest_nids[i] == nid)
			return 1;
	return 0;
}

/* RFC 3161 2.4.1: the hash algorithm must be one the TSA knows, and the hashedMessage must be of its length. */
static int check_imprint(const struct tsa_accept *a, const struct req_fields *f, struct tsa_request *out,
			 struct tsa_reject *rej)
{
	size_t h = NHASHES;

	for (size_t i = 0; i < NHASHES && h == NHASHES; i++)
		if (der_oid_eq(&f->alg, hashes[i].oid, hashes[i].oid_len) && digest_accepted(a, hashes[i].nid))
			h = i;
	if (h == NHASHES) {
		tsa_reject_set(rej, TSA_FAIL_BAD_ALG, "imprint hash algorithm not accepted", "bad_alg");
		return VA_ERR_INVAL;
	}
	/* Hash AlgorithmIdentifiers carry absent or NULL parameters (RFC 5754 2); anything else is not a hash. */
	if (f->has_params && f->params.tag != DER_NULL) {
		tsa_reject_set(rej, TSA_FAIL_BAD_ALG, "imprint hash algorithm has parameters", "bad_alg");
		return VA_ERR_INVAL;
	}
	if (f->hashed.len != hashes[h].size) {
		tsa_reject_set(rej, TSA_FAIL_BAD_ALG, "hashedMessage length does not match its algorithm", "bad_alg");
		return VA_ERR_INVAL;
	}
	if (f->imprint.raw_len > sizeof(out->imprint_der)) {
		tsa_reject_set(rej, TSA_FAIL_BAD_DATA_FORMAT, "messageImprint too large", "bad_format");
		return VA_ERR_INVAL;
	}
	memcpy(out->imprint_der, f->imprint.raw, f->imprint.raw_len);
	out->imprint_len = f->imprint.raw_len;
	out->digest_nid = hashes[h].nid;
	return 0;
}

/* RFC 3161 2.4.1: a requested policy the TSA does not support is rejected with unacceptedPolicy. */
static int check_policy(const struct tsa_accept *a, const struct req_fields *f, struct tsa_request *out,
			struct tsa_reject *rej)
{
	const struct der_tlv *p = &f->policy;

	out->policy_der = a->policy_der;
	out->policy_len = a->policy_len;
	if (!f->has_policy)
		return 0;
	if (p->raw_len == a->policy_len && memcmp(p->raw, a->policy_der, p->raw_len) == 0)
		return 0;
	for (size_t i = 0; i < a->naccepted; i++) {
		if (p->raw_len == a->accepted_len[i] && memcmp(p->raw, a->accepted_der[i], p->raw_len) == 0) {
			out->policy_der = a->accepted_der[i];
			out->policy_len = a->accepted_len[i];
			return 0;
		}
	}
	tsa_reject_set(rej, TSA_FAIL_UNACCEPTED_POLICY, "requested policy not supported", "bad_policy");
	return VA_ERR_INVAL;
}

/* Octets of the magnitude of a minimal INTEGER: the bound on nonces has always counted those (OpenSSL's
 * ASN1_STRING_length), not the two's complement octets; a sign octet in front of a positive value does not count,
 * nor a leading 0xFF of a negative one whose magnitude is shorter. */
static size_t int_magnitude_len(const struct der_tlv *t)
{
	if (t->len > 1 && t->c[0] == 0x00)
		return t->len - 1;
	if (t->len > 1 && t->c[0] == 0xff)
		for (size_t i = 1; i < t->len; i++)
			if (t->c[i] != 0)
				return t->len - 1;
	return t->len;
}

/* The nonce is echoed as sent (RFC 3161 2.4.2); RFC 3161 sets no bound, TSA_NONCE_MAX does. Negative nonces are
 * not forbidden by the RFC and were always accepted. */
static int check_nonce(const struct req_fields *f, struct tsa_request *out, struct tsa_reject *rej)
{
	size_t mag;

	out->has_nonce = 0;
	if (!f->has_nonce)
		return 0;
	mag = int_magnitude_len(&f->nonce);
	if (mag < 1 || mag > TSA_NONCE_MAX || f->nonce.raw_len > sizeof(out->nonce_der)) {
		tsa_reject_set(rej, TSA_FAIL_BAD_REQUEST, "nonce too long", "bad_request");
		return VA_ERR_INVAL;
	}
	memcpy(out->nonce_der, f->nonce.raw, f->nonce.raw_len);
	out->nonce_len = f->nonce.raw_len;
	out->has_nonce = 1;
	return 0;
}

int tsa_request_parse(const struct tsa_accept *a, const uint8_t *der, size_t len, struct tsa_request *out,
		      struct tsa_reject *rej)
{
	struct req_fields f;
	int rc = VA_ERR_INVAL;

	memset(out, 0, sizeof(*out));
	tsa_reject_set(rej, TSA_FAIL_BAD_DATA_FORMAT, "not a DER TimeStampReq", "bad_format");
	/* Length first: nothing is decoded from an empty or oversized body. */
	if (der == NULL || len == 0 || len > LIM_TSA_REQ_MAX)
		goto out;
	if (req_decode(der, len, &f) != 0)
		goto out;
	/* RFC 3161 2.4.1: version INTEGER { v1(1) }. */
	if (f.version.len != 1 || f.version.c[0] != 1) {
		tsa_reject_set(rej, TSA_FAIL_BAD_REQUEST, "unsupported request version", "bad_request");
		goto out;
	}
	rc = check_imprint(a, &f, out, rej);
	if (rc == 0)
		rc = check_policy(a, &f, out, rej);
	if (rc == 0)
		rc = check_nonce(&f, out, rej);
	if (rc != 0)
		goto out;
	/* RFC 3161 2.4.1 / RFC 5280 4.2: we support no request extension, so a critical one must be refused;
	 * non-critical ones are ignored. */
	if (f.critical_ext) {
		tsa_reject_set(rej, TSA_FAIL_UNACCEPTED_EXTENSION, "unsupported critical extension", "bad_extension");
		rc = VA_ERR_INVAL;
		goto out;
	}
	out->cert_req = f.cert_req;
	rej->status = TSA_STATUS_GRANTED;
	rej->failure = TSA_FAIL_NONE;
	rej->text = NULL;
	rej->metric = "ok";
	rc = 0;
out:
	return rc;
}
