/*
 * token.c: TimeStampResp encoding (RFC 3161 2.4.2) with a CMS SignedData token (RFC 5652 5) whose signed
 * attributes carry ESSCertIDv2 / SHA-256 (RFC 5816 2.2.1).
 *
 * DER is written back to front ("reverse writer"): a constructed value's content is written first, then its
 * length is known and its header is put in front. No intermediate allocation per element.
 */
#include "token.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/sha.h>
#include <openssl/ts.h>

#include "log.h"

/* Tags (X.690). */
#define T_INT 0x02
#define T_BITSTR 0x03
#define T_OCTSTR 0x04
#define T_UTF8 0x0c
#define T_GENTIME 0x18
#define T_SEQ 0x30
#define T_SET 0x31
#define T_CTX0 0xa0 /* [0] constructed */
#define T_CTX4 0xa4 /* [4] constructed: directoryName */
#define T_CTX0_PRIM 0x80 /* [0] primitive: Accuracy.millis */

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

/* ---- reverse DER writer ---- */

struct dw {
	uint8_t *buf;
	size_t cap;
	size_t pos; /* written data is buf[pos, cap) */
	int err;
};

static void dw_init(struct dw *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->pos = cap;
	w->err = buf == NULL;
}

static size_t dw_len(const struct dw *w)
{
	return w->cap - w->pos;
}

static const uint8_t *dw_data(const struct dw *w)
{
	return w->buf + w->pos;
}

static void dw_raw(struct dw *w, const void *p, size_t n)
{
	if (w->err || n > w->pos) {
		w->err = 1;
		return;
	}
	w->pos -= n;
	if (n > 0)
		memcpy(w->buf + w->pos, p, n);
}

static void dw_byte(struct dw *w, uint8_t b)
{
	dw_raw(w, &b, 1);
}

/* Puts tag and definite length (X.690 8.1.3) in front of len octets already written. */
static void dw_hdr(struct dw *w, uint8_t tag, size_t len)
{
	if (len < 0x80) {
		dw_byte(w, (uint8_t)len);
	} else {
		uint8_t n = 0;

		while (len > 0) {
			dw_byte(w, (uint8_t)(len & 0xff));
			len >>= 8;
			n++;
		}
		dw_byte(w, (uint8_t)(0x80 | n));
	}
	dw_byte(w, tag);
}

/* Wraps everything written since mark (a dw_len() value) in tag. */
static void dw_wrap(struct dw *w, uint8_t tag, size_t mark)
{
	dw_hdr(w, tag, dw_len(w) - mark);
}

static void dw_tlv(struct dw *w, uint8_t tag, const void *p, size_t n)
{
	dw_raw(w, p, n);
	dw_hdr(w, tag, n);
}

/* A non-negative INTEGER (X.690 8.3: minimal octets, a leading zero when the top bit is set). */
static void dw_uint(struct dw *w, uint8_t tag, uint64_t v)
{
	size_t mark = dw_len(w);

	do {
		dw_byte(w, (uint8_t)(v & 0xff));
		v >>= 8;
	} while (v > 0);
	if (w->pos < w->cap && (w->buf[w->pos] & 0x80))
		dw_byte(w, 0);
	dw_wrap(w, tag, mark);
}

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

/* Copies the writer's output into a new piece. */
static int piece_take(struct piece *pc, const struct dw *w)
{
	if (w->err)
		return VA_ERR_RANGE;
	pc->n = dw_len(w);
	pc->p = malloc(pc->n > 0 ? pc->n : 1);
	if (pc->p == NULL)
		return VA_ERR_NOMEM;
	memcpy(pc->p, dw_data(w), pc->n);
	return 0;
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

static int der_of_name(const X509_NAME *name, uint8_t **out, int *len)
{
	*out = NULL;
	*len = i2d_X509_NAME(name, out);
	return *len > 0 ? 0 : VA_ERR_CRYPTO;
}

static int der_of_int(const ASN1_INTEGER *v, uint8_t **out, int *len)
{
	*out = NULL;
	*len = i2d_ASN1_INTEGER(v, out);
	return *len > 0 ? 0 : VA_ERR_CRYPTO;
}

/* SET OF order (X.690 11.6): encodings compared as octet strings, the shorter padded with zeros. */
static int der_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
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

	return der_cmp(a->p, a->n, b->p, b->n);
}

static int build_certs(tsa_token_ctx *c, X509 *cert, STACK_OF(X509) *chain)
{
	int n = 1 + (chain != NULL ? sk_X509_num(chain) : 0), rc = VA_ERR_NOMEM;
	struct piece *ders = calloc((size_t)n, sizeof(*ders));
	size_t total = 0;
	struct dw w;

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
		total += ders[i].n;
	}
	qsort(ders, (size_t)n, sizeof(*ders), piece_cmp);
	c->certs.p = malloc(total);
	if (c->certs.p == NULL)
		goto out;
	dw_init(&w, c->certs.p, total);
	for (int i = n - 1; i >= 0; i--)
		dw_raw(&w, ders[i].p, ders[i].n);
	c->certs.n = total;
	rc = w.err ? VA_ERR_RANGE : 0;
out:
	for (int i = 0; i < n; i++)
		OPENSSL_free(ders[i].p);
	free(ders);
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
	size_t cap, mark, m1, m2, m3, m4;
	uint8_t *buf = NULL;
	struct dw w;

	rc = der_of_name(X509_get_issuer_name(cert), &name, &name_len);
	if (rc == 0)
		rc = der_of_int(X509_get0_serialNumber(cert), &serial, &serial_len);
	if (rc != 0)
		goto out;
	cder_len = i2d_X509(cert, &cder);
	if (cder_len <= 0 || SHA256(cder, (size_t)cder_len, hash) == NULL) {
		rc = VA_ERR_CRYPTO;
		goto out;
	}
	cap = (size_t)name_len + (size_t)serial_len + 128;
	buf = malloc(cap);
	rc = VA_ERR_NOMEM;
	if (buf == NULL)
		goto out;

	dw_init(&w, buf, cap);
	dw_raw(&w, serial, (size_t)serial_len);
	dw_raw(&w, name, (size_t)name_len);
	dw_wrap(&w, T_SEQ, 0);
	rc = piece_take(&c->sid, &w);
	if (rc != 0)
		goto out;

	dw_init(&w, buf, cap);
	m1 = dw_len(&w);        /* Attribute */
	m2 = dw_len(&w);        /* SET */
	m3 = dw_len(&w);        /* SigningCertificateV2 */
	m4 = dw_len(&w);        /* certs */
	mark = dw_len(&w);      /* ESSCertIDv2 */
	{
		size_t is = dw_len(&w); /* IssuerSerial */
		size_t gn;

		dw_raw(&w, serial, (size_t)serial_len);
		gn = dw_len(&w);
		dw_raw(&w, name, (size_t)name_len);
		dw_wrap(&w, T_CTX4, gn);
		dw_wrap(&w, T_SEQ, gn);
		dw_wrap(&w, T_SEQ, is);
	}
	dw_tlv(&w, T_OCTSTR, hash, sizeof(hash));
	dw_wrap(&w, T_SEQ, mark);
	dw_wrap(&w, T_SEQ, m4);
	dw_wrap(&w, T_SEQ, m3);
	dw_wrap(&w, T_SET, m2);
	dw_raw(&w, OID_SIGNING_CERT_V2, sizeof(OID_SIGNING_CERT_V2));
	dw_wrap(&w, T_SEQ, m1);
	rc = piece_take(&c->attr_ess, &w);
out:
	OPENSSL_free(name);
	OPENSSL_free(serial);
	OPENSSL_free(cder);
	free(buf);
	return rc;
}

/* tsa [0] GeneralName (RFC 3161 2.4.2): the directoryName of the TSA certificate's subject. GeneralName is a
 * CHOICE, so [0] is explicit; directoryName [4] wraps a Name (a CHOICE too), explicit as well. */
static int build_tsa_name(tsa_token_ctx *c, X509 *cert)
{
	uint8_t *name = NULL, *buf = NULL;
	int name_len, rc;
	size_t cap;
	struct dw w;

	rc = der_of_name(X509_get_subject_name(cert), &name, &name_len);
	if (rc != 0)
		return rc;
	cap = (size_t)name_len + 16;
	buf = malloc(cap);
	rc = VA_ERR_NOMEM;
	if (buf != NULL) {
		dw_init(&w, buf, cap);
		dw_raw(&w, name, (size_t)name_len);
		dw_wrap(&w, T_CTX4, 0);
		dw_wrap(&w, T_CTX0, 0);
		rc = piece_take(&c->tsa_name, &w);
	}
	OPENSSL_free(name);
	free(buf);
	return rc;
}

/* Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] INTEGER (1..999) OPTIONAL, micros [1] ... }
 * (RFC 3161 2.4.2); zero components are absent. */
static int build_accuracy(tsa_token_ctx *c, unsigned ms)
{
	uint8_t buf[32];
	struct dw w;

	if (ms == 0)
		return 0;
	dw_init(&w, buf, sizeof(buf));
	if (ms % 1000 != 0)
		dw_uint(&w, T_CTX0_PRIM, ms % 1000);
	if (ms / 1000 != 0)
		dw_uint(&w, T_INT, ms / 1000);
	dw_wrap(&w, T_SEQ, 0);
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
	struct dw w;
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
	dw_init(&w, c->sig_alg.p, conf->sig_alg_len);
	dw_raw(&w, conf->sig_alg_der, conf->sig_alg_len);
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
	struct tm tm;
	long ms;
	int n;

	if (t.tv_sec < 0 || gmtime_r(&t.tv_sec, &tm) == NULL || tm.tm_year + 1900 > 9999 || outlen < 24)
		return VA_ERR_RANGE;
	n = snprintf(out, outlen, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		     tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n != 14)
		return VA_ERR_RANGE;
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

static int build_tstinfo(const tsa_token_ctx *c, const struct tsa_request *rq, uint64_t serial,
			 struct timespec gen_time, struct dw *w)
{
	char gt[32];
	int gtlen = tsa_gentime_format(gen_time, c->precision_ms, gt, sizeof(gt));

	if (gtlen < 0)
		return gtlen;
	/* TSTInfo (RFC 3161 2.4.2), back to front: extensions (none), tsa, nonce, ordering (FALSE: the DEFAULT,
	 * so absent in DER), accuracy, genTime, serialNumber, messageImprint, policy, version. */
	dw_raw(w, c->tsa_name.p, c->tsa_name.n);
	if (rq->has_nonce)
		dw_raw(w, rq->nonce_der, rq->nonce_len); /* copied as sent (RFC 3161 2.4.2) */
	dw_raw(w, c->accuracy.p, c->accuracy.n);
	dw_tlv(w, T_GENTIME, gt, (size_t)gtlen);
	dw_uint(w, T_INT, serial);
	dw_raw(w, rq->imprint_der, rq->imprint_len);
	dw_raw(w, rq->policy_der, rq->policy_len);
	dw_uint(w, T_INT, 1);
	dw_wrap(w, T_SEQ, 0);
	return w->err ? VA_ERR_RANGE : 0;
}

/* Signed attributes (RFC 5652 5.3, 5.4): contentType, messageDigest, signingCertificateV2, DER-sorted.
 * Written as the SET OF that is signed (tag 0x31); the SignerInfo carries the same content under [0]. */
static int build_signed_attrs(const tsa_token_ctx *c, const uint8_t *digest, struct dw *w)
{
	uint8_t ct_buf[64], md_buf[96];
	struct dw ct, md;
	struct piece attrs[3];

	dw_init(&ct, ct_buf, sizeof(ct_buf));
	dw_raw(&ct, OID_CT_TSTINFO, sizeof(OID_CT_TSTINFO));
	dw_wrap(&ct, T_SET, 0);
	dw_raw(&ct, OID_CONTENT_TYPE, sizeof(OID_CONTENT_TYPE));
	dw_wrap(&ct, T_SEQ, 0);

	dw_init(&md, md_buf, sizeof(md_buf));
	dw_tlv(&md, T_OCTSTR, digest, SHA256_DIGEST_LENGTH);
	dw_wrap(&md, T_SET, 0);
	dw_raw(&md, OID_MESSAGE_DIGEST, sizeof(OID_MESSAGE_DIGEST));
	dw_wrap(&md, T_SEQ, 0);
	if (ct.err || md.err)
		return VA_ERR_RANGE;

	attrs[0].p = (uint8_t *)dw_data(&ct);
	attrs[0].n = dw_len(&ct);
	attrs[1].p = (uint8_t *)dw_data(&md);
	attrs[1].n = dw_len(&md);
	attrs[2] = c->attr_ess;
	qsort(attrs, 3, sizeof(attrs[0]), piece_cmp);
	for (int i = 2; i >= 0; i--)
		dw_raw(w, attrs[i].p, attrs[i].n);
	dw_wrap(w, T_SET, 0);
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
	size_t need, cap, siglen = 0, m_si, m_eci;
	struct dw tw, aw, w;
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
	dw_init(&tw, p, need);
	rc = build_tstinfo(c, rq, serial, gen_time, &tw);
	if (rc != 0)
		goto out;
	rc = VA_ERR_CRYPTO;
	if (SHA256(dw_data(&tw), dw_len(&tw), digest) == NULL)
		goto out;
	need = c->attr_ess.n + 256;
	rc = VA_ERR_NOMEM;
	p = scratch(attr_stack, sizeof(attr_stack), need, &attr_heap);
	if (p == NULL)
		goto out;
	dw_init(&aw, p, need);
	rc = build_signed_attrs(c, digest, &aw);
	if (rc != 0)
		goto out;

	rc = VA_ERR_NOMEM;
	sig = scratch(sig_stack, sizeof(sig_stack), c->max_sig_len, &sig_heap);
	if (sig == NULL)
		goto out;
	siglen = c->max_sig_len;
	rc = c->sign(c->sign_arg, EVP_sha256(), dw_data(&aw), dw_len(&aw), sig, &siglen);
	if (rc != 0)
		goto out;
	if (siglen == 0 || siglen > c->max_sig_len) {
		rc = VA_ERR_SIGNER;
		goto out;
	}
	if (c->verify_key != NULL && verify_signature(c, dw_data(&aw), dw_len(&aw), sig, siglen) != 0) {
		log_err("tsa: a signature made by the signer does not verify with the TSA certificate");
		rc = VA_ERR_SIGNER;
		goto out;
	}

	cap = dw_len(&tw) + dw_len(&aw) + c->certs.n + c->sid.n + c->sig_alg.n + siglen + 256;
	rc = VA_ERR_NOMEM;
	buf = malloc(cap);
	if (buf == NULL)
		goto out;
	dw_init(&w, buf, cap);
	/* signerInfos SET OF SignerInfo (RFC 5652 5.3), version 1 (sid is issuerAndSerialNumber). */
	m_si = dw_len(&w);
	dw_tlv(&w, T_OCTSTR, sig, siglen);
	dw_raw(&w, c->sig_alg.p, c->sig_alg.n);
	/* signedAttrs [0] IMPLICIT: same content as the signed SET, other tag. */
	dw_raw(&w, dw_data(&aw), dw_len(&aw));
	if (!w.err)
		w.buf[w.pos] = T_CTX0;
	dw_raw(&w, ALG_SHA256, sizeof(ALG_SHA256));
	dw_raw(&w, c->sid.p, c->sid.n);
	dw_uint(&w, T_INT, 1);
	dw_wrap(&w, T_SEQ, m_si);
	dw_wrap(&w, T_SET, 0);
	/* certificates [0] IMPLICIT CertificateSet, only when asked for (RFC 3161 2.4.1 certReq). */
	if (rq->cert_req) {
		dw_raw(&w, c->certs.p, c->certs.n);
		dw_hdr(&w, T_CTX0, c->certs.n);
	}
	/* encapContentInfo: eContentType id-ct-TSTInfo, eContent [0] EXPLICIT OCTET STRING. */
	m_eci = dw_len(&w);
	dw_tlv(&w, T_OCTSTR, dw_data(&tw), dw_len(&tw));
	dw_wrap(&w, T_CTX0, m_eci);
	dw_raw(&w, OID_CT_TSTINFO, sizeof(OID_CT_TSTINFO));
	dw_wrap(&w, T_SEQ, m_eci);
	/* digestAlgorithms */
	dw_tlv(&w, T_SET, ALG_SHA256, sizeof(ALG_SHA256));
	/* version 3: eContentType is not id-data (RFC 5652 5.1). */
	dw_uint(&w, T_INT, 3);
	dw_wrap(&w, T_SEQ, 0); /* SignedData */
	dw_wrap(&w, T_CTX0, 0);
	dw_raw(&w, OID_SIGNED_DATA, sizeof(OID_SIGNED_DATA));
	dw_wrap(&w, T_SEQ, 0); /* ContentInfo (RFC 5652 3) */
	dw_raw(&w, STATUS_GRANTED, sizeof(STATUS_GRANTED));
	dw_wrap(&w, T_SEQ, 0);
	if (w.err) {
		rc = VA_ERR_RANGE;
		goto out;
	}
	*outlen = dw_len(&w);
	memmove(buf, dw_data(&w), *outlen);
	*out = buf;
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
	struct dw w;

	dw_init(&w, out, outlen);
	/* PKIStatusInfo ::= SEQUENCE { status, statusString PKIFreeText OPTIONAL, failInfo OPTIONAL } */
	if (rej->failure >= 0 && rej->failure <= 31) {
		/* Named BIT STRING in DER: trailing zero bits dropped (X.690 11.2.2). */
		uint8_t bits[5] = { 0 };
		size_t nbytes = (size_t)rej->failure / 8 + 1;

		bits[0] = (uint8_t)(7 - rej->failure % 8);
		bits[nbytes] = (uint8_t)(0x80 >> (rej->failure % 8));
		dw_tlv(&w, T_BITSTR, bits, nbytes + 1);
	}
	if (rej->text != NULL) {
		size_t mark = dw_len(&w);

		dw_tlv(&w, T_UTF8, rej->text, strlen(rej->text));
		dw_wrap(&w, T_SEQ, mark);
	}
	dw_uint(&w, T_INT, (uint64_t)rej->status);
	dw_wrap(&w, T_SEQ, 0);
	dw_wrap(&w, T_SEQ, 0);
	if (w.err)
		return VA_ERR_RANGE;
	memmove(out, dw_data(&w), dw_len(&w));
	return (int)dw_len(&w);
}
