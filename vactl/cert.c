/* cert.c: certificates from PEM or DER files, and the checks that tie a certificate to its issuer. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "vactl.h"

/* A PEM bundle of a CA's issued certificates may be large; anything beyond this is not a certificate file. */
#define VACTL_CERT_FILE_MAX (256 * 1024 * 1024)

static int vactl_file_read(const char *path, unsigned char **buf, size_t *len)
{
	struct stat sb;
	unsigned char *b = NULL;
	size_t got = 0;
	int fd, rc = VA_ERR_IO;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		vactl_err("%s: %s", path, strerror(errno));
		return VA_ERR_IO;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		vactl_err("%s: not a regular file", path);
		goto out;
	}
	if (sb.st_size > VACTL_CERT_FILE_MAX) {
		vactl_err("%s: too large for a certificate file", path);
		rc = VA_ERR_RANGE;
		goto out;
	}
	b = malloc((size_t)sb.st_size + 1);
	if (b == NULL) {
		rc = VA_ERR_NOMEM;
		goto out;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, b + got, (size_t)sb.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			vactl_err("%s: read failed", path);
			goto out;
		}
		got += (size_t)n;
	}
	*buf = b;
	*len = got;
	b = NULL;
	rc = VA_OK;
out:
	free(b);
	close(fd);
	return rc;
}

int vactl_certs_load(const char *path, STACK_OF(X509) **out)
{
	STACK_OF(X509) *sk = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	X509 *x = NULL;
	int rc;

	rc = vactl_file_read(path, &buf, &len);
	if (rc != VA_OK)
		return rc;
	rc = VA_ERR_INVAL;
	sk = sk_X509_new_null();
	if (sk == NULL) {
		rc = VA_ERR_NOMEM;
		goto out;
	}
	if (len > 0 && buf[0] == 0x30) {
		/* DER: one certificate that must fill the whole file. */
		const unsigned char *p = buf;

		if (len > LIM_CERT_DER_MAX) {
			vactl_err("%s: DER certificate larger than %d bytes", path, LIM_CERT_DER_MAX);
			goto out;
		}
		x = d2i_X509(NULL, &p, (long)len);
		if (x == NULL || p != buf + len) {
			vactl_err("%s: not a DER certificate (or trailing bytes after it)", path);
			goto out;
		}
		if (!sk_X509_push(sk, x))
			goto out;
		x = NULL;
	} else {
		bio = BIO_new_mem_buf(buf, (int)len);
		if (bio == NULL)
			goto out;
		while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
			if (!sk_X509_push(sk, x))
				goto out;
			x = NULL;
		}
		/* The loop ends at the end of the input (PEM_R_NO_START_LINE) or at a broken block. */
		if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE || sk_X509_num(sk) == 0) {
			vactl_err("%s: not a PEM or DER certificate file%s", path,
				  sk_X509_num(sk) > 0 ? " (a PEM block is damaged)" : "");
			goto out;
		}
	}
	ERR_clear_error();
	*out = sk;
	sk = NULL;
	rc = VA_OK;
out:
	ERR_clear_error();
	X509_free(x);
	BIO_free(bio);
	sk_X509_pop_free(sk, X509_free);
	free(buf);
	return rc;
}

int vactl_cert_load(const char *path, X509 **out)
{
	STACK_OF(X509) *sk = NULL;
	int rc = vactl_certs_load(path, &sk);

	if (rc != VA_OK)
		return rc;
	if (sk_X509_num(sk) != 1) {
		vactl_err("%s: holds %d certificates, expected one", path, sk_X509_num(sk));
		sk_X509_pop_free(sk, X509_free);
		return VA_ERR_INVAL;
	}
	*out = sk_X509_shift(sk);
	sk_X509_free(sk);
	return VA_OK;
}

int vactl_cert_serial(X509 *cert, struct store_serial *s)
{
	const ASN1_INTEGER *ai = X509_get0_serialNumber(cert);
	unsigned char mag[LIM_SERIAL_MAX];
	BIGNUM *bn;
	int n, rc = VA_ERR_RANGE;

	bn = ASN1_INTEGER_to_BN(ai, NULL);
	if (bn == NULL)
		return VA_ERR_CRYPTO;
	n = BN_num_bytes(bn);
	if (n <= LIM_SERIAL_MAX) {
		BN_bn2bin(bn, mag);
		rc = store_serial_from_bytes(s, mag, (size_t)n);
		if (rc == VA_OK)
			s->negative = (uint8_t)(BN_is_negative(bn) && s->len > 0);
	}
	BN_free(bn);
	return rc;
}

int vactl_cert_not_after(X509 *cert, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
		return VA_ERR_INVAL;
	*out = (int64_t)timegm(&tm);
	return VA_OK;
}

int vactl_cert_issued_by(X509 *ca, X509 *cert, const char **why)
{
	EVP_PKEY *key = X509_get0_pubkey(ca);
	int rc;

	/* Name chaining and the authority key identifier first (RFC 5280 4.1.2.4, 4.2.1.1), then the signature. */
	rc = X509_check_issued(ca, cert);
	if (rc == X509_V_ERR_SUBJECT_ISSUER_MISMATCH) {
		*why = "its issuer name is not the CA's subject";
		return VA_ERR_CONFLICT;
	}
	if (rc == X509_V_ERR_AKID_SKID_MISMATCH || rc == X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH) {
		*why = "its authority key identifier is not the CA's key";
		return VA_ERR_CONFLICT;
	}
	if (rc != X509_V_OK && rc != X509_V_ERR_KEYUSAGE_NO_CERTSIGN) {
		*why = X509_verify_cert_error_string(rc);
		return VA_ERR_CONFLICT;
	}
	if (key == NULL || X509_verify(cert, key) != 1) {
		ERR_clear_error();
		*why = "its signature does not verify with the CA's key";
		return VA_ERR_CONFLICT;
	}
	return VA_OK;
}
