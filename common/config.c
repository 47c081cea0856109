/*
 * config.c: the libconfig file shared by every service.
 *
 * Every problem is logged as "file:line: what" so that `-n` can list them all; readers keep going after a problem
 * and report the count, so one run shows every mistake in the file, not only the first.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "va_limits.h"
#include "log.h"

struct va_config {
	config_t cfg;
	char file[PATH_MAX];
	char dir[PATH_MAX]; /* absolute directory of the file: base of relative paths */
};

/* File of a setting for messages. libconfig records the file each setting came from; a file pulled in by
 * @include is recorded as written, relative to the include directory (the main file's), so it is joined to it. */
static void config_where_file(const config_setting_t *s, char *out, size_t outlen)
{
	const char *f = s != NULL ? config_setting_source_file(s) : NULL;
	/* Every config_t here is the first member of a va_config. */
	const va_config *cfg = s != NULL && s->config != NULL
				       ? (const va_config *)(const void *)((const char *)s->config - offsetof(va_config, cfg))
				       : NULL;

	if (f == NULL)
		snprintf(out, outlen, "%s", cfg != NULL ? cfg->file : "(config)");
	else if (f[0] != '/' && cfg != NULL && strcmp(f, cfg->file) != 0)
		snprintf(out, outlen, "%s/%s", cfg->dir, f);
	else
		snprintf(out, outlen, "%s", f);
}

static unsigned config_where_line(const config_setting_t *s)
{
	return s != NULL ? config_setting_source_line(s) : 0;
}

static const char *config_type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP: return "a group { }";
	case CONFIG_TYPE_INT: case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a number";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array [ ]";
	case CONFIG_TYPE_LIST: return "a list ( )";
	default: return "a value";
	}
}

/* Path of a setting for messages: "ocspd.http.port", "signers[1].name". */
static void config_setting_path(const config_setting_t *s, char *out, size_t outlen)
{
	const config_setting_t *chain[32];
	size_t n = 0, off = 0;

	out[0] = '\0';
	for (; s != NULL && !config_setting_is_root(s) && n < sizeof(chain) / sizeof(chain[0]);
	     s = config_setting_parent(s))
		chain[n++] = s;
	while (n-- > 0 && off < outlen) {
		const char *name = config_setting_name(chain[n]);
		int w;
		if (name != NULL)
			w = snprintf(out + off, outlen - off, "%s%s", off ? "." : "", name);
		else
			w = snprintf(out + off, outlen - off, "[%d]", config_setting_index(chain[n]));
		if (w < 0)
			return;
		off += (size_t)w;
	}
}

__attribute__((format(printf, 2, 3))) static void config_error(const config_setting_t *s, const char *fmt, ...)
{
	char msg[1024], file[PATH_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	config_where_file(s, file, sizeof(file));
	log_err("%s:%u: %s", file, config_where_line(s), msg);
}

/* libconfig 1.5 reads an integer literal too large for 32 bits (without the L suffix) as its value modulo 2^32,
 * silently: "map_size_mb = 4294967297;" would become 1. Its parse tree keeps no trace of that, so the file text
 * is scanned once for such literals (outside strings and comments), and @include'd files with it. */
#define CONFIG_SCAN_MAX (4 * 1024 * 1024)
#define CONFIG_INCLUDE_DEPTH 8

static int config_ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
	       c == '*' || c == '.';
}

/* A digit at i starts a number unless it continues a name ("ocsp1", "a-2"); "-5" and "= -5" are numbers. */
static int config_number_start(const char *buf, size_t i)
{
	if (i == 0)
		return 1;
	if (buf[i - 1] == '-' || buf[i - 1] == '+')
		return i == 1 || !config_ident_char(buf[i - 2]);
	return !config_ident_char(buf[i - 1]);
}

static int config_scan_ints(const va_config *cfg, const char *file, int depth)
{
	char *buf = NULL, inc[PATH_MAX];
	size_t n = 0, i = 0;
	unsigned line = 1;
	int problems = 0;
	FILE *fp = fopen(file, "r");

	if (fp == NULL)
		return 0; /* libconfig has read it already; nothing to add */
	buf = malloc(CONFIG_SCAN_MAX + 1);
	if (buf == NULL) {
		fclose(fp);
		return 0;
	}
	n = fread(buf, 1, CONFIG_SCAN_MAX + 1, fp);
	fclose(fp);
	if (n > CONFIG_SCAN_MAX) {
		log_err("%s: larger than %d octets", file, CONFIG_SCAN_MAX);
		problems++;
		goto out;
	}
	buf[n] = '\0';
	while (i < n) {
		char c = buf[i];

		if (c == '\n') {
			line++;
			i++;
		} else if (c == '#' || (c == '/' && buf[i + 1] == '/')) {
			while (i < n && buf[i] != '\n')
				i++;
		} else if (c == '/' && buf[i + 1] == '*') {
			for (i += 2; i < n && !(buf[i] == '*' && buf[i + 1] == '/'); i++)
				line += buf[i] == '\n';
			i += 2;
		} else if (c == '"') {
			for (i++; i < n && buf[i] != '"'; i++) {
				if (buf[i] == '\\' && i + 1 < n)
					i++;
				line += buf[i] == '\n';
			}
			i++;
		} else if (c == '@' && strncmp(buf + i, "@include", 8) == 0) {
			char *q = strchr(buf + i, '"'), *e = q != NULL ? strchr(q + 1, '"') : NULL;
			if (q != NULL && e != NULL && depth < CONFIG_INCLUDE_DEPTH) {
				*e = '\0';
				if (config_resolve_path(cfg, q + 1, inc, sizeof(inc)) == VA_OK)
					problems += config_scan_ints(cfg, inc, depth + 1);
				*e = '"';
				i = (size_t)(e - buf) + 1;
			} else {
				i += 8;
			}
		} else if (c >= '0' && c <= '9' && config_number_start(buf, i)) {
			/* The magnitude saturates far above 2^32; the sign is the character before, if any. */
			unsigned long long v = 0;
			int hex = c == '0' && (buf[i + 1] == 'x' || buf[i + 1] == 'X');
			int neg = i > 0 && buf[i - 1] == '-';
			size_t j = hex ? i + 2 : i;
			for (;; j++) {
				unsigned d;
				if (buf[j] >= '0' && buf[j] <= '9')
					d = (unsigned)(buf[j] - '0');
				else if (hex && buf[j] >= 'a' && buf[j] <= 'f')
					d = (unsigned)(buf[j] - 'a' + 10);
				else if (hex && buf[j] >= 'A' && buf[j] <= 'F')
					d = (unsigned)(buf[j] - 'A' + 10);
				else
					break;
				if (v < (1ULL << 40))
					v = v * (hex ? 16 : 10) + d;
			}
			if (!hex && (buf[j] == '.' || buf[j] == 'e' || buf[j] == 'E')) {
				while (j < n && (config_ident_char(buf[j]) || buf[j] == '+'))
					j++; /* a float */
			} else if (buf[j] != 'L' && v > (neg ? 2147483648ULL : 2147483647ULL)) {
				log_err("%s:%u: integer %s%.*s does not fit in 32 bits: write it with an L suffix (%s%.*sL)",
					file, line, neg ? "-" : "", (int)(j - i), buf + i, neg ? "-" : "", (int)(j - i),
					buf + i);
				problems++;
			}
			i = j;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '*') {
			while (i < n && config_ident_char(buf[i]))
				i++;
		} else {
			i++;
		}
	}
out:
	free(buf);
	return problems;
}

va_config *config_load(const char *path, int *err)
{
	va_config *cfg = NULL;
	char tmp[PATH_MAX];
	int rc = VA_OK;

	if (path == NULL || strlen(path) >= sizeof(tmp)) {
		rc = VA_ERR_INVAL;
		goto out;
	}
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL) {
		rc = VA_ERR_NOMEM;
		goto out;
	}
	memcpy(cfg->file, path, strlen(path) + 1);
	memcpy(tmp, path, strlen(path) + 1);
	/* dirname() may modify its argument; realpath() makes relative paths independent of a later chdir. */
	if (realpath(dirname(tmp), cfg->dir) == NULL) {
		log_err("%s: %s", path, strerror(errno));
		rc = VA_ERR_CONFIG;
		goto out;
	}
	config_init(&cfg->cfg);
	/* No auto-conversion: a float where an integer belongs is a mistake to report, not to round. */
	config_set_options(&cfg->cfg, 0);
	/* @include "x.conf" is relative to this file, like every other path in it. */
	config_set_include_dir(&cfg->cfg, cfg->dir);
	if (config_read_file(&cfg->cfg, path) != CONFIG_TRUE) {
		const char *ef = config_error_file(&cfg->cfg);
		if (config_error_type(&cfg->cfg) == CONFIG_ERR_FILE_IO) {
			log_err("%s: cannot read: %s", path, strerror(errno));
			rc = VA_ERR_IO;
		} else {
			if (ef != NULL && ef[0] != '/' && strcmp(ef, path) != 0) /* in an @include'd file */
				log_err("%s/%s:%d: %s", cfg->dir, ef, config_error_line(&cfg->cfg),
					config_error_text(&cfg->cfg));
			else
				log_err("%s:%d: %s", ef != NULL ? ef : path, config_error_line(&cfg->cfg),
					config_error_text(&cfg->cfg));
			rc = VA_ERR_CONFIG;
		}
		config_destroy(&cfg->cfg);
		goto out;
	}
	if (config_scan_ints(cfg, path, 0) != 0) {
		config_destroy(&cfg->cfg);
		rc = VA_ERR_CONFIG;
		goto out;
	}
out:
	if (rc != VA_OK && cfg != NULL) {
		free(cfg);
		cfg = NULL;
	}
	if (err != NULL)
		*err = rc;
	return cfg;
}

void config_free(va_config *cfg)
{
	if (cfg == NULL)
		return;
	config_destroy(&cfg->cfg);
	free(cfg);
}

const config_setting_t *config_root(const va_config *cfg)
{
	return config_root_setting(&cfg->cfg);
}

const char *config_file(const va_config *cfg)
{
	return cfg->file;
}

const char *config_dir(const va_config *cfg)
{
	return cfg->dir;
}

const config_setting_t *config_section(const va_config *cfg, const char *name)
{
	return config_setting_get_member(config_root_setting(&cfg->cfg), name);
}

static int config_type_matches(int want, int have)
{
	if (want == have)
		return 1;
	if ((want == CONFIG_TYPE_INT || want == CONFIG_TYPE_INT64) &&
	    (have == CONFIG_TYPE_INT || have == CONFIG_TYPE_INT64))
		return 1;
	/* A float setting written as an integer ("accuracy = 1") is fine. */
	if (want == CONFIG_TYPE_FLOAT && (have == CONFIG_TYPE_INT || have == CONFIG_TYPE_INT64))
		return 1;
	return 0;
}

int config_check_keys(const va_config *cfg, const config_setting_t *group, const char *where,
		      const struct config_key *keys, size_t nkeys)
{
	int problems = 0;
	char path[256];

	if (where == NULL)
		where = "(section)";
	if (group == NULL) {
		for (size_t k = 0; k < nkeys; k++) {
			if (keys[k].required) {
				log_err("%s: section '%s' is missing (it requires '%s')", cfg ? cfg->file : "(config)",
					where, keys[k].name);
				problems++;
			}
		}
		return problems;
	}
	if (!config_setting_is_group(group)) {
		config_error(group, "'%s' must be a group { ... }", where);
		return 1;
	}
	for (int i = 0; i < config_setting_length(group); i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		size_t k;

		for (k = 0; k < nkeys; k++)
			if (name != NULL && strcmp(name, keys[k].name) == 0)
				break;
		if (k == nkeys) {
			config_error(s, "unknown key '%s' in %s", name != NULL ? name : "?", where);
			problems++;
			continue;
		}
		if (!config_type_matches(keys[k].type, config_setting_type(s))) {
			config_setting_path(s, path, sizeof(path));
			config_error(s, "%s must be %s, not %s", path, config_type_name(keys[k].type),
				     config_type_name(config_setting_type(s)));
			problems++;
		}
	}
	for (size_t k = 0; k < nkeys; k++) {
		if (keys[k].required && config_setting_get_member(group, keys[k].name) == NULL) {
			config_error(group, "missing required key '%s' in %s", keys[k].name, where);
			problems++;
		}
	}
	return problems;
}

int config_get_str(const config_setting_t *g, const char *name, char *out, size_t outlen)
{
	const config_setting_t *s = g != NULL ? config_setting_get_member(g, name) : NULL;
	const char *v;
	char path[256];

	if (s == NULL)
		return 0;
	config_setting_path(s, path, sizeof(path));
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_error(s, "%s must be a string", path);
		return VA_ERR_CONFIG;
	}
	v = config_setting_get_string(s);
	if (strlen(v) >= outlen) {
		config_error(s, "%s is too long (at most %zu characters)", path, outlen - 1);
		return VA_ERR_RANGE;
	}
	memcpy(out, v, strlen(v) + 1);
	return 1;
}

int config_get_int(const config_setting_t *g, const char *name, int64_t min, int64_t max, int64_t *out)
{
	const config_setting_t *s = g != NULL ? config_setting_get_member(g, name) : NULL;
	int64_t v;
	char path[256];

	if (s == NULL)
		return 0;
	config_setting_path(s, path, sizeof(path));
	if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT64)
		v = config_setting_get_int64(s);
	else {
		config_error(s, "%s must be an integer", path);
		return VA_ERR_CONFIG;
	}
	if (v < min || v > max) {
		config_error(s, "%s = %" PRId64 " is out of range [%" PRId64 ", %" PRId64 "]", path, v, min, max);
		return VA_ERR_RANGE;
	}
	*out = v;
	return 1;
}

int config_get_bool(const config_setting_t *g, const char *name, int *out)
{
	const config_setting_t *s = g != NULL ? config_setting_get_member(g, name) : NULL;
	char path[256];

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		config_setting_path(s, path, sizeof(path));
		config_error(s, "%s must be true or false", path);
		return VA_ERR_CONFIG;
	}
	*out = config_setting_get_bool(s) ? 1 : 0;
	return 1;
}

int config_resolve_path(const va_config *cfg, const char *value, char *out, size_t outlen)
{
	int n;

	if (value[0] == '/' || value[0] == '\0')
		n = snprintf(out, outlen, "%s", value);
	else
		n = snprintf(out, outlen, "%s/%s", cfg->dir, value);
	if (n < 0 || (size_t)n >= outlen)
		return VA_ERR_RANGE;
	return VA_OK;
}

int config_get_path(const va_config *cfg, const config_setting_t *g, const char *name, char *out, size_t outlen)
{
	char raw[PATH_MAX];
	char path[256];
	int rc;

	rc = config_get_str(g, name, raw, sizeof(raw));
	if (rc <= 0)
		return rc;
	if (raw[0] == '\0') {
		const config_setting_t *s = config_setting_get_member(g, name);
		config_setting_path(s, path, sizeof(path));
		config_error(s, "%s must not be empty", path);
		return VA_ERR_CONFIG;
	}
	if (config_resolve_path(cfg, raw, out, outlen) != VA_OK) {
		const config_setting_t *s = config_setting_get_member(g, name);
		config_setting_path(s, path, sizeof(path));
		config_error(s, "%s: path too long", path);
		return VA_ERR_RANGE;
	}
	return 1;
}

static const struct config_key config_log_keys[] = {
	{ "level", CONFIG_TYPE_STRING, 0 },
	{ "syslog", CONFIG_TYPE_BOOL, 0 },
};

int config_parse_log(const va_config *cfg, int *level, int *use_syslog)
{
	const config_setting_t *g = config_section(cfg, "log");
	char name[32];
	int problems, rc;

	*level = LOG_LVL_INFO;
	*use_syslog = 0;
	problems = config_check_keys(cfg, g, "log", config_log_keys, 2);
	if (g == NULL || !config_setting_is_group(g))
		return problems ? VA_ERR_CONFIG : VA_OK;
	rc = config_get_str(g, "level", name, sizeof(name));
	if (rc == 1) {
		int l = log_level_parse(name);
		/* Accept the short spellings people write (and conf/va.conf's comment uses). */
		if (l < 0 && strcmp(name, "warn") == 0)
			l = LOG_LVL_WARN;
		else if (l < 0 && strcmp(name, "err") == 0)
			l = LOG_LVL_ERR;
		if (l < 0) {
			config_error(config_setting_get_member(g, "level"),
				     "log.level '%s' is not one of error, warning (warn), info, debug", name);
			problems++;
		} else {
			*level = l;
		}
	} else if (rc < 0) {
		problems++;
	}
	if (config_get_bool(g, "syslog", use_syslog) < 0)
		problems++;
	return problems ? VA_ERR_CONFIG : VA_OK;
}

int config_read_log(const va_config *cfg)
{
	int level, use_syslog, rc;

	rc = config_parse_log(cfg, &level, &use_syslog);
	if (rc != VA_OK)
		return rc;
	if (use_syslog)
		log_init(program_invocation_short_name, 1, (enum log_level)level);
	else
		log_set_level((enum log_level)level);
	return VA_OK;
}

static const struct config_key config_store_keys[] = {
	{ "path", CONFIG_TYPE_STRING, 1 },
	{ "map_size_mb", CONFIG_TYPE_INT, 0 },
};

int config_read_store(const va_config *cfg, struct store_conf *out)
{
	const config_setting_t *g = config_section(cfg, "store");
	int64_t mb;
	int problems;

	memset(out, 0, sizeof(*out));
	problems = config_check_keys(cfg, g, "store", config_store_keys, 2);
	if (g == NULL || !config_setting_is_group(g))
		return VA_ERR_CONFIG;
	if (config_get_path(cfg, g, "path", out->path, sizeof(out->path)) < 0)
		problems++;
	switch (config_get_int(g, "map_size_mb", 1, (int64_t)(LIM_STORE_MAP_MAX >> 20), &mb)) {
	case 1: out->map_size = (uint64_t)mb << 20; break;
	case 0: out->map_size = 0; break;
	default: problems++; break;
	}
	return problems ? VA_ERR_CONFIG : VA_OK;
}

static const struct config_key config_signer_keys[] = {
	{ "name", CONFIG_TYPE_STRING, 1 },	{ "type", CONFIG_TYPE_STRING, 1 },
	{ "module", CONFIG_TYPE_STRING, 0 },	{ "uri", CONFIG_TYPE_STRING, 0 },
	{ "pin_file", CONFIG_TYPE_STRING, 0 }, { "pin_env", CONFIG_TYPE_STRING, 0 },
	{ "key", CONFIG_TYPE_STRING, 0 },	{ "cert", CONFIG_TYPE_STRING, 1 },
	{ "chain", CONFIG_TYPE_STRING, 0 },
};
#define CONFIG_NSIGNER_KEYS (sizeof(config_signer_keys) / sizeof(config_signer_keys[0]))

/* Checks one signer entry and fills sc; returns the number of problems logged. */
static int config_read_signer(const va_config *cfg, const config_setting_t *e, struct signer_conf *sc)
{
	char where[64], type[16];
	int problems = 0;
	const config_setting_t *pin;

	memset(sc, 0, sizeof(*sc));
	snprintf(where, sizeof(where), "signers[%d]", config_setting_index(e));
	if (!config_setting_is_group(e)) {
		config_error(e, "%s must be a group { name = ...; type = ...; ... }", where);
		return 1;
	}
	/* The PIN gets its own message: the fix is not "remove the key" but "move the secret out of this file". */
	pin = config_setting_get_member(e, "pin");
	if (pin != NULL) {
		config_error(pin, "%s: a PIN must not be in the configuration file; put it in a file named by pin_file "
				  "(readable only by the service) or an environment variable named by pin_env", where);
		problems++;
	}
	for (int i = 0; i < config_setting_length(e); i++) {
		const config_setting_t *s = config_setting_get_elem(e, (unsigned)i);
		size_t k;
		if (s == pin)
			continue;
		for (k = 0; k < CONFIG_NSIGNER_KEYS; k++)
			if (strcmp(config_setting_name(s), config_signer_keys[k].name) == 0)
				break;
		if (k == CONFIG_NSIGNER_KEYS) {
			config_error(s, "unknown key '%s' in %s", config_setting_name(s), where);
			problems++;
		} else if (config_setting_type(s) != CONFIG_TYPE_STRING) {
			config_error(s, "%s.%s must be a string", where, config_setting_name(s));
			problems++;
		}
	}
	if (problems)
		return problems;
	for (size_t k = 0; k < CONFIG_NSIGNER_KEYS; k++)
		if (config_signer_keys[k].required && config_setting_get_member(e, config_signer_keys[k].name) == NULL) {
			config_error(e, "missing required key '%s' in %s", config_signer_keys[k].name, where);
			problems++;
		}
	if (problems)
		return problems;

	if (config_get_str(e, "name", sc->name, sizeof(sc->name)) < 0)
		problems++;
	else if (sc->name[0] == '\0') {
		config_error(config_setting_get_member(e, "name"), "%s.name must not be empty", where);
		problems++;
	}
	if (config_get_str(e, "type", type, sizeof(type)) < 0 ||
	    (strcmp(type, "pkcs11") != 0 && strcmp(type, "file") != 0)) {
		config_error(config_setting_get_member(e, "type"), "%s.type must be \"pkcs11\" or \"file\"", where);
		return problems + 1;
	}
	sc->type = strcmp(type, "pkcs11") == 0 ? SIGNER_PKCS11 : SIGNER_FILE;
	if (config_get_path(cfg, e, "cert", sc->cert_file, sizeof(sc->cert_file)) < 0)
		problems++;
	if (config_get_path(cfg, e, "chain", sc->chain_file, sizeof(sc->chain_file)) < 0)
		problems++;

	if (sc->type == SIGNER_PKCS11) {
		int rm = config_get_path(cfg, e, "module", sc->module, sizeof(sc->module));
		if (rm < 0)
			problems++;
		else if (rm == 0)
			memcpy(sc->module, SIGNER_DEFAULT_MODULE, sizeof(SIGNER_DEFAULT_MODULE));
		int ru = config_get_str(e, "uri", sc->uri, sizeof(sc->uri));
		if (ru == 0) {
			config_error(e, "%s (pkcs11) needs uri = \"pkcs11:token=...;object=...;type=private\"", where);
			problems++;
		} else if (ru < 0) {
			problems++;
		} else if (strncmp(sc->uri, "pkcs11:", 7) != 0) {
			config_error(config_setting_get_member(e, "uri"), "%s.uri must be an RFC 7512 pkcs11: URI",
				     where);
			problems++;
		} else if (strstr(sc->uri, "pin-value=") != NULL) {
			/* RFC 7512 2.3 allows the PIN in the URI; our rule keeps secrets out of this file. */
			config_error(config_setting_get_member(e, "uri"),
				     "%s.uri must not carry pin-value: use pin_file or pin_env", where);
			problems++;
		}
		int rf = config_get_path(cfg, e, "pin_file", sc->pin_file, sizeof(sc->pin_file));
		int re = config_get_str(e, "pin_env", sc->pin_env, sizeof(sc->pin_env));
		if (rf < 0 || re < 0)
			problems++;
		else if (rf == 1 && re == 1) {
			config_error(e, "%s: give pin_file or pin_env, not both", where);
			problems++;
		} else if (rf == 0 && re == 0) {
			config_error(e, "%s (pkcs11) needs pin_file or pin_env", where);
			problems++;
		} else if (re == 1 && sc->pin_env[0] == '\0') {
			config_error(config_setting_get_member(e, "pin_env"), "%s.pin_env must not be empty", where);
			problems++;
		}
		if (config_setting_get_member(e, "key") != NULL) {
			config_error(config_setting_get_member(e, "key"), "%s: key is for type \"file\"", where);
			problems++;
		}
	} else {
		int rk = config_get_path(cfg, e, "key", sc->key_file, sizeof(sc->key_file));
		if (rk == 0) {
			config_error(e, "%s (file) needs key = \"FILE.key\"", where);
			problems++;
		} else if (rk < 0) {
			problems++;
		}
		static const char *const p11only[] = { "module", "uri", "pin_file", "pin_env" };
		for (size_t i = 0; i < sizeof(p11only) / sizeof(p11only[0]); i++) {
			const config_setting_t *s = config_setting_get_member(e, p11only[i]);
			if (s != NULL) {
				config_error(s, "%s: %s is for type \"pkcs11\"", where, p11only[i]);
				problems++;
			}
		}
	}
	return problems;
}

int config_read_signers(const va_config *cfg, struct signer_conf *out, size_t max, size_t *n)
{
	const config_setting_t *l = config_section(cfg, "signers");
	int problems = 0, len;

	*n = 0;
	if (l == NULL)
		return VA_OK;
	if (!config_setting_is_list(l)) {
		config_error(l, "signers must be a list ( { ... }, { ... } )");
		return VA_ERR_CONFIG;
	}
	len = config_setting_length(l);
	for (int i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
		struct signer_conf tmp, *sc = *n < max ? &out[*n] : &tmp;
		int p;

		if (*n >= max) {
			config_error(e, "too many signers (at most %zu)", max);
			problems++;
			break;
		}
		p = config_read_signer(cfg, e, sc);
		problems += p;
		if (p != 0)
			continue;
		for (size_t j = 0; j < *n; j++) {
			if (strcmp(out[j].name, sc->name) == 0) {
				config_error(config_setting_get_member(e, "name"), "duplicate signer name '%s'",
					     sc->name);
				problems++;
				p = 1;
				break;
			}
		}
		if (p == 0)
			(*n)++;
	}
	return problems ? VA_ERR_CONFIG : VA_OK;
}

const struct signer_conf *config_find_signer(const struct signer_conf *s, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s[i].name, name) == 0)
			return &s[i];
	return NULL;
}

static const struct config_key config_http_keys[] = {
	{ "listen", CONFIG_TYPE_STRING, 0 },	 { "port", CONFIG_TYPE_INT, 0 },
	{ "threads", CONFIG_TYPE_INT, 0 },	 { "conn_limit", CONFIG_TYPE_INT, 0 },
	{ "per_ip_limit", CONFIG_TYPE_INT, 0 }, { "timeout", CONFIG_TYPE_INT, 0 },
	{ "conn_memory", CONFIG_TYPE_INT, 0 },	 { "body_max", CONFIG_TYPE_INT, 0 },
	{ "workers", CONFIG_TYPE_INT, 0 },	 { "defer_queue", CONFIG_TYPE_INT, 0 },
	{ "loop_batch", CONFIG_TYPE_BOOL, 0 },	 { "drain_timeout", CONFIG_TYPE_INT, 0 },
};

/* Bounds of the http keys. conn_memory must hold the request line and headers (MHD answers 431 otherwise);
 * timeouts over an hour only keep dead peers' sockets. */
int config_read_http(const va_config *cfg, const config_setting_t *group, struct http_conf *out)
{
	char where[128] = "http";
	int problems;
	int64_t v;
	int rc;

	if (group == NULL)
		return VA_OK;
	config_setting_path(group, where, sizeof(where));
	problems = config_check_keys(cfg, group, where, config_http_keys,
				     sizeof(config_http_keys) / sizeof(config_http_keys[0]));
	if (!config_setting_is_group(group))
		return VA_ERR_CONFIG;
	if (problems)
		return VA_ERR_CONFIG;

	rc = config_get_str(group, "listen", out->listen, sizeof(out->listen));
	if (rc < 0) {
		problems++;
	} else if (rc == 1) {
		unsigned char addr[16];
		if (inet_pton(AF_INET, out->listen, addr) != 1 && inet_pton(AF_INET6, out->listen, addr) != 1) {
			config_error(config_setting_get_member(group, "listen"),
				     "%s.listen '%s' is not a numeric IPv4 or IPv6 address", where, out->listen);
			problems++;
		}
	}
#define HTTP_INT(key, lo, hi, field, ctype)                                                                           \
	do {                                                                                                          \
		rc = config_get_int(group, key, lo, hi, &v);                                                          \
		if (rc < 0)                                                                                           \
			problems++;                                                                                   \
		else if (rc == 1)                                                                                     \
			out->field = (ctype)v;                                                                        \
	} while (0)
	HTTP_INT("port", 0, 65535, port, uint16_t);
	HTTP_INT("threads", 1, LIM_HTTP_THREADS_MAX, threads, unsigned);
	HTTP_INT("conn_limit", 1, 1000000, conn_limit, unsigned);
	HTTP_INT("per_ip_limit", 1, 1000000, per_ip_limit, unsigned);
	HTTP_INT("timeout", 1, 3600, timeout, unsigned);
	HTTP_INT("conn_memory", 4096, 16 * 1024 * 1024, conn_memory, size_t);
	HTTP_INT("body_max", 1, LIM_HTTP_BODY_MAX, body_max, size_t);
	HTTP_INT("workers", 0, LIM_HTTP_WORKERS_MAX, workers, unsigned);
	HTTP_INT("defer_queue", 1, LIM_HTTP_DEFER_QUEUE_MAX, defer_queue, unsigned);
	HTTP_INT("drain_timeout", 1, LIM_HTTP_DRAIN_TIMEOUT_MAX, drain_timeout, unsigned);
#undef HTTP_INT
	if (config_get_bool(group, "loop_batch", &out->loop_batch) < 0)
		problems++;
	/* libmicrohttpd divides conn_limit among the pool threads: each needs at least one. */
	if (problems == 0 && out->conn_limit < out->threads) {
		config_error(group, "%s: conn_limit (%u) must be at least threads (%u)", where, out->conn_limit,
			     out->threads);
		problems++;
	}
	return problems ? VA_ERR_CONFIG : VA_OK;
}
