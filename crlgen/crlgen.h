/*
 * crlgen.h: the CRL publisher's configuration, publication jobs and HTTP glue.
 *
 * A job is one configured CRL scope (one issuing CA): it publishes full CRLs and, if configured, delta CRLs
 * (RFC 5280 5.2.4) into the publish directory, from one store and through one signer. Jobs are driven from one
 * thread (the main loop or `--once`); the HTTP glue (serve.c) reads the published files from the pool threads.
 * Errors: 0 or a negative va_err.
 */
#ifndef CRL_CRLGEN_H
#define CRL_CRLGEN_H

#include <limits.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "crl.h"
#include "http.h"
#include "metrics.h"
#include "signer.h"
#include "store.h"

#define CRLGEN_CRLS_MAX 64          /* CRL scopes in one daemon */
#define CRLGEN_BUILD_RETRIES 5      /* rebuilds when the store changed between the two passes */
#define CRLGEN_DELTA_CHANGES_MAX (256 * 1024) /* changes held to build one delta (~100 octets each) */
#define CRLGEN_RETRY_SECONDS 5      /* wait after a failed publication */

/* A serial-number partition of an issuer's CRL: serials in [from, to); has_to 0 means no upper bound. */
struct crl_range {
	int on;
	struct store_serial from, to;
	int has_to;
};
/* Numeric order of serials (negative ones first). */
int crl_serial_cmp(const struct store_serial *a, const struct store_serial *b);
/* 1 if s is in the range (always when the range is off). */
int crl_range_has(const struct crl_range *r, const struct store_serial *s);
/* 1 if a and b select the same serials. */
int crl_range_same(const struct crl_range *a, const struct crl_range *b);

struct crl_conf {
	char name[CRL_NAME_MAX];           /* file names: <name>.crl, <name>-delta.crl */
	char issuer[LIM_ISSUER_LABEL_MAX]; /* store label of the CA */
	char signer[64];                   /* signer holding the CA's key */
	int64_t validity;                  /* full CRL: nextUpdate - thisUpdate */
	int delta;                         /* publish delta CRLs too */
	int64_t delta_validity;
	int64_t retention;                 /* seconds an expired certificate stays listed; -1: forever */
	int64_t ready_margin;              /* /readyz fails this close to the full CRL's nextUpdate */
	char idp[CRL_URI_MAX + 1];         /* issuingDistributionPoint URI, "" for none */
	char freshest[CRL_URI_MAX + 1];    /* freshestCRL URI (full CRLs), "" for none */
	struct crl_range range;            /* serial_from / serial_to: a partitioned CRL (idp required) */
};

struct crlgen_conf {
	struct http_conf http;
	char publish_dir[PATH_MAX];
	int64_t interval;                  /* seconds between regular full CRLs */
	int64_t change_delay;              /* publish within this many seconds of a change */
	int full_on_change;                /* on a change: full + delta (1, default) or only a delta (0) */
	struct crl_conf crls[CRLGEN_CRLS_MAX];
	size_t ncrls;
	struct store_conf store;
	struct signer_conf signers[LIM_SIGNERS_MAX];
	size_t nsigners;
};

/* 0 if b only changes what a running daemon can apply (timers, validity, retention, margins, URIs, ranges): same
 * CRL names, issuers and signers in the same order, same store, publish directory, HTTP settings and signer
 * definitions. Else logs the first difference and returns VA_ERR_CONFIG (a restart is needed). */
VA_MUST_CHECK int crlgen_conf_reloadable(const struct crlgen_conf *a, const struct crlgen_conf *b);

/* Reads and checks the common sections the daemon needs and the crlgen section (unknown keys are errors, each
 * problem logged with its line). Returns 0 or VA_ERR_CONFIG. */
VA_MUST_CHECK int crlgen_conf_read(const va_config *cfg, struct crlgen_conf *out);

/* Signing through common/signer with SHA-256. ops->arg is s (borrowed). */
VA_MUST_CHECK int crl_sign_ops_signer(struct crl_sign_ops *ops, signer *s);

/* Publication state, kept in store meta "crlgen/<name>" so numbering and deltas survive restarts. */
struct crl_state {
	uint64_t full_number;   /* last published full CRL (0: none) */
	uint64_t full_seq;      /* change-log position the full CRL reflects */
	int64_t full_this, full_next;
	uint64_t prev_number;   /* the full CRL before it (base of the delta published with it) */
	uint64_t prev_seq;
	uint64_t delta_number;  /* last published delta (0: none) */
	uint64_t published_seq; /* change-log position of the newest publication (full or delta) */
};
VA_MUST_CHECK int crl_state_load(store *st, const char *name, struct crl_state *s);
VA_MUST_CHECK int crl_state_save(store *st, const char *name, const struct crl_state *s);

/* Delta entries (RFC 5280 5.2.4): the latest state of every certificate of `issuer` changed in (after, upto]:
 * revoked and held ones as in a full CRL, released holds as removeFromCRL (RFC 5280 5.3.1). Sorted by serial.
 * range: only serials of this partition (NULL or off: all).
 * *out is malloc'd (free() it); VA_ERR_BUSY when more than CRLGEN_DELTA_CHANGES_MAX changes. */
VA_MUST_CHECK int crl_delta_collect(store *st, uint32_t issuer, const struct crl_range *range, uint64_t after,
				    uint64_t upto, int64_t retention_cutoff, struct crl_entry **out, size_t *n);
/* Source over an array (for crl_build). */
struct crl_array {
	const struct crl_entry *e;
	size_t n;
};
int crl_array_source(void *arg, crl_emit_fn emit, void *ctx);

/* One configured CRL scope, ready to publish. */
struct crl_job {
	const struct crl_conf *cc;
	signer *sg;                  /* borrowed */
	uint32_t issuer_id;
	uint8_t *name_der;           /* the CA's subject, owned */
	size_t name_len;
	uint8_t akid[64];
	size_t akid_len;
	EVP_PKEY *pub;               /* the CA's public key (verification before publication), owned */
	struct crl_state state;
	/* Daemon timers (crlgen main loop). */
	uint64_t scanned_seq;        /* change log scanned up to here for this issuer */
	time_t change_seen;          /* first unpublished change noticed (0: none) */
	time_t retry_at;
	int force;
	uint64_t failures;
};

/* Looks the issuer up in the store, checks that the signer's certificate carries the CA's key (the CRL issuer
 * is the CA itself, RFC 5280 5.1.2.3), loads the state. */
VA_MUST_CHECK int crl_job_init(struct crl_job *j, store *st, const struct crl_conf *cc, signer *sg);
void crl_job_clear(struct crl_job *j);
/* Publishes a full CRL now (and with delta enabled, a delta of the same number against the previous full CRL),
 * verified before the atomic rename. Updates j->state and the store. */
VA_MUST_CHECK int crl_job_full(struct crl_job *j, store *st, const char *dir);
/* Publishes only a delta against the current full CRL (with a new number). */
VA_MUST_CHECK int crl_job_delta(struct crl_job *j, store *st, const char *dir);
/* 1 if the store holds a change of this job's issuer after what was last published (updates scanned_seq). */
VA_MUST_CHECK int crl_job_changed(struct crl_job *j, store *st, int *changed);

#define CRLGEN_TRIM_EVERY 32768 /* records walked between two trims */

/* HTTP glue: serves dir/<name>.crl and dir/<name>-delta.crl for the configured names. Cache-Control max-age is
 * the time to the CRL's nextUpdate, capped at max_age (the publication interval: a newer CRL may exist by then). */
typedef struct crl_served crl_served;
crl_served *crl_served_new(const char *dir, const struct crl_conf *crls, size_t n, int64_t max_age);
void crl_served_free(crl_served *cs);
/* After a reload that kept the same CRL names in the same order: new ready margins and max-age. */
void crl_served_update(crl_served *cs, const struct crl_conf *crls, size_t n, int64_t max_age);
/* Re-reads files that changed on disk (by inode and mtime); cheap when nothing changed. Main thread. */
void crl_served_refresh(crl_served *cs);
/* GET/HEAD handler for the "/crl/" route; arg is the crl_served. */
void crl_served_handle(void *arg, const struct http_request *req, struct http_response *resp);
/* 0 when every full CRL is served and not within its ready_margin of nextUpdate at time now. */
int crl_served_ready(crl_served *cs, time_t now, char *why, size_t whylen);

#endif
