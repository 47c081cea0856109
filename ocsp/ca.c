#include "ca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "der.h"

static int same_key(X509 *a, X509 *b)
{
	EVP_PKEY *ka = X509_get0_pubkey(a), *kb = X509_get0_pubkey(b);

	return ka != NULL && kb != NULL && EVP_PKEY_eq(ka, kb) == 1;
}

int ocsp_ca_check_signer(X509 *ca, X509 *cert, int *delegated, int *nocheck, char *why, size_t whylen)
{
	EVP_PKEY *cakey;
	uint32_t xku;

	*delegated = 0;
	*nocheck = 0;
	if (ca == NULL || cert == NULL) {
		snprintf(why, whylen, "no certificate");
		return VA_ERR_SIGNER;
	}
	if (X509_NAME_cmp(X509_get_subject_name(ca), X509_get_subject_name(cert)) == 0 && same_key(ca, cert))
		return 0;
	/* RFC 6960 4.2.2.2: a delegated responder's certificate is issued directly by the CA ... */
	if (X509_check_issued(ca, cert) != X509_V_OK) {
		snprintf(why, whylen, "signer certificate is not issued by this CA (issuer name or key identifier differs)");
		return VA_ERR_SIGNER;
	}
	cakey = X509_get0_pubkey(ca);
	if (cakey == NULL || X509_verify(cert, cakey) != 1) {
		ERR_clear_error();
		snprintf(why, whylen, "signer certificate's signature does not verify with this CA's key");
		return VA_ERR_SIGNER;
	}
	/* ... and carries id-kp-OCSPSigning in its extendedKeyUsage. */
	xku = X509_get_extended_key_usage(cert);
	if (!(X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) || !(xku & XKU_OCSP_SIGN)) {
		snprintf(why, whylen, "signer certificate lacks the id-kp-OCSPSigning extended key usage");
		return VA_ERR_SIGNER;
	}
	*delegated = 1;
	*nocheck = X509_get_ext_by_NID(cert, NID_id_pkix_OCSP_noCheck, -1) >= 0;
	return 0;
}

int ocsp_ca_responder_id(X509 *cert, int by_key, uint8_t **out, size_t *len)
{
	struct der_w w;
	size_t m;

	der_w_init(&w);
	m = der_w_begin(&w);
	if (by_key) {
		uint8_t md[EVP_MAX_MD_SIZE];
		unsigned mdlen = 0;

		/* RFC 6960 4.2.1: KeyHash is the SHA-1 of the subjectPublicKey BIT STRING value (no tag, length or
		 * unused-bits octet), which is what X509_pubkey_digest hashes. */
		if (X509_pubkey_digest(cert, EVP_sha1(), md, &mdlen) != 1)
			goto crypto;
		der_w_tlv(&w, DER_OCTET_STRING, md, mdlen);
		der_w_end(&w, DER_CTX(2), m);
	} else {
		uint8_t *name = NULL;
		int n = i2d_X509_NAME(X509_get_subject_name(cert), &name);

		if (n <= 0)
			goto crypto;
		der_w_raw(&w, name, (size_t)n);
		OPENSSL_free(name);
		der_w_end(&w, DER_CTX(1), m);
	}
	return der_w_take(&w, out, len);
crypto:
	der_w_free(&w);
	return VA_ERR_CRYPTO;
}

int ocsp_ca_hashes(X509 *ca, struct ocsp_issuer_hashes *h)
{
	static const char *const names[STORE_HASH_COUNT] = { "SHA1", "SHA256", "SHA384", "SHA512" };
	uint8_t *name = NULL;
	int n, rc = 0;
	const ASN1_BIT_STRING *pk;

	memset(h, 0, sizeof(*h));
	n = i2d_X509_NAME(X509_get_subject_name(ca), &name);
	pk = X509_get0_pubkey_bitstr(ca);
	if (n <= 0 || pk == NULL) {
		rc = VA_ERR_CRYPTO;
		goto out;
	}
	for (int i = 0; i < STORE_HASH_COUNT; i++) {
		const EVP_MD *md = EVP_get_digestbyname(names[i]);

		if (md == NULL || EVP_Digest(name, (size_t)n, h->name_hash[i], NULL, md, NULL) != 1 ||
		    EVP_Digest(pk->data, (size_t)pk->length, h->key_hash[i], NULL, md, NULL) != 1) {
			rc = VA_ERR_CRYPTO;
			goto out;
		}
	}
out:
	OPENSSL_free(name);
	return rc;
}

int ocsp_ca_certid_matches(const struct ocsp_issuer_hashes *h, const struct ocsp_certid *id)
{
	static const size_t lens[STORE_HASH_COUNT] = { 20, 32, 48, 64 };
	size_t l;

	if (id->hash < 0 || id->hash >= STORE_HASH_COUNT)
		return 0;
	l = lens[id->hash];
	return id->name_hash_len == l && id->key_hash_len == l && memcmp(id->key_hash, h->key_hash[id->hash], l) == 0 &&
	       memcmp(id->name_hash, h->name_hash[id->hash], l) == 0;
}
