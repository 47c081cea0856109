/*
 * config.h: the one libconfig file that configures every service, read with -c FILE.
 *
 * Top-level sections: log, store, signers (list), ocspd, tsad, crlgen. A service reads the common sections and its
 * own; the other services' sections are left to them (config_check() of a service validates only what it uses,
 * `vactl -n` validates all). Unknown keys and wrong types are errors naming the file and line. Secrets (HSM PIN)
 * are never in this file: signers name a pin_file or a pin_env.
 */
#ifndef VA_CONFIG_H
#define VA_CONFIG_H

#include <libconfig.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "http.h"
#include "signer.h"

typedef struct va_config va_config;

/* Parses the file; on a syntax error, a duplicate key or an integer literal past 32 bits without the L suffix
 * (libconfig 1.5 would wrap it) logs "file:line: message" and returns NULL with *err = VA_ERR_CONFIG (VA_ERR_IO
 * when the file cannot be read). Relative paths inside the file, and @include, are
 * resolved against the file's directory (config_get_path). The result owns every string and setting the getters
 * hand out; they stay valid until config_free. Not thread-safe to mutate; read from one thread at a time. */
va_config *config_load(const char *path, int *err);
/* Accepts NULL. */
void config_free(va_config *cfg);
/* The underlying libconfig root setting, for the services' own sections. */
const config_setting_t *config_root(const va_config *cfg);
/* The file name given to config_load. */
const char *config_file(const va_config *cfg);
/* Absolute directory of the file (base of relative paths). Valid until config_free. */
const char *config_dir(const va_config *cfg);
/* A top-level setting by name ("ocspd"), or NULL when absent. Valid until config_free. */
const config_setting_t *config_section(const va_config *cfg, const char *name);
/* Makes value absolute against config_dir() unless it already is; VA_ERR_RANGE if out is too small. */
VA_MUST_CHECK int config_resolve_path(const va_config *cfg, const char *value, char *out, size_t outlen);

/* Schema checking. Each key a group may hold, with its type (CONFIG_TYPE_INT, _INT64, _FLOAT, _STRING, _BOOL,
 * _GROUP, _LIST, _ARRAY) and whether it is required. INT accepts INT64 and vice versa; FLOAT accepts integers.
 * Note libconfig's syntax: [ a, b ] is an ARRAY (scalars of one type), ( {..}, {..} ) a LIST. */
struct config_key {
	const char *name;
	int type;
	int required;
};
/* Logs each unknown key, missing required key and wrong type, with file and line; returns the count (0 = ok).
 * where: a name for messages ("ocspd.http"). group NULL (section absent) with no required keys is fine; a group
 * that is not a group { } counts as one problem. */
int config_check_keys(const va_config *cfg, const config_setting_t *group, const char *where,
		      const struct config_key *keys, size_t nkeys);

/* Typed getters on a group; return 1 if present (value set), 0 if absent (value untouched), negative va_err on a
 * wrong type (VA_ERR_CONFIG) or out of range / too long for out (VA_ERR_RANGE), logged with file and line.
 * g may be NULL (absent). */
int config_get_str(const config_setting_t *g, const char *name, char *out, size_t outlen);
int config_get_int(const config_setting_t *g, const char *name, int64_t min, int64_t max, int64_t *out);
int config_get_bool(const config_setting_t *g, const char *name, int *out);
/* A string naming a file: relative values are made relative to the config file's directory (absolute result);
 * an empty string is an error. */
int config_get_path(const va_config *cfg, const config_setting_t *g, const char *name, char *out, size_t outlen);

/* Common sections. Each returns 0 or VA_ERR_CONFIG after logging every problem it found. */
struct store_conf {
	char path[4096];          /* LMDB directory */
	uint64_t map_size;        /* initial map size in bytes; 0 = default */
};
/* log { level = "error"|"warning"|"warn"|"info"|"debug"; syslog = bool; } (both optional; section optional).
 * Applies it: log_set_level(), and log_init(program name, 1, level) when syslog = true. */
int config_read_log(const va_config *cfg);
/* Same checks without applying (for -n): *level is an enum log_level, *use_syslog 0 or 1. */
VA_MUST_CHECK int config_parse_log(const va_config *cfg, int *level, int *use_syslog);
/* store { path = "DIR" (required, made absolute); map_size_mb = 1..2^20 (optional); } (section required). */
int config_read_store(const va_config *cfg, struct store_conf *out);
/* Reads every entry of the signers list into out (at most max; *n set to the count of good entries). The list is
 * optional (*n = 0). Keys: name, type ("pkcs11" | "file"), cert (all three required), chain; pkcs11: uri
 * (required, pkcs11: scheme, no pin-value), module (default SIGNER_DEFAULT_MODULE), exactly one of pin_file /
 * pin_env; file: key (required). A "pin" key, unknown keys, keys of the other type and duplicate names are
 * errors. Paths are made absolute. */
int config_read_signers(const va_config *cfg, struct signer_conf *out, size_t max, size_t *n);
/* Reads an "http" group (listen, port, threads, conn_limit, per_ip_limit, timeout, conn_memory, body_max) over
 * the defaults already in *out (http_conf_defaults), checking its keys, ranges (port 0..65535, threads 1..256,
 * timeout 1..3600 s, conn_memory 4 KiB..16 MiB, body_max 1..LIM_HTTP_BODY_MAX, conn_limit >= threads) and that
 * listen is a numeric address. group may be NULL (defaults kept). */
int config_read_http(const va_config *cfg, const config_setting_t *group, struct http_conf *out);
/* Finds a signer by name in an array read by config_read_signers; NULL if none. */
const struct signer_conf *config_find_signer(const struct signer_conf *s, size_t n, const char *name);

#endif
