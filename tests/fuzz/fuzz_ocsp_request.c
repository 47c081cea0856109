/* Fuzz target for ocspd's request path: the POST body parser and the RFC 5019 GET path decoder feeding it.
 * First input octet: even = POST body (the rest), odd = GET path (the rest, as text). Invariant checked: a
 * parsed CertID re-encodes to the same octets (what the cache and its invalidation rely on). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../ocsp/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ocsp_request req;

static void check(const uint8_t *der, size_t len)
{
	static const struct ocsp_parse_limits lim = { LIM_OCSP_CERTIDS_MAX, 1, LIM_OCSP_NONCE_MAX };
	static const size_t hlen[STORE_HASH_COUNT] = { 20, 32, 48, 64 };

	if (ocsp_request_parse(der, len, &lim, &req) != 0)
		return;
	if (req.ncertids == 0 || req.ncertids > LIM_OCSP_CERTIDS_MAX)
		__builtin_trap();
	for (size_t i = 0; i < req.ncertids; i++) {
		const struct ocsp_certid *id = &req.certids[i];
		uint8_t out[OCSP_CERTID_MAX];
		int same = 0;

		if (id->der < der || id->der + id->der_len > der + len)
			__builtin_trap();
		if (id->hash < 0 || id->name_hash_len != hlen[id->hash] || id->key_hash_len != hlen[id->hash])
			continue;
		for (int np = 0; np < 2; np++) {
			int n = ocsp_certid_build(id->hash, np, id->name_hash, id->key_hash, &id->serial, out, sizeof(out));

			if (n > 0 && (size_t)n == id->der_len && memcmp(out, id->der, id->der_len) == 0)
				same = 1;
		}
		if (!same)
			__builtin_trap();
	}
	if (req.has_nonce && (req.nonce_len < 1 || req.nonce_len > LIM_OCSP_NONCE_MAX))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		uint8_t out[LIM_HTTP_URL_MAX];
		size_t len = 0;
		char *path = malloc(size);

		if (path == NULL)
			return 0;
		memcpy(path, data + 1, size - 1);
		path[size - 1] = 0;
		if (ocsp_get_decode(path, size - 1, out, sizeof(out), &len) == 0) {
			if (len == 0 || len > sizeof(out))
				__builtin_trap();
			check(out, len);
		}
		/* What ocspd calls: the same, also behind a path prefix; only a complete SEQUENCE comes out. */
		if (ocsp_get_request(path, size - 1, out, sizeof(out), &len) == 0) {
			if (len < 2 || len > sizeof(out) || out[0] != 0x30)
				__builtin_trap();
			check(out, len);
		}
		free(path);
	} else {
		/* A private copy so reads past the end are caught by ASan. */
		uint8_t *body = malloc(size - 1 ? size - 1 : 1);

		if (body == NULL)
			return 0;
		memcpy(body, data + 1, size - 1);
		check(body, size - 1);
		free(body);
	}
	return 0;
}
