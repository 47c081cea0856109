/*
 * fuzz_p11_uri: RFC 7512 "pkcs11:" URI parsing (common/signer_p11.c). The URI comes from the config file, so the
 * parser sees operator typos rather than attackers; it must still never read or write out of bounds, and what it
 * accepts must respect the bounds of struct p11_uri.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "signer_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	char buf[2048];
	struct p11_uri u;

	if (!init) {
		log_init("fuzz_p11_uri", 0, LOG_LVL_ERR);
		log_set_level(LOG_LVL_ERR);
		init = 1;
	}
	if (size >= sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (p11_uri_parse(buf, &u) == VA_OK) {
		if (u.id_len > sizeof(u.id) || strlen(u.token) >= sizeof(u.token) ||
		    strlen(u.object) >= sizeof(u.object) || !(u.has & (P11_URI_OBJECT | P11_URI_ID)))
			abort();
	}
	return 0;
}
