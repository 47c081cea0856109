/* test_store_lib.c: see test_store_lib.h. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "test_store_lib.h"

void tsl_mkdtemp(char *buf, size_t len)
{
	const char *tmp = getenv("TMPDIR");

	/* mkdtemp's template ends in six 'X', written out here rather than as a literal. */
	int n = snprintf(buf, len, "%s/va-store-test.", tmp && *tmp ? tmp : "/tmp");
	if (n < 0 || (size_t)n + 7 > len)
		abort();
	memset(buf + n, 'X', 6);
	buf[n + 6] = '\0';
	if (mkdtemp(buf) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void tsl_rmtree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int tsl_make_ca(const char *cn, uint8_t **der, size_t *len)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *name = NULL;
	unsigned char *out = NULL;
	int n, rc = -1;

	if (key == NULL || x == NULL)
		goto out;
	name = X509_NAME_new();
	if (name == NULL || !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    !X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) || !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
	    !X509_set_pubkey(x, key) || !X509_sign(x, key, EVP_sha256()))
		goto out;
	n = i2d_X509(x, &out);
	if (n <= 0)
		goto out;
	*der = malloc((size_t)n);
	if (*der == NULL)
		goto out;
	memcpy(*der, out, (size_t)n);
	*len = (size_t)n;
	rc = 0;
out:
	OPENSSL_free(out);
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

struct store_serial tsl_serial(uint64_t v)
{
	struct store_serial s;
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	if (store_serial_from_bytes(&s, b, sizeof(b)) != 0)
		abort();
	return s;
}

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

struct store_serial tsl_serial_rand(uint64_t seed, uint64_t i)
{
	struct store_serial s;
	uint8_t b[16];
	uint64_t a = splitmix64(seed * 0x100000001B3ULL + i), c = splitmix64(a ^ 0x5555);

	for (int k = 0; k < 8; k++) {
		b[k] = (uint8_t)(a >> (8 * k));
		b[8 + k] = (uint8_t)(c >> (8 * k));
	}
	b[0] = (uint8_t)((b[0] & 0x7F) | 0x01); /* positive, 16 octets, like real CA serials */
	if (store_serial_from_bytes(&s, b, sizeof(b)) != 0)
		abort();
	return s;
}

struct store_cert_rec tsl_good(int64_t not_after)
{
	struct store_cert_rec r;

	memset(&r, 0, sizeof(r));
	r.status = STORE_GOOD;
	r.not_after = not_after;
	return r;
}

struct store_cert_rec tsl_revoked(int64_t not_after, int reason, int64_t when)
{
	struct store_cert_rec r = tsl_good(not_after);

	r.status = reason == STORE_REASON_CERTIFICATE_HOLD ? STORE_HOLD : STORE_REVOKED;
	r.reason = (uint8_t)reason;
	r.revoked_at = when;
	return r;
}
