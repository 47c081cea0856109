/*
 * fuzz_tsa_request.c: the tsad request path on arbitrary bytes: TimeStampReq parsing and validation, then the
 * response the daemon would send (a signed token for accepted requests, a rejection otherwise). Every granted
 * response must decode again with OpenSSL, and every accepted request too, to the same fields: the DER walk of
 * tsa/request.c is stricter than d2i_TS_REQ, never laxer (tests/unit/test_tsa_request_diff.c has the rest).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ts.h>

#include "../../tsa/request.h"
#include "../../tsa/token.h"
#include "../unit/test_tsa_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tsa_accept acc;
static struct tt_pki pki;
static tsa_token_ctx *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct tsa_token_conf tc;
	static uint8_t sig_alg[64];
	int n, err;

	(void)argc;
	(void)argv;
	if (tsa_accept_set_policy(&acc, "1.3.6.1.4.1.55555.1.1") != 0 ||
	    tsa_accept_add_policy(&acc, "1.3.6.1.4.1.55555.1.2") != 0 || tsa_accept_add_digest(&acc, "sha256") != 0 ||
	    tsa_accept_add_digest(&acc, "sha384") != 0 || tsa_accept_add_digest(&acc, "sha512") != 0 ||
	    tt_pki_init(&pki, EVP_PKEY_EC, 1) != 0)
		abort();
	n = tt_sig_alg_der(pki.key, sig_alg, sizeof(sig_alg));
	if (n <= 0)
		abort();
	memset(&tc, 0, sizeof(tc));
	tc.cert = pki.cert;
	tc.chain = pki.chain;
	tc.sig_alg_der = sig_alg;
	tc.sig_alg_len = (size_t)n;
	tc.max_sig_len = (size_t)EVP_PKEY_get_size(pki.key);
	tc.sign = tt_sign;
	tc.sign_arg = pki.key;
	tc.accuracy_ms = 1000;
	tc.precision_ms = 1;
	tc.tsa_name = 1;
	tok = tsa_token_ctx_new(&tc, &err);
	if (tok == NULL)
		abort();
	return 0;
}

/* 1 if d2i_TS_REQ decodes the whole input to the imprint, nonce and certReq that tsa_request_parse found. */
static int openssl_agrees(const uint8_t *data, size_t size, const struct tsa_request *rq)
{
	const unsigned char *p = data;
	TS_REQ *req = d2i_TS_REQ(NULL, &p, (long)size);
	unsigned char *imp = NULL, *nonce = NULL;
	int ok = 0, ni = 0, nn = 0;

	if (req != NULL && p == data + size) {
		ni = i2d_TS_MSG_IMPRINT(TS_REQ_get_msg_imprint(req), &imp);
		if (TS_REQ_get_nonce(req) != NULL)
			nn = i2d_ASN1_INTEGER(TS_REQ_get_nonce(req), &nonce);
		ok = ni > 0 && (size_t)ni == rq->imprint_len && memcmp(imp, rq->imprint_der, rq->imprint_len) == 0 &&
		     (TS_REQ_get_nonce(req) != NULL) == rq->has_nonce &&
		     (TS_REQ_get_cert_req(req) != 0) == (rq->cert_req != 0);
		if (ok && rq->has_nonce)
			ok = (size_t)nn == rq->nonce_len && memcmp(nonce, rq->nonce_der, rq->nonce_len) == 0;
	}
	OPENSSL_free(imp);
	OPENSSL_free(nonce);
	TS_REQ_free(req);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsa_request rq;
	struct tsa_reject rej;
	struct timespec t = { 1700000000, 123000000 };
	uint8_t rbuf[512], *resp = NULL;
	const unsigned char *p;
	size_t resp_len = 0;
	TS_RESP *r;
	int n;

	if (tsa_request_parse(&acc, data, size, &rq, &rej) != 0) {
		if (rej.status != TSA_STATUS_REJECTION || rej.text == NULL)
			abort();
		n = tsa_reject_encode(&rej, rbuf, sizeof(rbuf));
		if (n <= 0)
			abort();
		ERR_clear_error();
		return 0;
	}
	if (!openssl_agrees(data, size, &rq))
		abort();
	if (tsa_token_build(tok, &rq, 12345, t, &resp, &resp_len) != 0)
		abort();
	p = resp;
	r = d2i_TS_RESP(NULL, &p, (long)resp_len);
	if (r == NULL || p != resp + resp_len)
		abort();
	TS_RESP_free(r);
	free(resp);
	ERR_clear_error();
	return 0;
}
