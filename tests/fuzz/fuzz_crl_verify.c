/*
 * fuzz_crl_verify.c: the CRL walker (crlgen/verify.c) on arbitrary bytes, as when crlgen loads a file from the
 * publish directory to serve it. The bytes go to a memory file; the walker must never read out of bounds, and
 * whatever it accepts must have self-consistent offsets. With a key loaded, the signature path runs too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "../../crlgen/crl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *key;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crl_info info;
	int fd;

	if (key == NULL)
		key = EVP_EC_gen("P-256");
	fd = memfd_create("crl", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	if (crl_verify_fd(fd, NULL, NULL, 0, &info) == 0) {
		if (info.file_len != size || info.tbs_off + info.tbs_len > size || !info.has_number)
			abort();
		/* The signature path reads the TBS range again and must refuse a signature by another key. */
		if (crl_verify_fd(fd, key, NULL, 0, &info) == 0)
			abort();
	}
	close(fd);
	return 0;
}
