/* test_ocsp_pki.h: throw-away keys and certificates for the OCSP unit tests (OpenSSL only). */
#ifndef TEST_OCSP_PKI_H
#define TEST_OCSP_PKI_H

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static inline EVP_PKEY *tp_key(void)
{
	return EVP_EC_gen("P-256");
}

static inline void tp_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext != NULL) {
		X509_add_ext(cert, ext, -1);
		X509_EXTENSION_free(ext);
	}
}

/* A certificate for key named cn, signed by issuer/ikey (self-signed when issuer is NULL). eku: extendedKeyUsage
 * value or NULL; nocheck: add id-pkix-ocsp-nocheck. */
static inline X509 *tp_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, long serial, int ca,
			    const char *eku, int nocheck)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();

	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(c, n);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(c), -86400);
	X509_gmtime_adj(X509_getm_notAfter(c), 86400L * 365);
	X509_set_pubkey(c, key);
	tp_ext(c, issuer, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		tp_ext(c, issuer, NID_authority_key_identifier, "keyid");
	tp_ext(c, issuer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	if (eku != NULL)
		tp_ext(c, issuer, NID_ext_key_usage, eku);
	if (nocheck)
		tp_ext(c, issuer, NID_id_pkix_OCSP_noCheck, "ignored");
	X509_sign(c, ikey ? ikey : key, EVP_sha256());
	return c;
}

#endif
