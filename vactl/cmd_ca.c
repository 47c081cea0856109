/* cmd_ca.c: `vactl ca add LABEL CERT` and `vactl ca list`: the issuing CAs the store answers for. */
#include <ctype.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "vactl.h"
#include "vtime.h"

/* Labels appear in configs, metric names and file names: keep them to a safe alphabet. */
static int label_ok(const char *label)
{
	size_t n = strlen(label);

	if (n == 0 || n >= LIM_ISSUER_LABEL_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)label[i]) && label[i] != '-' && label[i] != '_' && label[i] != '.')
			return 0;
	return 1;
}

static int ca_add(struct vactl *v, const char *label, const char *path)
{
	X509 *cert = NULL;
	unsigned char *der = NULL;
	char subject[512];
	uint32_t id = 0;
	int len, rc, ret = VACTL_ERROR;

	if (!label_ok(label)) {
		vactl_err("bad label '%s': 1 to %d characters of A-Z a-z 0-9 . _ -", label, LIM_ISSUER_LABEL_MAX - 1);
		return VACTL_ERROR;
	}
	if (vactl_cert_load(path, &cert) != VA_OK)
		return VACTL_ERROR;
	/* RFC 5280 4.2.1.9: only a certificate with cA TRUE may issue the certificates we answer for. */
	if (X509_check_ca(cert) < 1) {
		vactl_err("%s: not a CA certificate (basicConstraints cA is not TRUE)", path);
		goto out;
	}
	X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
	len = i2d_X509(cert, &der);
	if (len <= 0) {
		vactl_err("%s: cannot encode the certificate", path);
		goto out;
	}
	if (vactl_store_open(v, STORE_RDWR) != VA_OK)
		goto out;
	rc = store_issuer_add(v->st, label, der, (size_t)len, &id);
	if (rc == VA_OK) {
		vactl_info(v, "added issuer '%s' (id %u): %s", label, id, subject);
	} else if (rc == VA_ERR_EXISTS) {
		vactl_info(v, "issuer certificate already registered (id %u): nothing changed", id);
	} else if (rc == VA_ERR_CONFLICT) {
		vactl_err("label '%s' is already used by another certificate", label);
		goto out;
	} else {
		vactl_err("adding issuer '%s': %s", label, va_strerror(rc));
		goto out;
	}
	ret = VACTL_OK;
out:
	OPENSSL_free(der);
	X509_free(cert);
	return ret;
}

static int ca_print(void *arg, const struct store_issuer *iss)
{
	const unsigned char *p = iss->cert_der;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char subject[512] = "?", na[VTIME_STR_MAX] = "?", fp[2 * EVP_MAX_MD_SIZE + 1] = "";
	X509 *x = d2i_X509(NULL, &p, (long)iss->cert_len);
	int64_t t;

	(void)arg;
	if (x != NULL) {
		X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
		if (vactl_cert_not_after(x, &t) != VA_OK || vtime_format_iso(t, na, sizeof(na)) != VA_OK)
			snprintf(na, sizeof(na), "?");
		X509_free(x);
	}
	if (EVP_Digest(iss->cert_der, iss->cert_len, md, &mdlen, EVP_sha256(), NULL) == 1)
		for (unsigned i = 0; i < mdlen; i++)
			snprintf(fp + 2 * i, 3, "%02X", md[i]);
	printf("%u\t%s\t%s\t%s\tsha256:%s\n", iss->id, iss->label, subject, na, fp);
	return 0;
}

int cmd_ca(struct vactl *v, int argc, char **argv)
{
	int rc;

	if (argc == 4 && strcmp(argv[1], "add") == 0)
		return ca_add(v, argv[2], argv[3]);
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		if (vactl_store_open(v, STORE_RDONLY) != VA_OK)
			return VACTL_ERROR;
		rc = store_issuer_foreach(v->st, ca_print, NULL);
		if (rc != VA_OK) {
			vactl_err("listing issuers: %s", va_strerror(rc));
			return VACTL_ERROR;
		}
		return VACTL_OK;
	}
	return vactl_usage("ca add LABEL CERT.pem|der | ca list");
}
