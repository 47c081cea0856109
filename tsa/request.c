/*
 * request.c: TimeStampReq (RFC 3161 2.4.1) decoding and validation.
 *
 * The DER is decoded by OpenSSL's template decoder with the received length, then every field is checked here
 * against the RFC and the configuration. What the token needs is copied out in encoded form, so the token
 * builder never goes back to the request.
 */
#include "request.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "va_limits.h"

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

/* Encodes a dotted OID as DER (tag, length, content) into out[TSA_OID_DER_MAX]. */
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
	static const struct {
		const char *name;
		int nid;
	} known[] = {
		/* SHA-1 only when configured explicitly; the code-signing BRs forbid it for new tokens. */
		{ "sha1", NID_sha1 },     { "sha256", NID_sha256 },     { "sha384", NID_sha384 },
		{ "sha512", NID_sha512 }, { "sha3-256", NID_sha3_256 }, { "sha3-384", NID_sha3_384 },
		{ "sha3-512", NID_sha3_512 },
	};

	if (a->ndigests >= TSA_DIGESTS_MAX)
		return VA_ERR_RANGE;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(known[i].name, name) == 0) {
			for (size_t j = 0; j < a->ndigests; j++)
				if (a->digest_nids[j] == known[i].nid)
					return 0;
			a->digest_nids[a->ndigests++] = known[i].nid;
			return 0;
		}
	}
	return VA_ERR_CONFIG;
}

static int digest_accepted(const struct tsa_accept *a, int nid)
{
	for (size_t i = 0; i < a->ndigests; i++)
		if (a->digest_nids[i] == nid)
			return 1;
	return 0;
}

/* RFC 3161 2.4.1: the hash algorithm must be one the TSA knows, and the hashedMessage must be of its length. */
static int check_imprint(const struct tsa_accept *a, TS_MSG_IMPRINT *mi, struct tsa_request *out,
			 struct tsa_reject *rej)
{
	X509_ALGOR *alg = TS_MSG_IMPRINT_get_algo(mi);
	ASN1_OCTET_STRING *msg = TS_MSG_IMPRINT_get_msg(mi);
	const ASN1_OBJECT *obj = NULL;
	const void *pval = NULL;
	const EVP_MD *md;
	unsigned char *p;
	int ptype = V_ASN1_UNDEF, nid, n;

	if (alg == NULL || msg == NULL) {
		tsa_reject_set(rej, TSA_FAIL_BAD_DATA_FORMAT, "messageImprint missing", "bad_format");
		return VA_ERR_INVAL;
	}
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	nid = OBJ_obj2nid(obj);
	if (nid == NID_undef || !digest_accepted(a, nid)) {
		tsa_reject_set(rej, TSA_FAIL_BAD_ALG, "imprint hash algorithm not accepted", "bad_alg");
		return VA_ERR_INVAL;
	}
	/* Hash AlgorithmIdentifiers carry absent or NULL parameters (RFC 5754 2); anything else is not a hash. */
	if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL) {
		tsa_reject_set(rej, TSA_FAIL_BAD_ALG, "imprint hash algorithm has parameters", "bad_alg");
		return VA_ERR_INVAL;
	}
	md = EVP_get_digestbynid(nid);
	if (md == NULL || ASN1_STRING_length(msg) != EVP_MD_get_size(md)) {
		tsa_reject_set(rej, TSA_FAIL_BAD_ALG, "hashedMessage length does not match its algorithm", "bad_alg");
		return VA_ERR_INVAL;
	}
	n = i2d_TS_MSG_IMPRINT(mi, NULL);
	if (n <= 0 || (size_t)n > sizeof(out->imprint_der)) {
		tsa_reject_set(rej, TSA_FAIL_BAD_DATA_FORMAT, "messageImprint too large", "bad_format");
		return VA_ERR_INVAL;
	}
	p = out->imprint_der;
	if (i2d_TS_MSG_IMPRINT(mi, &p) != n) {
		tsa_reject_set(rej, TSA_FAIL_SYSTEM_FAILURE, "cannot encode messageImprint", "error");
		return VA_ERR_CRYPTO;
	}
	out->imprint_len = (size_t)n;
	out->digest_nid = nid;
	return 0;
}

/* RFC 3161 2.4.1: a requested policy the TSA does not support is rejected with unacceptedPolicy. */
static int check_policy(const struct tsa_accept *a, const ASN1_OBJECT *pol, struct tsa_request *out,
			struct tsa_reject *rej)
{
	uint8_t buf[TSA_OID_DER_MAX];
	unsigned char *p = buf;
	int n;

	out->policy_der = a->policy_der;
	out->policy_len = a->policy_len;
	if (pol == NULL)
		return 0;
	n = i2d_ASN1_OBJECT(pol, NULL);
	if (n <= 0 || n > TSA_OID_DER_MAX) {
		tsa_reject_set(rej, TSA_FAIL_UNACCEPTED_POLICY, "requested policy not supported", "bad_policy");
		return VA_ERR_INVAL;
	}
	if (i2d_ASN1_OBJECT(pol, &p) != n) {
		tsa_reject_set(rej, TSA_FAIL_SYSTEM_FAILURE, "cannot encode policy", "error");
		return VA_ERR_CRYPTO;
	}
	if ((size_t)n == a->policy_len && memcmp(buf, a->policy_der, (size_t)n) == 0)
		return 0;
	for (size_t i = 0; i < a->naccepted; i++) {
		if ((size_t)n == a->accepted_len[i] && memcmp(buf, a->accepted_der[i], (size_t)n) == 0) {
			out->policy_der = a->accepted_der[i];
			out->policy_len = a->accepted_len[i];
			return 0;
		}
	}
	tsa_reject_set(rej, TSA_FAIL_UNACCEPTED_POLICY, "requested policy not supported", "bad_policy");
	return VA_ERR_INVAL;
}

static int check_nonce(const ASN1_INTEGER *nonce, struct tsa_request *out, struct tsa_reject *rej)
{
	unsigned char *p = out->nonce_der;
	int n;

	out->has_nonce = 0;
	if (nonce == NULL)
		return 0;
	/* Bound the length before encoding it into the fixed buffer. */
	if (ASN1_STRING_length(nonce) < 1 || ASN1_STRING_length(nonce) > TSA_NONCE_MAX) {
		tsa_reject_set(rej, TSA_FAIL_BAD_REQUEST, "nonce too long", "bad_request");
		return VA_ERR_INVAL;
	}
	n = i2d_ASN1_INTEGER(nonce, NULL);
	if (n <= 0 || (size_t)n > sizeof(out->nonce_der)) {
		tsa_reject_set(rej, TSA_FAIL_BAD_REQUEST, "nonce too long", "bad_request");
		return VA_ERR_INVAL;
	}
	if (i2d_ASN1_INTEGER(nonce, &p) != n) {
		tsa_reject_set(rej, TSA_FAIL_SYSTEM_FAILURE, "cannot encode nonce", "error");
		return VA_ERR_CRYPTO;
	}
	out->nonce_len = (size_t)n;
	out->has_nonce = 1;
	return 0;
}

int tsa_request_parse(const struct tsa_accept *a, const uint8_t *der, size_t len, struct tsa_request *out,
		      struct tsa_reject *rej)
{
	const unsigned char *p = der;
	STACK_OF(X509_EXTENSION) *exts;
	TS_REQ *req = NULL;
	int rc = VA_ERR_INVAL;

	memset(out, 0, sizeof(*out));
	tsa_reject_set(rej, TSA_FAIL_BAD_DATA_FORMAT, "not a DER TimeStampReq", "bad_format");
	/* Length first: nothing is decoded from an empty or oversized body. */
	if (der == NULL || len == 0 || len > LIM_TSA_REQ_MAX)
		goto out;
	req = d2i_TS_REQ(NULL, &p, (long)len);
	if (req == NULL)
		goto out;
	/* A TimeStampReq is the whole body: trailing octets mean the client and we disagree on what was sent. */
	if ((size_t)(p - der) != len)
		goto out;
	/* RFC 3161 2.4.1: version INTEGER { v1(1) }. */
	if (TS_REQ_get_version(req) != 1) {
		tsa_reject_set(rej, TSA_FAIL_BAD_REQUEST, "unsupported request version", "bad_request");
		goto out;
	}
	rc = check_imprint(a, TS_REQ_get_msg_imprint(req), out, rej);
	if (rc != 0)
		goto out;
	rc = check_policy(a, TS_REQ_get_policy_id(req), out, rej);
	if (rc != 0)
		goto out;
	rc = check_nonce(TS_REQ_get_nonce(req), out, rej);
	if (rc != 0)
		goto out;
	/* RFC 3161 2.4.1 / RFC 5280 4.2: we support no request extension, so a critical one must be refused;
	 * non-critical ones are ignored. */
	exts = TS_REQ_get_exts(req);
	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		if (X509_EXTENSION_get_critical(sk_X509_EXTENSION_value(exts, i))) {
			tsa_reject_set(rej, TSA_FAIL_UNACCEPTED_EXTENSION, "unsupported critical extension",
				       "bad_extension");
			rc = VA_ERR_INVAL;
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
	/* A refused request is the client's problem: leave no decoder errors for the next log_openssl(). */
	if (rc != 0)
		ERR_clear_error();
	return rc;
}
