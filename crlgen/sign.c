/*
 * sign.c: signs CRLs through common/signer (the CA's key, in the HSM: RFC 5280 5.1.1.3, the CRL issuer signs).
 * The digest is computed by the streaming builder; only the digest crosses to the token.
 */
#include "crlgen.h"

static int signer_sign_cb(void *arg, const uint8_t *dgst, size_t dlen, uint8_t *sig, size_t *siglen)
{
	return signer_sign_digest(arg, EVP_sha256(), dgst, dlen, sig, siglen);
}

int crl_sign_ops_signer(struct crl_sign_ops *ops, signer *s)
{
	int n = signer_sig_alg_der(s, EVP_sha256(), ops->alg, sizeof(ops->alg));

	if (n <= 0)
		return n < 0 ? n : VA_ERR_SIGNER;
	ops->alg_len = (size_t)n;
	ops->md = EVP_sha256();
	ops->max_sig = signer_max_sig_len(s);
	if (ops->max_sig == 0 || ops->max_sig > CRL_SIG_MAX)
		return VA_ERR_SIGNER;
	ops->sign = signer_sign_cb;
	ops->arg = s;
	return 0;
}
