/*
 * vactl.h: what the vactl command files share (not a public header: only vactl/ includes it).
 *
 * Exit codes: VACTL_OK 0, VACTL_ERROR 1 (the operation failed, nothing or only a stated part applied),
 * VACTL_USAGE 2 (bad command line). Messages for the operator go to stderr ("vactl: ..."); results (lists,
 * exports, counts) go to stdout.
 */
#ifndef VACTL_VACTL_H
#define VACTL_VACTL_H

#include <stdint.h>
#include <stdio.h>

#include <openssl/x509.h>

#include "config.h"
#include "store.h"

enum { VACTL_OK = 0, VACTL_ERROR = 1, VACTL_USAGE = 2 };

struct vactl {
	const char *config_path; /* -c */
	const char *store_dir;   /* -s */
	int quiet;               /* -q: no informational messages */
	char store_path[4096];   /* resolved store directory */
	uint64_t map_size;       /* from the config; 0 = default */
	store *st;               /* opened by vactl_store_open, closed by main */
};

/* Messages: errors always, info unless -q. */
void vactl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vactl_info(const struct vactl *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the usage error and returns VACTL_USAGE. */
int vactl_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens v->st (STORE_RDONLY, or STORE_RDWR [| STORE_CREATE]); for writers also records the OS user as actor.
 * Returns 0 or a va_err after printing why. */
int vactl_store_open(struct vactl *v, int flags);

/* Certificates from a file: every certificate of a PEM file (one or more) or the one of a DER file. On success
 * *out is a new stack the caller frees with sk_X509_pop_free(out, X509_free). */
int vactl_certs_load(const char *path, STACK_OF(X509) **out);
/* Exactly one certificate (PEM or DER); the caller frees it with X509_free. */
int vactl_cert_load(const char *path, X509 **out);
/* Serial of a certificate in the store's canonical form. */
int vactl_cert_serial(X509 *cert, struct store_serial *s);
/* notAfter in seconds since the epoch. */
int vactl_cert_not_after(X509 *cert, int64_t *out);
/* 0 if ca issued cert (issuer name, key identifiers and signature); else VA_ERR_CONFLICT with *why set. */
int vactl_cert_issued_by(X509 *ca, X509 *cert, const char **why);

/* The issuer registered as label: id and (optionally, caller frees with X509_free) its certificate. Prints an
 * error naming the label when it is unknown. */
int vactl_issuer_find(struct vactl *v, const char *label, uint32_t *id, X509 **cert);
/* Labels and ids of every issuer, collected in one walk so that callers may then query the store per issuer
 * (no store call may run inside a store walk's callback). */
struct vactl_issuers {
	struct {
		uint32_t id;
		char label[LIM_ISSUER_LABEL_MAX];
	} r[LIM_ISSUERS_MAX];
	size_t n;
};
int vactl_issuers_collect(struct vactl *v, struct vactl_issuers *out);
/* For "serial not found under LABEL" errors: the label of another issuer that has this serial, into out, or "". */
void vactl_serial_elsewhere(struct vactl *v, uint32_t not_id, const struct store_serial *s, char *out,
			    size_t outlen);

/* One line per certificate, TAB-separated, shared by `status` and `list`:
 * LABEL SERIAL STATUS NOTAFTER REVOKED-AT REASON INVALIDITY (times ISO 8601 UTC, "-" when not applicable). */
void vactl_cert_print(const char *label, const struct store_serial *s, const struct store_cert_rec *rec);

/* -c FILE -n: the whole configuration file (confcheck.c). Returns an exit code. */
int vactl_config_check(const char *path, int quiet);

/* Commands: argv[0] is the command name, its arguments follow (getopt_long-style options allowed anywhere).
 * Each returns an exit code. */
int cmd_init(struct vactl *v, int argc, char **argv);
int cmd_ca(struct vactl *v, int argc, char **argv);
int cmd_import(struct vactl *v, int argc, char **argv);
int cmd_revoke(struct vactl *v, int argc, char **argv);
int cmd_hold(struct vactl *v, int argc, char **argv);
int cmd_release(struct vactl *v, int argc, char **argv);
int cmd_status(struct vactl *v, int argc, char **argv);
int cmd_list(struct vactl *v, int argc, char **argv);
int cmd_stats(struct vactl *v, int argc, char **argv);
int cmd_export(struct vactl *v, int argc, char **argv);
int cmd_changes(struct vactl *v, int argc, char **argv);
int cmd_backup(struct vactl *v, int argc, char **argv);
int cmd_check(struct vactl *v, int argc, char **argv);
int cmd_reindex(struct vactl *v, int argc, char **argv);

#endif
