/*
 * fuzz_tsa_request.c: the tsad request path on arbitrary bytes: TimeStampReq parsing and validation, then the
 * response the daemon would send (a signed token for accepted requests, a rejection otherwise). Every granted
 * response must decode again with OpenSSL.
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
