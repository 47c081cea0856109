#include "err.h"

const char *va_strerror(int err)
{
	switch (err) {
	case VA_OK: return "success";
	case VA_ERR_NOMEM: return "out of memory";
	case VA_ERR_INVAL: return "invalid argument or malformed input";
	case VA_ERR_NOTFOUND: return "not found";
	case VA_ERR_EXISTS: return "already exists";
	case VA_ERR_IO: return "I/O error";
	case VA_ERR_STORE: return "store error";
	case VA_ERR_FULL: return "store full";
	case VA_ERR_SCHEMA: return "store schema version mismatch";
	case VA_ERR_CONFIG: return "configuration error";
	case VA_ERR_CRYPTO: return "cryptographic operation failed";
	case VA_ERR_SIGNER_DOWN: return "signer unavailable (try later)";
	case VA_ERR_SIGNER: return "signer error";
	case VA_ERR_BUSY: return "busy";
	case VA_ERR_CONFLICT: return "conflicting state";
	case VA_ERR_RANGE: return "value out of range";
	case VA_ERR_CLOCK: return "clock not trustworthy";
	default: return "unknown error";
	}
}
