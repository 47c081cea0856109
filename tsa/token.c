/*
 * token.c: TimeStampResp encoding (RFC 3161 2.4.2) with a CMS SignedData token (RFC 5652 5) whose signed
 * attributes carry ESSCertIDv2 / SHA-256 (RFC 5816 2.2.1).
 *
 * The constant parts are written once at start with the growable writer of der.h. Per token, every length is
 * known before a byte is written (the TSTInfo and the signed attributes are built first, the signature length
 * comes back from the signer), so the response is written front to back into one buffer of the exact size,
 * with no copy of nested content.
 */
#include "token.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/sha.h>
#include <openssl/ts.h>

#include "der.h"
#include "log.h"

/* OIDs, encoded. */
static const uint8_t OID_SIGNED_DATA[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02 };
static const uint8_t OID_CT_TSTINFO[] = { 0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
					  0x01, 0x09, 0x10, 0x01, 0x04 };
static const uint8_t OID_CONTENT_TYPE[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03 };
static const uint8_t OID_MESSAGE_DIGEST[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04 };
static const uint8_t OID_SIGNING_CERT_V2[] = { 0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
					       0x01, 0x09, 0x10, 0x02, 0x2f };
/* AlgorithmIdentifier sha256, parameters absent (RFC 5754 2). */
static const uint8_t ALG_SHA256[] = { 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };
static const uint8_t STATUS_GRANTED[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
static const uint8_t INT_1[] = { 0x02, 0x01, 0x01 }; /* TSTInfo and SignerInfo version */
static const uint8_t INT_3[] = { 0x02, 0x01, 0x03 }; /* SignedData version */
static const uint8_t SIGNED_ATTRS_TAG = DER_CTX(0);   /* SignerInfo signedAttrs [0] IMPLICIT */

/* ---- constant parts ---- */

struct piece {
	uint8_t *p;
	size_t n;
};

static void piece_free(struct piece *pc)
{
	free(pc->p);
	pc->p = NULL;
	pc->n = 0;
}

/* Moves a heap writer's output into a piece (the writer is left empty). */
static int piece_take(struct piece *pc, struct der_w *w)
{
	return der_w_take(w, &pc->p, &pc->n);
}

struct tsa_token_ctx {
	struct piece certs;    /* content of certificates [0]: DER certificates, sorted (SET OF, X.690 11.6) */
	struct piece sid;      /* IssuerAndSerialNumber */
	struct piece attr_ess; /* Attribute signingCertificateV2 */
	struct piece tsa_name; /* tsa [0] GeneralName, or empty */
	struct piece accuracy; /* Accuracy, or empty */
	struct piece sig_alg;  /* signatureAlgorithm */
	size_t max_sig_len;
	tsa_sign_fn sign;
	void *sign_arg;
	int precision_ms;
	EVP_PKEY *verify_key; /* set when every signature is verified after signing */
};

static int name_to_der(const X509_NAME *name, uint8_t **out, int *len)
{
	*out = NULL;
	*len = i2d_X509_NAME(name, out);
	return *len > 0 ? 0 : VA_ERR_CRYPTO;
}

static int int_to_der(const ASN1_INTEGER *v, uint8_t **out, int *len)
{
	*out = NULL;
	*len = i2d_ASN1_INTEGER(v, out);
	return *len > 0 ? 0 : VA_ERR_CRYPTO;
}

/* SET OF order (X.690 11.6): encodings compared as octet strings, the shorter padded with zeros. */
static int set_of_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	size_t n = an < bn ? an : bn;
	int c = n > 0 ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn ? 1 : 0;
}

static int piece_cmp(const void *x, const void *y)
{
	const struct piece *a = x, *b = y;

	return set_of_cmp(a->p, a->n, b->p, b->n);
}

static int build_certs(tsa_token_ctx *c, X509 *cert, STACK_OF(X509) *chain)
{
	int n = 1 + (chain != NULL ? sk_X509_num(chain) : 0), rc = VA_ERR_NOMEM;
	struct piece *ders = calloc((size_t)n, sizeof(*ders));
	struct der_w w;

	der_w_init(&w);
	if (ders == NULL)
		return VA_ERR_NOMEM;
	for (int i = 0; i < n; i++) {
		X509 *x = i == 0 ? cert : sk_X509_value(chain, i - 1);
		int len;

		ders[i].p = NULL;
		len = i2d_X509(x, &ders[i].p);
		if (len <= 0) {
			rc = VA_ERR_CRYPTO;
			goto out;
		}
		ders[i].n = (size_t)len;
	}
	qsort(ders, (size_t)n, sizeof(*ders), piece_cmp);
	for (int i = 0; i < n; i++)
		der_w_raw(&w, ders[i].p, ders[i].n);
	rc = piece_take(&c->certs, &w);
out:
	for (int i = 0; i < n; i++)
		OPENSSL_free(ders[i].p);
	free(ders);
	der_w_free(&w);
	return rc;
}

/* IssuerAndSerialNumber (RFC 5652 10.2.4) and the ESSCertIDv2 attribute (RFC 5816 2.2.1, RFC 5035 3):
 *   SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 }
 *   ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256 (so omitted in DER), certHash, issuerSerial }
 *   IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber } */
static int build_sid_ess(tsa_token_ctx *c, X509 *cert)
{
	uint8_t *name = NULL, *serial = NULL, *cder = NULL, hash[SHA256_DIGEST_LENGTH];
	int name_len, serial_len, cder_len, rc;
	size_t m[7];
	struct der_w w;

	der_w_init(&w);
	rc = name_to_der(X509_get_issuer_name(cert), &name, &name_len);
	if (rc == 0)
		rc = int_to_der(X509_get0_serialNumber(cert), &serial, &serial_len);
	if (rc != 0)
		goto out;
	cder_len = i2d_X509(cert, &cder);
	if (cder_len <= 0 || SHA256(cder, (size_t)cder_len, hash) == NULL) {
		rc = VA_ERR_CRYPTO;
		goto out;
	}

	m[0] = der_w_begin(&w);
	der_w_raw(&w, name, (size_t)name_len);
	der_w_raw(&w, serial, (size_t)serial_len);
	der_w_end(&w, DER_SEQUENCE, m[0]);
	rc = piece_take(&c->sid, &w);
	if (rc != 0)
		goto out;

	m[0] = der_w_begin(&w); /* Attribute */
	der_w_raw(&w, OID_SIGNING_CERT_V2, sizeof(OID_SIGNING_CERT_V2));
	m[1] = der_w_begin(&w); /* SET */
	m[2] = der_w_begin(&w); /* SigningCertificateV2 */
	m[3] = der_w_begin(&w); /* certs */
	m[4] = der_w_begin(&w); /* ESSCertIDv2 */
	der_w_tlv(&w, DER_OCTET_STRING, hash, sizeof(hash));
	m[5] = der_w_begin(&w); /* IssuerSerial */
	m[6] = der_w_begin(&w); /* GeneralNames */
	der_w_hdr(&w, DER_CTX(4), (size_t)name_len); /* directoryName */
	der_w_raw(&w, name, (size_t)name_len);
	der_w_end(&w, DER_SEQUENCE, m[6]);
	der_w_raw(&w, serial, (size_t)serial_len);
	for (int i = 5; i >= 2; i--)
		der_w_end(&w, DER_SEQUENCE, m[i]);
	der_w_end(&w, DER_SET, m[1]);
	der_w_end(&w, DER_SEQUENCE, m[0]);
	rc = piece_take(&c->attr_ess, &w);
out:
	OPENSSL_free(name);
	OPENSSL_free(serial);
	OPENSSL_free(cder);
	der_w_free(&w);
	return rc;
}

/* tsa [0] GeneralName (RFC 3161 2.4.2): the directoryName of the TSA certificate's subject. GeneralName is a
 * CHOICE, so [0] is explicit; directoryName [4] wraps a Name (a CHOICE too), explicit as well. */
static int build_tsa_name(tsa_token_ctx *c, X509 *cert)
{
	uint8_t *name = NULL;
	int name_len, rc;
	struct der_w w;

	rc = name_to_der(X509_get_subject_name(cert), &name, &name_len);
	if (rc != 0)
		return rc;
	der_w_init(&w);
	der_w_hdr(&w, DER_CTX(0), der_tlv_size((size_t)name_len));
	der_w_hdr(&w, DER_CTX(4), (size_t)name_len);
	der_w_raw(&w, name, (size_t)name_len);
	rc = piece_take(&c->tsa_name, &w);
	OPENSSL_free(name);
	return rc;
}

/* Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] INTEGER (1..999) OPTIONAL, micros [1] ... }
 * (RFC 3161 2.4.2); zero components are absent. */
static int build_accuracy(tsa_token_ctx *c, unsigned ms)
{
	struct der_w w;
	size_t m;

	if (ms == 0)
		return 0;
	der_w_init(&w);
	m = der_w_begin(&w);
	if (ms / 1000 != 0)
		der_w_uint(&w, DER_INTEGER, ms / 1000);
	if (ms % 1000 != 0)
		der_w_uint(&w, DER_CTX_PRIM(0), ms % 1000);
	der_w_end(&w, DER_SEQUENCE, m);
	return piece_take(&c->accuracy, &w);
}

void tsa_token_ctx_free(tsa_token_ctx *c)
{
	if (c == NULL)
		return;
	piece_free(&c->certs);
	piece_free(&c->sid);
	piece_free(&c->attr_ess);
	piece_free(&c->tsa_name);
	piece_free(&c->accuracy);
	piece_free(&c->sig_alg);
	EVP_PKEY_free(c->verify_key);
	free(c);
}

tsa_token_ctx *tsa_token_ctx_new(const struct tsa_token_conf *conf, int *err)
{
	tsa_token_ctx *c = NULL;
	int rc = VA_ERR_INVAL;

	if (conf->cert == NULL || conf->sign == NULL || conf->sig_alg_der == NULL || conf->sig_alg_len == 0 ||
	    conf->max_sig_len == 0)
		goto out;
	rc = VA_ERR_NOMEM;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto out;
	c->sign = conf->sign;
	c->sign_arg = conf->sign_arg;
	c->max_sig_len = conf->max_sig_len;
	c->precision_ms = conf->precision_ms;
	rc = build_certs(c, conf->cert, conf->chain);
	if (rc == 0)
		rc = build_sid_ess(c, conf->cert);
	if (rc == 0 && conf->tsa_name)
		rc = build_tsa_name(c, conf->cert);
	if (rc == 0)
		rc = build_accuracy(c, conf->accuracy_ms);
	if (rc != 0)
		goto out;
	rc = VA_ERR_NOMEM;
	c->sig_alg.p = malloc(conf->sig_alg_len);
	if (c->sig_alg.p == NULL)
		goto out;
	memcpy(c->sig_alg.p, conf->sig_alg_der, conf->sig_alg_len);
	c->sig_alg.n = conf->sig_alg_len;
	if (conf->verify) {
		rc = VA_ERR_CRYPTO;
		c->verify_key = X509_get_pubkey(conf->cert);
		if (c->verify_key == NULL)
			goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		tsa_token_ctx_free(c);
		c = NULL;
	}
	if (err != NULL)
		*err = rc;
	return c;
}

int tsa_gentime_format(struct timespec t, int precision_ms, char *out, size_t outlen)
{
	uint8_t tlv[DER_TIME_MAX];
	long ms;
	int n = 14;

	/* der_put_time writes "YYYYMMDDHHMMSSZ" after a 2-octet header; 0 past year 9999. */
	if (t.tv_sec < 0 || outlen < 24 || der_put_time(tlv, t.tv_sec, 1) != DER_TIME_MAX)
		return VA_ERR_RANGE;
	memcpy(out, tlv + 2, 14);
	/* Truncated, never rounded up: the token must not claim a time later than the one read. */
	ms = t.tv_nsec / 1000000;
	if (precision_ms && ms > 0 && ms < 1000) {
		int digits = 3;

		/* RFC 3161 2.4.2: the fraction MUST NOT end in zeros. */
		while (ms % 10 == 0) {
			ms /= 10;
			digits--;
		}
		n += snprintf(out + n, outlen - (size_t)n, ".%0*ld", digits, ms);
	}
	out[n++] = 'Z';
	out[n] = '\0';
	return n;
}

/* TSTInfo (RFC 3161 2.4.2) into w: version, policy, messageImprint, serialNumber, genTime, accuracy, ordering
 * (FALSE: the DEFAULT, so absent in DER), nonce, tsa, extensions (none). */
static int build_tstinfo(const tsa_token_ctx *c, const struct tsa_request *rq, uint64_t serial,
			 struct timespec gen_time, struct der_w *w)
{
	char gt[32];
	int gtlen = tsa_gentime_format(gen_time, c->precision_ms, gt, sizeof(gt));
	size_t m;

	if (gtlen < 0)
		return gtlen;
	m = der_w_begin(w);
	der_w_raw(w, INT_1, sizeof(INT_1));
	der_w_raw(w, rq->policy_der, rq->policy_len);
	der_w_raw(w, rq->imprint_der, rq->imprint_len);
	der_w_uint(w, DER_INTEGER, serial);
	der_w_tlv(w, DER_GENTIME, gt, (size_t)gtlen);
	der_w_raw(w, c->accuracy.p, c->accuracy.n);
	if (rq->has_nonce)
		der_w_raw(w, rq->nonce_der, rq->nonce_len); /* copied as sent (RFC 3161 2.4.2) */
	der_w_raw(w, c->tsa_name.p, c->tsa_name.n);
	der_w_end(w, DER_SEQUENCE, m);
	return w->err ? VA_ERR_RANGE : 0;
}

/* Attribute ::= SEQUENCE { attrType OID, attrValues SET OF AttributeValue } with one value (a whole TLV). */
static size_t attr_put(uint8_t *out, const uint8_t *oid, size_t oidlen, const uint8_t *val, size_t vallen)
{
	size_t n = der_put_hdr(out, DER_SEQUENCE, oidlen + der_tlv_size(vallen));

	memcpy(out + n, oid, oidlen);
	n += oidlen;
	return n + der_put_tlv(out + n, DER_SET, val, vallen);
}

/* Signed attributes (RFC 5652 5.3, 5.4): contentType, messageDigest, signingCertificateV2, DER-sorted.
 * Written as the SET OF that is signed (tag 0x31); the SignerInfo carries the same content under [0]. */
static int build_signed_attrs(const tsa_token_ctx *c, const uint8_t *digest, struct der_w *w)
{
	uint8_t ct_buf[64], md_buf[96], md_val[2 + SHA256_DIGEST_LENGTH];
	struct piece attrs[3];

	attrs[0].p = ct_buf;
	attrs[0].n = attr_put(ct_buf, OID_CONTENT_TYPE, sizeof(OID_CONTENT_TYPE), OID_CT_TSTINFO,
			      sizeof(OID_CT_TSTINFO));
	attrs[1].p = md_buf;
	attrs[1].n = attr_put(md_buf, OID_MESSAGE_DIGEST, sizeof(OID_MESSAGE_DIGEST), md_val,
			      der_put_tlv(md_val, DER_OCTET_STRING, digest, SHA256_DIGEST_LENGTH));
	attrs[2] = c->attr_ess;
	qsort(attrs, 3, sizeof(attrs[0]), piece_cmp);
	der_w_hdr(w, DER_SET, attrs[0].n + attrs[1].n + attrs[2].n);
	for (int i = 0; i < 3; i++)
		der_w_raw(w, attrs[i].p, attrs[i].n);
	return w->err ? VA_ERR_RANGE : 0;
}

static int verify_signature(const tsa_token_ctx *c, const uint8_t *tbs, size_t tbslen, const uint8_t *sig,
			    size_t siglen)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	int rc = VA_ERR_CRYPTO;

	if (mctx != NULL && EVP_DigestVerifyInit(mctx, NULL, EVP_sha256(), NULL, c->verify_key) == 1 &&
	    EVP_DigestVerify(mctx, sig, siglen, tbs, tbslen) == 1)
		rc = 0;
	EVP_MD_CTX_free(mctx);
	return rc;
}

/* Working memory of need octets: the stack buffer when it is large enough (the usual case: no allocation per
 * request), else a heap block returned through *heap for the caller to free. NULL if that allocation fails. */
static uint8_t *scratch(uint8_t *stack, size_t stack_len, size_t need, uint8_t **heap)
{
	if (need <= stack_len)
		return stack;
	*heap = malloc(need);
	return *heap;
}

int tsa_token_build(const tsa_token_ctx *c, const struct tsa_request *rq, uint64_t serial,
		    struct timespec gen_time, uint8_t **out, size_t *outlen)
{
	uint8_t tst_stack[1024], attr_stack[1024], sig_stack[1024], digest[SHA256_DIGEST_LENGTH];
	uint8_t *tst_heap = NULL, *attr_heap = NULL, *sig_heap = NULL, *buf = NULL, *p, *sig;
	size_t need, siglen = 0, si, si_set, certs, eci, sd, ci, resp, total;
	struct der_w tw, aw, w;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (serial == 0)
		return VA_ERR_INVAL; /* RFC 3161 2.4.2: serialNumber is a positive integer */
	/* Every field of TSTInfo is bounded: request.h's limits, the tsa name, and 256 for the rest. */
	need = rq->imprint_len + rq->nonce_len + rq->policy_len + c->tsa_name.n + c->accuracy.n + 256;
	rc = VA_ERR_NOMEM;
	p = scratch(tst_stack, sizeof(tst_stack), need, &tst_heap);
	if (p == NULL)
		goto out;
	der_w_init_fixed(&tw, p, need);
	rc = build_tstinfo(c, rq, serial, gen_time, &tw);
	if (rc != 0)
		goto out;
	rc = VA_ERR_CRYPTO;
	if (SHA256(tw.buf, tw.len, digest) == NULL)
		goto out;
	need = c->attr_ess.n + 256;
	rc = VA_ERR_NOMEM;
	p = scratch(attr_stack, sizeof(attr_stack), need, &attr_heap);
	if (p == NULL)
		goto out;
	der_w_init_fixed(&aw, p, need);
	rc = build_signed_attrs(c, digest, &aw);
	if (rc != 0)
		goto out;

	rc = VA_ERR_NOMEM;
	sig = scratch(sig_stack, sizeof(sig_stack), c->max_sig_len, &sig_heap);
	if (sig == NULL)
		goto out;
	siglen = c->max_sig_len;
	rc = c->sign(c->sign_arg, EVP_sha256(), aw.buf, aw.len, sig, &siglen);
	if (rc != 0)
		goto out;
	if (siglen == 0 || siglen > c->max_sig_len) {
		rc = VA_ERR_SIGNER;
		goto out;
	}
	if (c->verify_key != NULL && verify_signature(c, aw.buf, aw.len, sig, siglen) != 0) {
		log_err("tsa: a signature made by the signer does not verify with the TSA certificate");
		rc = VA_ERR_SIGNER;
		goto out;
	}

	/* Content lengths, innermost first (RFC 5652 5.1, 5.3; RFC 3161 2.4.2). */
	si = sizeof(INT_1) + c->sid.n + sizeof(ALG_SHA256) + aw.len + c->sig_alg.n + der_tlv_size(siglen);
	si_set = der_tlv_size(si);
	certs = rq->cert_req ? der_tlv_size(c->certs.n) : 0;
	eci = sizeof(OID_CT_TSTINFO) + der_tlv_size(der_tlv_size(tw.len));
	sd = sizeof(INT_3) + der_tlv_size(sizeof(ALG_SHA256)) + der_tlv_size(eci) + certs + der_tlv_size(si_set);
	ci = sizeof(OID_SIGNED_DATA) + der_tlv_size(der_tlv_size(sd));
	resp = sizeof(STATUS_GRANTED) + der_tlv_size(ci);
	total = der_tlv_size(resp);
	rc = VA_ERR_NOMEM;
	buf = malloc(total);
	if (buf == NULL)
		goto out;
	der_w_init_fixed(&w, buf, total);
	der_w_hdr(&w, DER_SEQUENCE, resp); /* TimeStampResp */
	der_w_raw(&w, STATUS_GRANTED, sizeof(STATUS_GRANTED));
	der_w_hdr(&w, DER_SEQUENCE, ci); /* ContentInfo (RFC 5652 3) */
	der_w_raw(&w, OID_SIGNED_DATA, sizeof(OID_SIGNED_DATA));
	der_w_hdr(&w, DER_CTX(0), der_tlv_size(sd));
	der_w_hdr(&w, DER_SEQUENCE, sd); /* SignedData */
	/* version 3: eContentType is not id-data (RFC 5652 5.1). */
	der_w_raw(&w, INT_3, sizeof(INT_3));
	der_w_tlv(&w, DER_SET, ALG_SHA256, sizeof(ALG_SHA256)); /* digestAlgorithms */
	/* encapContentInfo: eContentType id-ct-TSTInfo, eContent [0] EXPLICIT OCTET STRING. */
	der_w_hdr(&w, DER_SEQUENCE, eci);
	der_w_raw(&w, OID_CT_TSTINFO, sizeof(OID_CT_TSTINFO));
	der_w_hdr(&w, DER_CTX(0), der_tlv_size(tw.len));
	der_w_tlv(&w, DER_OCTET_STRING, tw.buf, tw.len);
	/* certificates [0] IMPLICIT CertificateSet, only when asked for (RFC 3161 2.4.1 certReq). */
	if (rq->cert_req)
		der_w_tlv(&w, DER_CTX(0), c->certs.p, c->certs.n);
	/* signerInfos SET OF SignerInfo (RFC 5652 5.3), version 1 (sid is issuerAndSerialNumber). */
	der_w_hdr(&w, DER_SET, si_set);
	der_w_hdr(&w, DER_SEQUENCE, si);
	der_w_raw(&w, INT_1, sizeof(INT_1));
	der_w_raw(&w, c->sid.p, c->sid.n);
	der_w_raw(&w, ALG_SHA256, sizeof(ALG_SHA256));
	/* signedAttrs [0] IMPLICIT: the signed SET with another tag octet, the same length and content. */
	der_w_raw(&w, &SIGNED_ATTRS_TAG, 1);
	der_w_raw(&w, aw.buf + 1, aw.len - 1);
	der_w_raw(&w, c->sig_alg.p, c->sig_alg.n);
	der_w_tlv(&w, DER_OCTET_STRING, sig, siglen);
	if (w.err != 0 || w.len != total) {
		rc = VA_ERR_RANGE; /* a length computed above is off: never hand that out */
		goto out;
	}
	*out = buf;
	*outlen = total;
	buf = NULL;
	rc = 0;
out:
	free(tst_heap);
	free(attr_heap);
	free(sig_heap);
	free(buf);
	return rc;
}

int tsa_reject_encode(const struct tsa_reject *rej, uint8_t *out, size_t outlen)
{
	struct der_w w;
	size_t m, m_info, m_text;

	der_w_init_fixed(&w, out, outlen);
	m = der_w_begin(&w);
	/* PKIStatusInfo ::= SEQUENCE { status, statusString PKIFreeText OPTIONAL, failInfo OPTIONAL } */
	m_info = der_w_begin(&w);
	der_w_uint(&w, DER_INTEGER, (uint64_t)rej->status);
	if (rej->text != NULL) {
		m_text = der_w_begin(&w);
		der_w_tlv(&w, DER_UTF8STRING, rej->text, strlen(rej->text));
		der_w_end(&w, DER_SEQUENCE, m_text);
	}
	if (rej->failure >= 0 && rej->failure <= 31) {
		/* Named BIT STRING in DER: trailing zero bits dropped (X.690 11.2.2). */
		uint8_t bits[5] = { 0 };
		size_t nbytes = (size_t)rej->failure / 8 + 1;

		bits[0] = (uint8_t)(7 - rej->failure % 8);
		bits[nbytes] = (uint8_t)(0x80 >> (rej->failure % 8));
		der_w_tlv(&w, DER_BIT_STRING, bits, nbytes + 1);
	}
	der_w_end(&w, DER_SEQUENCE, m_info);
	der_w_end(&w, DER_SEQUENCE, m);
	if (w.err)
		return VA_ERR_RANGE;
	return (int)w.len;
}
