#include "conf.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

static const struct config_key ocspd_keys[] = {
	{ "http", CONFIG_TYPE_GROUP, 0 },
	{ "validity", CONFIG_TYPE_INT, 0 },
	{ "refresh", CONFIG_TYPE_INT, 0 },
	{ "max_certids", CONFIG_TYPE_INT, 0 },
	{ "nonce_min", CONFIG_TYPE_INT, 0 },
	{ "nonce_max", CONFIG_TYPE_INT, 0 },
	{ "nonce_policy", CONFIG_TYPE_STRING, 0 },
	{ "unknown_serial", CONFIG_TYPE_STRING, 0 },
	{ "unknown_issuer", CONFIG_TYPE_STRING, 0 },
	{ "cas", CONFIG_TYPE_LIST, 1 },
};

static const struct config_key ca_keys[] = {
	{ "issuer", CONFIG_TYPE_STRING, 1 },
	{ "signer", CONFIG_TYPE_STRING, 1 },
	{ "responder_id", CONFIG_TYPE_STRING, 0 },
	{ "include_cert", CONFIG_TYPE_BOOL, 0 },
};

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

/* A string key that must take one of two values; *out is 1 for `alt`. Absent keeps *out. */
static int choice(const config_setting_t *g, const char *where, const char *name, const char *dflt, const char *alt,
		  int *out)
{
	char v[32];
	int rc = config_get_str(g, name, v, sizeof(v));

	if (rc < 0)
		return rc;
	if (rc == 0)
		return 0;
	if (strcmp(v, dflt) == 0)
		*out = 0;
	else if (strcmp(v, alt) == 0)
		*out = 1;
	else {
		const config_setting_t *s = config_setting_get_member(g, name);

		log_err("%s:%u: %s.%s must be \"%s\" or \"%s\", not \"%s\"",
			config_setting_source_file(s) ? config_setting_source_file(s) : "?", config_setting_source_line(s),
			where, name, dflt, alt, v);
		return VA_ERR_CONFIG;
	}
	return 0;
}

static int read_cas(const va_config *cfg, const config_setting_t *list, struct ocspd_conf *out)
{
	int problems = 0, n = config_setting_length(list);

	if (n <= 0 || n > LIM_ISSUERS_MAX) {
		log_err("%s:%u: ocspd.cas needs 1 to %d entries", config_file(cfg), config_setting_source_line(list),
			LIM_ISSUERS_MAX);
		return VA_ERR_CONFIG;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		struct ocspd_ca_conf *ca = &out->cas[out->ncas];
		char where[32];

		snprintf(where, sizeof(where), "ocspd.cas[%d]", i);
		if (!config_setting_is_group(e)) {
			log_err("%s:%u: %s must be a group", config_file(cfg), config_setting_source_line(e), where);
			problems++;
			continue;
		}
		if (config_check_keys(cfg, e, where, ca_keys, NKEYS(ca_keys)) != 0) {
			problems++;
			continue;
		}
		memset(ca, 0, sizeof(*ca));
		ca->by_key = 1;
		ca->include_cert = 1;
		if (config_get_str(e, "issuer", ca->issuer, sizeof(ca->issuer)) < 0 ||
		    config_get_str(e, "signer", ca->signer, sizeof(ca->signer)) < 0 ||
		    config_get_bool(e, "include_cert", &ca->include_cert) < 0) {
			problems++;
			continue;
		}
		int by_name = 0;
		if (choice(e, where, "responder_id", "key", "name", &by_name) < 0) {
			problems++;
			continue;
		}
		ca->by_key = !by_name;
		if (config_find_signer(out->signers, out->nsigners, ca->signer) == NULL) {
			log_err("%s:%u: %s: no signer named \"%s\" in signers", config_file(cfg),
				config_setting_source_line(e), where, ca->signer);
			problems++;
			continue;
		}
		for (size_t j = 0; j < out->ncas; j++) {
			if (strcmp(out->cas[j].issuer, ca->issuer) == 0) {
				log_err("%s:%u: %s: issuer \"%s\" listed twice", config_file(cfg),
					config_setting_source_line(e), where, ca->issuer);
				problems++;
			}
		}
		out->ncas++;
	}
	return problems ? VA_ERR_CONFIG : 0;
}

int ocspd_conf_read(const va_config *cfg, struct ocspd_conf *out)
{
	const config_setting_t *sec, *list;
	int problems = 0;
	int64_t v;

	memset(out, 0, sizeof(*out));
	http_conf_defaults(&out->http);
	out->http.port = 8080;
	out->validity = OCSP_VALIDITY_DEFAULT;
	out->refresh = -1;
	out->max_certids = LIM_OCSP_CERTIDS_DEFAULT;
	out->nonce_min = LIM_OCSP_NONCE_MIN_DEFAULT;
	out->nonce_max = LIM_OCSP_NONCE_MAX_DEFAULT;

	if (config_read_log(cfg) != 0)
		problems++;
	if (config_read_store(cfg, &out->store) != 0)
		problems++;
	if (config_read_signers(cfg, out->signers, LIM_SIGNERS_MAX, &out->nsigners) != 0)
		problems++;
	sec = config_setting_get_member(config_root(cfg), "ocspd");
	if (sec == NULL || !config_setting_is_group(sec)) {
		log_err("%s: no ocspd section", config_file(cfg));
		return VA_ERR_CONFIG;
	}
	if (config_check_keys(cfg, sec, "ocspd", ocspd_keys, NKEYS(ocspd_keys)) != 0)
		return VA_ERR_CONFIG;
	if (config_read_http(cfg, config_setting_get_member(sec, "http"), &out->http) != 0)
		problems++;
	if (config_get_int(sec, "validity", OCSP_VALIDITY_MIN, OCSP_VALIDITY_MAX, &out->validity) < 0)
		problems++;
	if (config_get_int(sec, "refresh", 60, OCSP_VALIDITY_MAX, &out->refresh) < 0)
		problems++;
	if (out->refresh < 0)
		out->refresh = out->validity / 2;  /* BR 4.9.10: refresh at least at half the validity */
	if (out->refresh >= out->validity) {
		log_err("%s: ocspd.refresh (%lld) must be below validity (%lld)", config_file(cfg),
			(long long)out->refresh, (long long)out->validity);
		problems++;
	}
	v = (int64_t)out->max_certids;
	if (config_get_int(sec, "max_certids", 1, LIM_OCSP_CERTIDS_MAX, &v) < 0)
		problems++;
	out->max_certids = (size_t)v;
	v = (int64_t)out->nonce_min;
	if (config_get_int(sec, "nonce_min", 1, LIM_OCSP_NONCE_MAX, &v) < 0)
		problems++;
	out->nonce_min = (size_t)v;
	v = (int64_t)out->nonce_max;
	if (config_get_int(sec, "nonce_max", 1, LIM_OCSP_NONCE_MAX, &v) < 0)
		problems++;
	out->nonce_max = (size_t)v;
	if (out->nonce_min > out->nonce_max) {
		log_err("%s: ocspd.nonce_min exceeds nonce_max", config_file(cfg));
		problems++;
	}
	if (choice(sec, "ocspd", "nonce_policy", "echo", "ignore", &out->nonce_ignore) < 0)
		problems++;
	if (choice(sec, "ocspd", "unknown_serial", "unknown", "revoked", &out->unknown_serial_revoked) < 0)
		problems++;
	int unauth = 0;
	if (choice(sec, "ocspd", "unknown_issuer", "unauthorized", "unknown", &unauth) < 0)
		problems++;
	out->unknown_issuer_unknown = unauth;
	list = config_setting_get_member(sec, "cas");
	if (list == NULL || read_cas(cfg, list, out) != 0)
		problems++;
	return problems ? VA_ERR_CONFIG : 0;
}
