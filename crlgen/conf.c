/*
 * conf.c: the crlgen section of the configuration file.
 *
 * crlgen = { http = { ... }; publish_dir = "crl"; interval = 3600; change_delay = 60; full_on_change = true;
 *            crls = ( { name; issuer; signer; validity; delta; delta_validity; retention; ready_margin;
 *                       idp; freshest_crl; } ); };
 */
#include "crlgen.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static const struct config_key crlgen_keys[] = {
	{ "http", CONFIG_TYPE_GROUP, 0 },        { "publish_dir", CONFIG_TYPE_STRING, 1 },
	{ "interval", CONFIG_TYPE_INT, 0 },      { "change_delay", CONFIG_TYPE_INT, 0 },
	{ "full_on_change", CONFIG_TYPE_BOOL, 0 }, { "crls", CONFIG_TYPE_LIST, 1 },
};

static const struct config_key crl_keys[] = {
	{ "name", CONFIG_TYPE_STRING, 1 },         { "issuer", CONFIG_TYPE_STRING, 1 },
	{ "signer", CONFIG_TYPE_STRING, 1 },       { "validity", CONFIG_TYPE_INT, 0 },
	{ "delta", CONFIG_TYPE_BOOL, 0 },          { "delta_validity", CONFIG_TYPE_INT, 0 },
	{ "retention", CONFIG_TYPE_INT, 0 },       { "ready_margin", CONFIG_TYPE_INT, 0 },
	{ "idp", CONFIG_TYPE_STRING, 0 },          { "freshest_crl", CONFIG_TYPE_STRING, 0 },
	{ "serial_from", CONFIG_TYPE_STRING, 0 },  { "serial_to", CONFIG_TYPE_STRING, 0 },
};

/* "file:line: message", like common/config does for the common sections. */
static void conf_err(const config_setting_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conf_err(const config_setting_t *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	const char *file = s != NULL ? config_setting_source_file(s) : NULL;
	log_err("%s:%u: %s", file != NULL ? file : "(config)", s != NULL ? config_setting_source_line(s) : 0, msg);
}

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))
#define YEAR (366LL * 86400)

/* Names become file names and URL path segments: keep them plain, and never ending in "-delta" (which would
 * collide with another scope's delta CRL). */
static int name_ok(const char *n)
{
	size_t l = strlen(n);

	if (l == 0)
		return 0;
	for (size_t i = 0; i < l; i++) {
		char c = n[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      (c == '-' && i > 0)))
			return 0;
	}
	return !(l >= 6 && strcmp(n + l - 6, "-delta") == 0);
}

static int uri_ok(const char *u)
{
	/* IA5String (RFC 5280 4.2.1.6): printable ASCII, and a scheme. */
	for (const char *p = u; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return 0;
	return strstr(u, "://") != NULL || strncmp(u, "ldap:", 5) == 0;
}

/* Two partitions of one issuer must not overlap (each certificate in exactly one CRL scope). */
static int ranges_apart(const struct crl_range *a, const struct crl_range *b)
{
	if (!a->on || !b->on)
		return 0;
	/* a ends before b starts, or b ends before a starts */
	if (a->has_to && crl_serial_cmp(&a->to, &b->from) <= 0)
		return 1;
	return b->has_to && crl_serial_cmp(&b->to, &a->from) <= 0;
}

static int read_crl(const va_config *cfg, const config_setting_t *g, struct crlgen_conf *out, struct crl_conf *c)
{
	char where[160];
	int problems = 0, rc, b;

	snprintf(where, sizeof(where), "crlgen.crls[%u]", (unsigned)config_setting_index(g));
	if (config_check_keys(cfg, g, where, crl_keys, NKEYS(crl_keys)) != 0 || !config_setting_is_group(g))
		return 1;
	memset(c, 0, sizeof(*c));
	c->validity = 7 * 86400;
	c->delta_validity = 86400;
	c->retention = -1;
	c->ready_margin = 3600;
	if (config_get_str(g, "name", c->name, sizeof(c->name)) < 0 || !name_ok(c->name)) {
		conf_err(g, "%s.name must be letters, digits, '_' or '-' (not ending in -delta), at most %d",
			     where, CRL_NAME_MAX - 1);
		problems++;
	}
	if (config_get_str(g, "issuer", c->issuer, sizeof(c->issuer)) < 0)
		problems++;
	if (config_get_str(g, "signer", c->signer, sizeof(c->signer)) < 0)
		problems++;
	else if (config_find_signer(out->signers, out->nsigners, c->signer) == NULL) {
		conf_err(config_setting_get_member(g, "signer"), "%s.signer '%s' is not in the signers list",
			     where, c->signer);
		problems++;
	}
	if (config_get_int(g, "validity", 60, 10 * YEAR, &c->validity) < 0)
		problems++;
	if ((rc = config_get_bool(g, "delta", &b)) < 0)
		problems++;
	else if (rc == 1)
		c->delta = b;
	if (config_get_int(g, "delta_validity", 60, 10 * YEAR, &c->delta_validity) < 0)
		problems++;
	if (config_get_int(g, "retention", -1, 100 * YEAR, &c->retention) < 0)
		problems++;
	if (config_get_int(g, "ready_margin", 0, 10 * YEAR, &c->ready_margin) < 0)
		problems++;
	if ((rc = config_get_str(g, "idp", c->idp, sizeof(c->idp))) < 0 || (rc == 1 && !uri_ok(c->idp))) {
		conf_err(g, "%s.idp must be a URI of printable ASCII, at most %d octets", where, CRL_URI_MAX);
		problems++;
	}
	if ((rc = config_get_str(g, "freshest_crl", c->freshest, sizeof(c->freshest))) < 0 ||
	    (rc == 1 && !uri_ok(c->freshest))) {
		conf_err(g, "%s.freshest_crl must be a URI of printable ASCII, at most %d octets", where,
			     CRL_URI_MAX);
		problems++;
	}
	/* Partitions by serial range: [serial_from, serial_to), hex. */
	char hex[2 * LIM_SERIAL_MAX + 8];
	const char *rk[2] = { "serial_from", "serial_to" };
	for (int k = 0; k < 2; k++) {
		rc = config_get_str(g, rk[k], hex, sizeof(hex));
		if (rc < 0) {
			problems++;
		} else if (rc == 1) {
			struct store_serial *dst = k == 0 ? &c->range.from : &c->range.to;
			if (store_serial_from_hex(dst, hex) != 0) {
				conf_err(config_setting_get_member(g, rk[k]), "%s.%s must be a hex serial", where, rk[k]);
				problems++;
			}
			c->range.on = 1;
			if (k == 1)
				c->range.has_to = 1;
		}
	}
	if (c->range.on && c->range.has_to && crl_serial_cmp(&c->range.from, &c->range.to) >= 0) {
		conf_err(g, "%s: serial_from must be below serial_to", where);
		problems++;
	}
	if (c->range.on && c->idp[0] == '\0') {
		/* RFC 5280 5.2.5: a CRL covering only part of the certificates MUST carry an issuingDistributionPoint
		 * naming that part (the certificates' CRL distribution point). */
		conf_err(g, "%s: a partition (serial_from/serial_to) requires idp", where);
		problems++;
	}
	/* RFC 5280 3.3: an entry MUST NOT be removed until it appeared on one regularly scheduled CRL issued after
	 * the certificate expired; a retention of at least one interval guarantees that. */
	if (c->retention >= 0 && c->retention < out->interval) {
		conf_err(config_setting_get_member(g, "retention"),
			     "%s.retention must be -1 or at least crlgen.interval (%lld s), RFC 5280 3.3", where,
			     (long long)out->interval);
		problems++;
	}
	if (c->ready_margin >= c->validity) {
		conf_err(g, "%s.ready_margin must be below validity", where);
		problems++;
	}
	if (c->delta && c->delta_validity <= out->interval) {
		/* A delta is refreshed with every full CRL at the latest: it must not expire before that. */
		conf_err(g, "%s.delta_validity must be longer than crlgen.interval", where);
		problems++;
	}
	if (c->validity <= out->interval) {
		/* Relying parties would hold an expired CRL between two regular publications. */
		conf_err(g, "%s.validity must be longer than crlgen.interval", where);
		problems++;
	}
	return problems;
}

int crlgen_conf_read(const va_config *cfg, struct crlgen_conf *out)
{
	const config_setting_t *sec = config_section(cfg, "crlgen"), *list;
	int problems = 0, rc, b;

	memset(out, 0, sizeof(*out));
	http_conf_defaults(&out->http);
	out->interval = 3600;
	out->change_delay = 60;
	out->full_on_change = 1;
	if (config_read_log(cfg) != 0)
		problems++;
	if (config_read_store(cfg, &out->store) != 0)
		problems++;
	if (config_read_signers(cfg, out->signers, LIM_SIGNERS_MAX, &out->nsigners) != 0)
		problems++;
	if (sec == NULL) {
		log_err("%s: no crlgen section", config_file(cfg));
		return VA_ERR_CONFIG;
	}
	if (config_check_keys(cfg, sec, "crlgen", crlgen_keys, NKEYS(crlgen_keys)) != 0 ||
	    !config_setting_is_group(sec))
		return VA_ERR_CONFIG;
	if (config_read_http(cfg, config_setting_get_member(sec, "http"), &out->http) != 0)
		problems++;
	if (config_get_path(cfg, sec, "publish_dir", out->publish_dir, sizeof(out->publish_dir)) < 0)
		problems++;
	if (config_get_int(sec, "interval", 60, YEAR, &out->interval) < 0)
		problems++;
	if (config_get_int(sec, "change_delay", 0, 86400, &out->change_delay) < 0)
		problems++;
	if ((rc = config_get_bool(sec, "full_on_change", &b)) < 0)
		problems++;
	else if (rc == 1)
		out->full_on_change = b;
	list = config_setting_get_member(sec, "crls");
	if (list != NULL && config_setting_is_list(list)) {
		int n = config_setting_length(list);
		if (n == 0 || n > CRLGEN_CRLS_MAX) {
			conf_err(list, "crlgen.crls must list 1 to %d CRLs", CRLGEN_CRLS_MAX);
			problems++;
		}
		for (int i = 0; i < n && i < CRLGEN_CRLS_MAX; i++) {
			struct crl_conf *c = &out->crls[out->ncrls];
			problems += read_crl(cfg, config_setting_get_elem(list, (unsigned)i), out, c);
			for (size_t k = 0; k < out->ncrls; k++) {
				if (strcmp(out->crls[k].name, c->name) == 0 ||
				    (strcmp(out->crls[k].issuer, c->issuer) == 0 && !ranges_apart(&out->crls[k].range, &c->range))) {
					conf_err(config_setting_get_elem(list, (unsigned)i),
						 "crlgen.crls[%d]: names must be unique, and an issuer's scopes disjoint partitions", i);
					problems++;
				}
			}
			out->ncrls++;
		}
	}
	return problems ? VA_ERR_CONFIG : 0;
}

static int signer_same(const struct signer_conf *a, const struct signer_conf *b)
{
	return strcmp(a->name, b->name) == 0 && a->type == b->type && strcmp(a->module, b->module) == 0 &&
	       strcmp(a->uri, b->uri) == 0 && strcmp(a->pin_file, b->pin_file) == 0 &&
	       strcmp(a->pin_env, b->pin_env) == 0 && strcmp(a->key_file, b->key_file) == 0 &&
	       strcmp(a->cert_file, b->cert_file) == 0 && strcmp(a->chain_file, b->chain_file) == 0;
}

int crlgen_conf_reloadable(const struct crlgen_conf *a, const struct crlgen_conf *b)
{
	const char *what = NULL;

	if (!http_conf_same(&a->http, &b->http))
		what = "crlgen.http";
	else if (strcmp(a->publish_dir, b->publish_dir) != 0)
		what = "crlgen.publish_dir";
	else if (strcmp(a->store.path, b->store.path) != 0 || a->store.map_size != b->store.map_size)
		what = "store";
	else if (a->nsigners != b->nsigners)
		what = "signers";
	for (size_t i = 0; what == NULL && i < a->nsigners; i++)
		if (!signer_same(&a->signers[i], &b->signers[i]))
			what = "signers";
	if (what == NULL && a->ncrls != b->ncrls)
		what = "the number of CRLs";
	for (size_t i = 0; what == NULL && i < a->ncrls; i++) {
		if (strcmp(a->crls[i].name, b->crls[i].name) != 0 || strcmp(a->crls[i].issuer, b->crls[i].issuer) != 0 ||
		    strcmp(a->crls[i].signer, b->crls[i].signer) != 0 || a->crls[i].delta != b->crls[i].delta)
			what = "a CRL's name, issuer, signer or delta";
		/* RFC 5280 5.2.4: a delta and its base have the same scope. The next delta's base is the full CRL
		 * already published, so a reload must not change the scope under it. */
		else if (strcmp(a->crls[i].idp, b->crls[i].idp) != 0 || !crl_range_same(&a->crls[i].range, &b->crls[i].range))
			what = "a CRL's scope (idp, serial_from, serial_to)";
	}
	if (what == NULL)
		return 0;
	log_err("crlgen: reload: %s changed: restart crlgen to apply it; the running configuration stays", what);
	return VA_ERR_CONFIG;
}
