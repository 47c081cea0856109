/*
 * conf.h: the ocspd section of the configuration file (see conf/ and the shared brief), validated with
 * config_check_keys(): unknown keys are errors with file and line.
 */
#ifndef OCSP_CONF_H
#define OCSP_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "va_limits.h"
#include "signer.h"

/* BR 4.9.10: OCSP responses valid at least 8 hours and at most 10 days. */
#define OCSP_VALIDITY_MIN (8 * 3600)
#define OCSP_VALIDITY_MAX (10 * 86400)
#define OCSP_VALIDITY_DEFAULT 86400

struct ocspd_ca_conf {
	char issuer[LIM_ISSUER_LABEL_MAX]; /* store label of the issuing CA */
	char signer[64];                   /* name in the signers list */
	int by_key;                        /* responder_id = "key" (default) or "name" */
	int include_cert;                  /* put the signer certificate in certs (default true) */
};

struct ocspd_conf {
	struct http_conf http;
	struct store_conf store;
	int64_t validity;       /* nextUpdate - thisUpdate, seconds */
	int64_t refresh;        /* re-sign cached responses this long after thisUpdate (default validity / 2) */
	size_t max_certids;
	size_t nonce_min, nonce_max;
	int nonce_ignore;       /* nonce_policy = "ignore": no answer echoes a nonce (one CertID: from the cache) */
	int unknown_serial_revoked; /* unknown_serial = "revoked" (RFC 6960 4.4.8) instead of "unknown" */
	int unknown_issuer_unknown; /* unknown_issuer = "unknown" instead of "unauthorized" */
	size_t ncas;
	struct ocspd_ca_conf cas[LIM_ISSUERS_MAX];
	size_t nsigners;
	struct signer_conf signers[LIM_SIGNERS_MAX];
};

/* Reads and checks log (applied), store, signers and ocspd. Logs every problem; returns 0 or VA_ERR_CONFIG.
 * out is large: allocate it on the heap. */
VA_MUST_CHECK int ocspd_conf_read(const va_config *cfg, struct ocspd_conf *out);

#endif
