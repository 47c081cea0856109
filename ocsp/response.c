#include "response.h"

#include <stdlib.h>
#include <string.h>

#include "der.h"

/* id-pkix-ocsp-basic 1.3.6.1.5.5.7.48.1.1 */
static const uint8_t oid_basic[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01 };
/* id-pkix-ocsp-nonce 1.3.6.1.5.5.7.48.1.2 */
static const uint8_t oid_nonce[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02 };
/* id-pkix-ocsp-extended-revoke 1.3.6.1.5.5.7.48.1.9 */
static const uint8_t oid_ext_revoke[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x09 };
/* id-ce-invalidityDate 2.5.29.24 */
static const uint8_t oid_invalidity[] = { 0x55, 0x1d, 0x18 };

static const uint8_t err_resp[7][5] = {
	{ 0x30, 0x03, 0x0a, 0x01, 0x00 }, { 0x30, 0x03, 0x0a, 0x01, 0x01 }, { 0x30, 0x03, 0x0a, 0x01, 0x02 },
	{ 0x30, 0x03, 0x0a, 0x01, 0x03 }, { 0x30, 0x03, 0x0a, 0x01, 0x04 }, { 0x30, 0x03, 0x0a, 0x01, 0x05 },
	{ 0x30, 0x03, 0x0a, 0x01, 0x06 },
};

const uint8_t *ocsp_response_error(int status, size_t *len)
{
	/* 0 (successful) and 4 (unused) never go out unsigned. */
	if (status < 1 || status > 6 || status == 4)
		status = OCSP_INTERNAL_ERROR;
	*len = sizeof(err_resp[0]);
	return err_resp[status];
}

static void single_write(struct der_w *w, const struct ocsp_single *s, const struct ocsp_resp_times *tm)
{
	size_t m = der_w_begin(w), m2;

	der_w_raw(w, s->certid_der, s->certid_len);
	switch (s->status) {
	case OCSP_CS_GOOD:
		der_w_tlv(w, DER_CTX_PRIM(0), NULL, 0);
		break;
	case OCSP_CS_REVOKED:
		/* revoked [1] IMPLICIT RevokedInfo { revocationTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL } */
		m2 = der_w_begin(w);
		der_w_gentime(w, s->revoked_at);
		if (s->reason >= 0) {
			uint8_t r = (uint8_t)s->reason;
			size_t m3 = der_w_begin(w);

			der_w_tlv(w, DER_ENUMERATED, &r, 1);
			der_w_end(w, DER_CTX(0), m3);
		}
		der_w_end(w, DER_CTX(1), m2);
		break;
	default:
		der_w_tlv(w, DER_CTX_PRIM(2), NULL, 0);
		break;
	}
	der_w_gentime(w, tm->this_update);
	m2 = der_w_begin(w);
	der_w_gentime(w, tm->next_update);
	der_w_end(w, DER_CTX(0), m2);
	if (s->status == OCSP_CS_REVOKED && s->has_invalidity) {
		size_t mx = der_w_begin(w), ms, me, mv;

		ms = der_w_begin(w);
		me = der_w_begin(w);
		der_w_tlv(w, DER_OID, oid_invalidity, sizeof(oid_invalidity));
		mv = der_w_begin(w);
		der_w_gentime(w, s->invalidity);
		der_w_end(w, DER_OCTET_STRING, mv);
		der_w_end(w, DER_SEQUENCE, me);
		der_w_end(w, DER_SEQUENCE, ms);
		der_w_end(w, DER_CTX(1), mx);
	}
	der_w_end(w, DER_SEQUENCE, m);
}

int ocsp_response_build(const struct ocsp_resp_signer *sg, const struct ocsp_single *s, size_t n,
			const struct ocsp_resp_times *tm, const uint8_t *nonce_ext, size_t nonce_len, uint8_t **out,
			size_t *outlen)
{
	struct der_w w;
	uint8_t *sig = NULL;
	size_t siglen = 0, tbs_end, m, mb, mr, mo, mx;
	int ext_revoke = 0, rc;
	uint8_t status = OCSP_SUCCESSFUL;

	*out = NULL;
	*outlen = 0;
	der_w_init(&w);
	/* Outer layers are opened first so the signed ResponseData is written once, in place. */
	m = der_w_begin(&w);
	der_w_tlv(&w, DER_ENUMERATED, &status, 1);
	mr = der_w_begin(&w);
	mb = der_w_begin(&w);
	der_w_tlv(&w, DER_OID, oid_basic, sizeof(oid_basic));
	mo = der_w_begin(&w);
	size_t mbasic = der_w_begin(&w);

	/* ResponseData (RFC 6960 4.2.1); version v1 is the DEFAULT and so omitted in DER. */
	size_t mtbs = der_w_begin(&w);
	der_w_raw(&w, sg->responder_id, sg->responder_id_len);
	der_w_gentime(&w, tm->produced_at);
	size_t ml = der_w_begin(&w);
	for (size_t i = 0; i < n; i++) {
		single_write(&w, &s[i], tm);
		ext_revoke |= s[i].extended_revoke;
	}
	der_w_end(&w, DER_SEQUENCE, ml);
	if (nonce_ext != NULL || ext_revoke) {
		size_t ms, me;

		mx = der_w_begin(&w);
		ms = der_w_begin(&w);
		if (nonce_ext != NULL) {
			/* RFC 8954 2.1: the response carries the request's nonce unchanged. */
			me = der_w_begin(&w);
			der_w_tlv(&w, DER_OID, oid_nonce, sizeof(oid_nonce));
			der_w_tlv(&w, DER_OCTET_STRING, nonce_ext, nonce_len);
			der_w_end(&w, DER_SEQUENCE, me);
		}
		if (ext_revoke) {
			/* RFC 6960 4.4.8: MUST be included when "revoked" is answered for a non-issued certificate; the
			 * value is NULL and the extension is not critical. */
			static const uint8_t null_der[] = { 0x05, 0x00 };

			me = der_w_begin(&w);
			der_w_tlv(&w, DER_OID, oid_ext_revoke, sizeof(oid_ext_revoke));
			der_w_tlv(&w, DER_OCTET_STRING, null_der, sizeof(null_der));
			der_w_end(&w, DER_SEQUENCE, me);
		}
		der_w_end(&w, DER_SEQUENCE, ms);
		der_w_end(&w, DER_CTX(1), mx);
	}
	der_w_end(&w, DER_SEQUENCE, mtbs);
	if (w.err) {
		rc = w.err;
		goto out;
	}
	tbs_end = w.len;

	sig = malloc(sg->max_sig + 1);
	if (sig == NULL) {
		rc = VA_ERR_NOMEM;
		goto out;
	}
	siglen = sg->max_sig;
	rc = sg->sign(sg->sign_arg, w.buf + mtbs, tbs_end - mtbs, sig + 1, &siglen);
	if (rc != 0)
		goto out;
	der_w_raw(&w, sg->sig_alg, sg->sig_alg_len);
	/* BIT STRING: a leading octet of unused bits (0). */
	sig[0] = 0;
	der_w_tlv(&w, DER_BIT_STRING, sig, siglen + 1);
	if (sg->certs != NULL && sg->certs_len > 0) {
		size_t mc = der_w_begin(&w), mcs = der_w_begin(&w);

		der_w_raw(&w, sg->certs, sg->certs_len);
		der_w_end(&w, DER_SEQUENCE, mcs);
		der_w_end(&w, DER_CTX(0), mc);
	}
	der_w_end(&w, DER_SEQUENCE, mbasic);
	der_w_end(&w, DER_OCTET_STRING, mo);
	der_w_end(&w, DER_SEQUENCE, mb);
	der_w_end(&w, DER_CTX(0), mr);
	der_w_end(&w, DER_SEQUENCE, m);
	rc = der_w_take(&w, out, outlen);
out:
	free(sig);
	der_w_free(&w);
	return rc;
}
