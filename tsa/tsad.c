/*
 * tsad.c: the timestamp authority service (see tsad.h): configuration, start-up checks, the HTTP handler
 * (RFC 3161 3.4: POST application/timestamp-query -> application/timestamp-reply), readiness and reload.
 */
#include "tsad.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "clock.h"
#include "config.h"
#include "http.h"
#include "va_limits.h"
#include "log.h"
#include "metrics.h"
#include "request.h"
#include "serial.h"
#include "shutdown.h"
#include "signer.h"
#include "store.h"
#include "token.h"
#include "tsaclock.h"

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))
#define TSAD_NAME_MAX 64
#define TSAD_ACCURACY_MAX 3600000 /* one hour, in ms: anything coarser is not a timestamp */
#define TSAD_BLOCK_MAX 1000000

struct tsad_conf {
	struct store_conf store;
	struct http_conf http;
	struct signer_conf signer;
	char name[TSAD_NAME_MAX];
	struct tsa_accept acc;
	unsigned accuracy_ms;
	int precision_ms;
	int tsa_name;
	int require_clock_sync;
	int verify_tokens;
	uint64_t serial_block;
};

/* What a reload replaces as a whole: the accepted values, the signer and the token builder. */
struct tsad_gen {
	struct tsad_conf conf;
	signer *sg;
	tsa_token_ctx *tok;
	tsa_clock *clk;
};

/* Metrics results, in the order of enum tsad_result. */
static const char *const result_names[] = { "granted",        "bad_format", "bad_alg",      "bad_request",
					    "bad_policy",     "bad_extension", "time_not_available", "system_failure" };
enum tsad_result { R_GRANTED, R_BAD_FORMAT, R_BAD_ALG, R_BAD_REQUEST, R_BAD_POLICY, R_BAD_EXT, R_TIME, R_SYSFAIL, R_N };

struct tsad {
	const char *path;
	store *st;
	char counter[TSAD_NAME_MAX + 16]; /* "tsa-serial/NAME" */
	tsa_serial *serial;
	metrics *m;
	metrics_counter *results[R_N];
	metrics_counter *reservations;
	pthread_rwlock_t lock; /* guards gen: requests read, reload writes */
	struct tsad_gen *gen;
	int clock_bad;         /* main thread only (tick): last clock state logged */
	atomic_int reserve_failed; /* the last serial reservation failed: not ready, the tick retries */
	_Atomic int64_t last_err_log; /* ms (monotonic) of the last per-request error logged */
	uint8_t busy_der[128];  /* the answer when the signing queue is full, encoded once at start */
	size_t busy_len;
};

static const struct config_key tsad_keys[] = {
	{ "http", CONFIG_TYPE_GROUP, 0 },
	{ "signer", CONFIG_TYPE_STRING, 1 },
	{ "name", CONFIG_TYPE_STRING, 0 },
	{ "policy", CONFIG_TYPE_STRING, 1 },
	{ "accepted_policies", CONFIG_TYPE_ARRAY, 0 },
	{ "digests", CONFIG_TYPE_ARRAY, 0 },
	{ "accuracy_ms", CONFIG_TYPE_INT, 0 },
	{ "precision_ms", CONFIG_TYPE_BOOL, 0 },
	{ "tsa_name", CONFIG_TYPE_BOOL, 0 },
	{ "require_clock_sync", CONFIG_TYPE_BOOL, 0 },
	{ "verify_tokens", CONFIG_TYPE_BOOL, 0 },
	{ "serial_block", CONFIG_TYPE_INT, 0 },
};

static unsigned line_of(const config_setting_t *s)
{
	return s != NULL ? (unsigned)config_setting_source_line(s) : 0;
}

/* A string array; fn is applied to each element. Returns the number of problems. */
static int read_str_array(const va_config *cfg, const config_setting_t *sec, const char *key,
			  int (*fn)(struct tsa_accept *, const char *), struct tsa_accept *acc, const char *what)
{
	const config_setting_t *arr = config_setting_get_member(sec, key);
	int problems = 0, n;

	if (arr == NULL)
		return 0;
	n = config_setting_length(arr);
	if (n <= 0) {
		log_err("%s:%u: tsad.%s must not be empty", config_file(cfg), line_of(arr), key);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		const char *v = config_setting_get_string_elem(arr, i);
		int rc = v != NULL ? fn(acc, v) : VA_ERR_CONFIG;

		if (rc != 0) {
			log_err("%s:%u: tsad.%s[%d]%s%s%s: %s", config_file(cfg), line_of(arr), key, i,
				v != NULL ? " \"" : "", v != NULL ? v : "", v != NULL ? "\"" : "",
				rc == VA_ERR_RANGE ? "too many entries" : v == NULL ? "not a string" : what);
			problems++;
		}
	}
	return problems;
}

static int read_bool(const config_setting_t *sec, const char *key, int *out)
{
	return config_get_bool(sec, key, out) < 0 ? 1 : 0;
}

/* Reads the common sections tsad uses and its own. Logs every problem; 0 or VA_ERR_CONFIG. */
static int tsad_conf_read(const va_config *cfg, struct tsad_conf *c)
{
	const config_setting_t *sec = config_section(cfg, "tsad");
	struct signer_conf *signers = NULL;
	const struct signer_conf *sc;
	char sname[sizeof(c->signer.name)], policy[256];
	int problems = 0, rc;
	size_t nsigners = 0;
	int64_t v;

	memset(c, 0, sizeof(*c));
	http_conf_defaults(&c->http);
	/* Every request is signed on a worker: the loop only dispatches, so it should not preempt signing. */
	c->http.loop_batch = 1;
	/* A TimeStampReq is a POST to a short path with a few headers, and libmicrohttpd zeroes the whole pool between
	 * keep-alive requests: 8 KiB rather than 32 gave 3-4% more tokens/s at 64 connections (perf/RESULTS.md). */
	c->http.conn_memory = LIM_TSA_CONN_MEM_DEFAULT;
	snprintf(c->name, sizeof(c->name), "tsa");
	c->accuracy_ms = 1000;
	c->precision_ms = 1;
	c->serial_block = LIM_TSA_SERIAL_BLOCK;

	if (config_read_log(cfg) != 0)
		problems++;
	if (config_read_store(cfg, &c->store) != 0)
		problems++;
	if (sec == NULL || !config_setting_is_group(sec)) {
		log_err("%s: no tsad section", config_file(cfg));
		return VA_ERR_CONFIG;
	}
	/* Unknown keys are reported and the known ones still checked, so one run shows every problem. */
	if (config_check_keys(cfg, sec, "tsad", tsad_keys, NKEYS(tsad_keys)) != 0)
		problems++;
	if (config_read_http(cfg, config_setting_get_member(sec, "http"), &c->http) != 0)
		problems++;

	signers = calloc(LIM_SIGNERS_MAX, sizeof(*signers));
	if (signers == NULL)
		return VA_ERR_NOMEM;
	if (config_read_signers(cfg, signers, LIM_SIGNERS_MAX, &nsigners) != 0)
		problems++;
	rc = config_get_str(sec, "signer", sname, sizeof(sname));
	if (rc == 1) {
		sc = config_find_signer(signers, nsigners, sname);
		if (sc == NULL) {
			log_err("%s:%u: tsad.signer \"%s\" is not in the signers list", config_file(cfg),
				line_of(config_setting_get_member(sec, "signer")), sname);
			problems++;
		} else {
			c->signer = *sc;
		}
	} else {
		problems++;
	}
	free(signers);

	rc = config_get_str(sec, "name", c->name, sizeof(c->name));
	if (rc < 0 || c->name[0] == '\0' || strchr(c->name, '/') != NULL) {
		log_err("%s:%u: tsad.name must be a non-empty word of at most %d characters", config_file(cfg),
			line_of(config_setting_get_member(sec, "name")), TSAD_NAME_MAX - 1);
		problems++;
	}
	rc = config_get_str(sec, "policy", policy, sizeof(policy));
	if (rc != 1 || tsa_accept_set_policy(&c->acc, policy) != 0) {
		log_err("%s:%u: tsad.policy must be a dotted OID", config_file(cfg),
			line_of(config_setting_get_member(sec, "policy")));
		problems++;
	}
	problems += read_str_array(cfg, sec, "accepted_policies", tsa_accept_add_policy, &c->acc,
				   "not a dotted OID");
	if (config_setting_get_member(sec, "digests") != NULL) {
		problems += read_str_array(cfg, sec, "digests", tsa_accept_add_digest, &c->acc,
					   "not an accepted imprint hash (sha256, sha384, sha512, sha3-256, sha3-384, sha3-512, sha1)");
	} else if (tsa_accept_add_digest(&c->acc, "sha256") != 0 || tsa_accept_add_digest(&c->acc, "sha384") != 0 ||
		   tsa_accept_add_digest(&c->acc, "sha512") != 0) {
		problems++;
	}
	rc = config_get_int(sec, "accuracy_ms", 0, TSAD_ACCURACY_MAX, &v);
	if (rc < 0)
		problems++;
	else if (rc == 1)
		c->accuracy_ms = (unsigned)v;
	rc = config_get_int(sec, "serial_block", 2, TSAD_BLOCK_MAX, &v);
	if (rc < 0)
		problems++;
	else if (rc == 1)
		c->serial_block = (uint64_t)v;
	problems += read_bool(sec, "precision_ms", &c->precision_ms);
	problems += read_bool(sec, "tsa_name", &c->tsa_name);
	problems += read_bool(sec, "require_clock_sync", &c->require_clock_sync);
	problems += read_bool(sec, "verify_tokens", &c->verify_tokens);
	if (c->require_clock_sync && c->accuracy_ms == 0) {
		log_err("%s:%u: tsad.require_clock_sync needs a non-zero accuracy_ms to compare the clock error with",
			config_file(cfg), line_of(config_setting_get_member(sec, "require_clock_sync")));
		problems++;
	}
	return problems ? VA_ERR_CONFIG : 0;
}

int tsad_cert_check(X509 *cert, time_t now, const char **why)
{
	EXTENDED_KEY_USAGE *eku = NULL;
	int crit = 0, idx, rc = VA_ERR_CONFIG;

	*why = NULL;
	/* RFC 3161 2.3: "The corresponding certificate MUST contain only one instance of the extended key usage
	 * field extension ... with KeyPurposeID having value id-kp-timeStamping. This extension MUST be critical." */
	idx = X509_get_ext_by_NID(cert, NID_ext_key_usage, -1);
	if (idx < 0) {
		*why = "has no extended key usage (RFC 3161 2.3 requires id-kp-timeStamping, critical, alone)";
		goto out;
	}
	if (X509_get_ext_by_NID(cert, NID_ext_key_usage, idx) >= 0) {
		*why = "has more than one extended key usage extension (RFC 3161 2.3)";
		goto out;
	}
	eku = X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, NULL);
	if (eku == NULL) {
		*why = "has an undecodable extended key usage";
		goto out;
	}
	if (sk_ASN1_OBJECT_num(eku) != 1 || OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)) != NID_time_stamp) {
		*why = "has an extended key usage other than id-kp-timeStamping alone (RFC 3161 2.3)";
		goto out;
	}
	if (!crit) {
		*why = "has a non-critical extended key usage (RFC 3161 2.3: it MUST be critical)";
		goto out;
	}
	if (X509_cmp_time(X509_get0_notBefore(cert), &now) >= 0) {
		*why = "is not valid yet";
		goto out;
	}
	if (X509_cmp_time(X509_get0_notAfter(cert), &now) <= 0) {
		*why = "has expired";
		goto out;
	}
	rc = 0;
out:
	EXTENDED_KEY_USAGE_free(eku);
	return rc;
}

static int cert_file_check(const struct signer_conf *sc)
{
	FILE *f = fopen(sc->cert_file, "r");
	X509 *x = NULL;
	const char *why = NULL;
	int rc = VA_ERR_CONFIG;

	if (f == NULL) {
		log_err("tsad: cannot read the TSA certificate %s", sc->cert_file);
		return VA_ERR_IO;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		log_openssl(LOG_LVL_ERR, "tsad: %s: not a PEM certificate", sc->cert_file);
	else if (tsad_cert_check(x, clock_now_sec(), &why) != 0)
		log_err("tsad: the TSA certificate %s %s", sc->cert_file, why);
	else
		rc = 0;
	X509_free(x);
	return rc;
}

static int sign_cb(void *arg, const EVP_MD *md, const uint8_t *data, size_t len, uint8_t *sig, size_t *siglen)
{
	return signer_sign(arg, md, data, len, sig, siglen);
}

/* At most one line per second for failures that hit every request alike (token gone, store down), so that a
 * loaded TSA in trouble does not bury its log. */
static int err_log_due(struct tsad *d)
{
	int64_t now = clock_mono_ms(), last;

	last = atomic_load(&d->last_err_log);
	return now - last >= 1000 && atomic_compare_exchange_strong(&d->last_err_log, &last, now);
}

static int reserve_cb(void *arg, uint64_t count, uint64_t *first)
{
	struct tsad *d = arg;
	int rc = store_counter_reserve(d->st, d->counter, count, first);

	atomic_store(&d->reserve_failed, rc != 0);
	if (rc == 0) {
		metrics_counter_inc(d->reservations);
		log_info("tsad: reserved serials %llu..%llu (%s)", (unsigned long long)*first,
			 (unsigned long long)(*first + count - 1), d->counter);
	} else if (err_log_due(d)) {
		log_err("tsad: cannot reserve serials from %s: %s", d->counter, va_strerror(rc));
	}
	return rc;
}

static void gen_free(struct tsad_gen *g)
{
	if (g == NULL)
		return;
	tsa_token_ctx_free(g->tok);
	tsa_clock_free(g->clk);
	signer_free(g->sg);
	free(g);
}

/* Loads the configuration and builds everything a reload may replace. NULL after logging why. */
static struct tsad_gen *gen_load(const char *path, int check_only)
{
	struct tsad_gen *g = calloc(1, sizeof(*g));
	struct tsa_token_conf tc;
	uint8_t alg[64];
	va_config *cfg = NULL;
	const char *why = NULL;
	int rc, n;

	if (g == NULL)
		return NULL;
	cfg = config_load(path, &rc);
	if (cfg == NULL || tsad_conf_read(cfg, &g->conf) != 0)
		goto fail;
	if (check_only) {
		if (cert_file_check(&g->conf.signer) != 0)
			goto fail;
		config_free(cfg);
		return g;
	}
	g->sg = signer_open(&g->conf.signer, &rc);
	if (g->sg == NULL) {
		log_err("tsad: signer %s: %s", g->conf.signer.name, va_strerror(rc));
		goto fail;
	}
	if (rc == VA_ERR_SIGNER_DOWN)
		log_warn("tsad: signer %s is down; not ready until it comes back", g->conf.signer.name);
	if (tsad_cert_check(signer_cert(g->sg), clock_now_sec(), &why) != 0) {
		log_err("tsad: refusing to start: the TSA certificate %s %s", g->conf.signer.cert_file, why);
		goto fail;
	}
	n = signer_sig_alg_der(g->sg, EVP_sha256(), alg, sizeof(alg));
	if (n <= 0) {
		log_err("tsad: signer %s: unsupported key type for SHA-256 signatures", g->conf.signer.name);
		goto fail;
	}
	memset(&tc, 0, sizeof(tc));
	tc.cert = signer_cert(g->sg);
	tc.chain = signer_chain(g->sg);
	tc.sig_alg_der = alg;
	tc.sig_alg_len = (size_t)n;
	tc.max_sig_len = signer_max_sig_len(g->sg);
	tc.sign = sign_cb;
	tc.sign_arg = g->sg;
	tc.accuracy_ms = g->conf.accuracy_ms;
	tc.precision_ms = g->conf.precision_ms;
	tc.tsa_name = g->conf.tsa_name;
	tc.verify = g->conf.verify_tokens;
	g->tok = tsa_token_ctx_new(&tc, &rc);
	if (g->tok == NULL) {
		log_openssl(LOG_LVL_ERR, "tsad: cannot prepare tokens: %s", va_strerror(rc));
		goto fail;
	}
	g->clk = tsa_clock_new(g->conf.accuracy_ms, g->conf.require_clock_sync);
	if (g->clk == NULL)
		goto fail;
	config_free(cfg);
	return g;
fail:
	config_free(cfg);
	gen_free(g);
	return NULL;
}

static enum tsad_result result_of(int failure)
{
	switch (failure) {
	case TSA_FAIL_BAD_DATA_FORMAT:
		return R_BAD_FORMAT;
	case TSA_FAIL_BAD_ALG:
		return R_BAD_ALG;
	case TSA_FAIL_BAD_REQUEST:
		return R_BAD_REQUEST;
	case TSA_FAIL_UNACCEPTED_POLICY:
		return R_BAD_POLICY;
	case TSA_FAIL_UNACCEPTED_EXTENSION:
		return R_BAD_EXT;
	case TSA_FAIL_TIME_NOT_AVAILABLE:
		return R_TIME;
	default:
		return R_SYSFAIL;
	}
}

/* Issues a token for a validated request, or fills rej. Called with the read lock held. */
static int issue(struct tsad *d, const struct tsad_gen *g, const struct tsa_request *rq, uint8_t **out,
		 size_t *outlen, struct tsa_reject *rej)
{
	struct timespec now;
	const char *why = NULL;
	uint64_t serial;
	int rc;

	/* ETSI EN 319 421 7.7.2: no token with a time the TSA cannot vouch for. */
	rc = tsa_clock_read(g->clk, &now, &why);
	if (rc != 0) {
		tsa_reject_set(rej, TSA_FAIL_TIME_NOT_AVAILABLE, why, "time_not_available");
		return rc;
	}
	rc = tsa_serial_next(d->serial, &serial);
	if (rc != 0) {
		tsa_reject_set(rej, TSA_FAIL_SYSTEM_FAILURE, "serial numbers unavailable", "system_failure");
		return rc;
	}
	rc = tsa_token_build(g->tok, rq, serial, now, out, outlen);
	if (rc != 0) {
		if (err_log_due(d))
			log_openssl(LOG_LVL_ERR, "tsad: token %llu not issued: %s", (unsigned long long)serial,
				    va_strerror(rc));
		else
			ERR_clear_error();
		tsa_reject_set(rej, TSA_FAIL_SYSTEM_FAILURE,
			       rc == VA_ERR_SIGNER_DOWN ? "signing key unavailable, try later" : "signing failed",
			       "system_failure");
	}
	return rc;
}

/* The deferred half of a request, on an http worker thread: parse, build and sign. Parsing is cheap, but a token
 * must be built with the acceptance rules it was checked against, so both happen under one read lock. */
static void tsa_issue_deferred(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct tsad *d = arg;
	struct tsa_request rq;
	struct tsa_reject rej;
	uint8_t rbuf[512], *token = NULL;
	size_t token_len = 0;
	int n;

	pthread_rwlock_rdlock(&d->lock);
	if (tsa_request_parse(&d->gen->conf.acc, req->body, req->body_len, &rq, &rej) == 0)
		(void)issue(d, d->gen, &rq, &token, &token_len, &rej);
	pthread_rwlock_unlock(&d->lock);

	resp->status = 200;
	resp->content_type = "application/timestamp-reply";
	http_response_header(resp, "Cache-Control", "no-store");
	if (token != NULL) {
		metrics_counter_inc(d->results[R_GRANTED]);
		resp->result = "granted";
		resp->body = token;
		resp->body_len = token_len;
		resp->body_free = free;
		resp->body_free_arg = token;
		return;
	}
	/* RFC 3161 2.4.2: a refusal is a TimeStampResp with status and failInfo, not a bare HTTP error. */
	metrics_counter_inc(d->results[result_of(rej.failure)]);
	resp->result = rej.metric;
	n = tsa_reject_encode(&rej, rbuf, sizeof(rbuf));
	if (n < 0) {
		http_response_text(resp, 500, "cannot encode the response\n");
		resp->result = "error";
		return;
	}
	if (http_response_copy(resp, 200, "application/timestamp-reply", rbuf, (size_t)n) != 0)
		return;
	resp->result = rej.metric;
}

/* The signature (~0.6 ms with RSA-2048 in SoftHSM2) would hold every connection of this pool thread: the token is
 * built on a worker (tsa_issue_deferred). If the workers' queue is full the answer prepared here goes out
 * instead: a rejection with systemFailure, which RFC 3161 2.4.2 lets a client retry. */
static void tsa_handler(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct tsad *d = arg;
	const char *ct = http_request_header(req, "Content-Type");

	/* RFC 3161 3.4: requests are application/timestamp-query. A missing type is tolerated (some clients). */
	if (ct != NULL && strncasecmp(ct, "application/timestamp-query", 27) != 0) {
		http_response_text(resp, 415, "Content-Type must be application/timestamp-query\n");
		resp->result = "bad_type";
		return;
	}
	resp->status = 200;
	resp->content_type = "application/timestamp-reply";
	http_response_header(resp, "Cache-Control", "no-store");
	resp->body = d->busy_der;
	resp->body_len = d->busy_len;
	resp->result = "busy";
	resp->defer = tsa_issue_deferred;
	resp->defer_arg = d;
}

/* The overflow answer, encoded once. */
static int busy_encode(struct tsad *d)
{
	struct tsa_reject rej;
	int n;

	tsa_reject_set(&rej, TSA_FAIL_SYSTEM_FAILURE, "busy, try later", "busy");
	n = tsa_reject_encode(&rej, d->busy_der, sizeof(d->busy_der));
	if (n < 0)
		return n;
	d->busy_len = (size_t)n;
	return 0;
}

static int tsad_ready(void *arg, char *why, size_t whylen)
{
	struct tsad *d = arg;
	const char *clock_why = NULL;
	int rc = 0;

	pthread_rwlock_rdlock(&d->lock);
	if (!signer_ready(d->gen->sg)) {
		snprintf(why, whylen, "signer %s not ready", signer_name(d->gen->sg));
		rc = 1;
	} else if (tsa_clock_check(d->gen->clk, &clock_why) != 0) {
		snprintf(why, whylen, "clock: %s", clock_why);
		rc = 1;
	} else if (store_ping(d->st) != 0) {
		snprintf(why, whylen, "store not readable");
		rc = 1;
	} else if (atomic_load(&d->reserve_failed)) {
		snprintf(why, whylen, "cannot reserve serial numbers in the store");
		rc = 1;
	}
	pthread_rwlock_unlock(&d->lock);
	return rc;
}

/* Main thread, about once a second: brings a signer that went down back without waiting for traffic (a load
 * balancer routes none to a node whose /readyz fails), and logs clock state changes once. */
static void tsad_tick(void *arg)
{
	struct tsad *d = arg;
	const char *why = NULL;
	int bad;

	pthread_rwlock_rdlock(&d->lock);
	if (!signer_ready(d->gen->sg)) {
		/* A reconnection and a test signature: may hang in the HSM (named for the shutdown watchdog). */
		shutdown_phase_set("tick: signer probe");
		if (signer_probe(d->gen->sg) == 0)
			log_info("tsad: signer %s is back", signer_name(d->gen->sg));
	}
	bad = tsa_clock_check(d->gen->clk, &why) != 0;
	pthread_rwlock_unlock(&d->lock);
	if (atomic_load(&d->reserve_failed)) {
		shutdown_phase_set("tick: serial reservation");
		if (tsa_serial_reserve_ahead(d->serial) == 0)
			log_info("tsad: serial reservations work again");
	}
	if (bad && !d->clock_bad)
		log_warn("tsad: not issuing tokens: %s", why);
	else if (!bad && d->clock_bad)
		log_info("tsad: clock good again, issuing tokens");
	d->clock_bad = bad;
}

static int tsad_reload(void *arg)
{
	struct tsad *d = arg;
	struct tsad_gen *g, *old;

	/* Each step can hang in the HSM (the new signer's test signature, a request holding the lock while it signs,
	 * the old signer's C_Finalize): named for the shutdown watchdog's report. */
	shutdown_phase_set("reload: opening the signer");
	g = gen_load(d->path, 0);
	if (g == NULL)
		return VA_ERR_CONFIG;
	if (strcmp(g->conf.name, d->gen->conf.name) != 0 || strcmp(g->conf.store.path, d->gen->conf.store.path) != 0 ||
	    !http_conf_same(&g->conf.http, &d->gen->conf.http) ||
	    g->conf.serial_block != d->gen->conf.serial_block)
		log_warn("tsad: store, name, serial_block and http settings change only with a restart");
	shutdown_phase_set("reload: waiting for requests using the old configuration");
	pthread_rwlock_wrlock(&d->lock);
	old = d->gen;
	tsa_clock_take_over(g->clk, old->clk);
	d->gen = g;
	pthread_rwlock_unlock(&d->lock);
	shutdown_phase_set("reload: closing the old signer");
	gen_free(old);
	log_info("tsad: configuration reloaded");
	return 0;
}

static int metrics_setup(struct tsad *d)
{
	char labels[64];

	d->m = metrics_new("tsad_");
	if (d->m == NULL)
		return VA_ERR_NOMEM;
	for (int i = 0; i < R_N; i++) {
		snprintf(labels, sizeof(labels), "result=\"%s\"", result_names[i]);
		d->results[i] = metrics_counter_new(d->m, "responses_total", "TimeStampResp sent, by outcome", labels);
		if (d->results[i] == NULL)
			return VA_ERR_NOMEM;
	}
	d->reservations = metrics_counter_new(d->m, "serial_reservations_total",
					      "serial blocks reserved durably in the store", NULL);
	return d->reservations != NULL ? 0 : VA_ERR_NOMEM;
}

int tsad_run(const char *path, int check_only)
{
	struct tsad d;
	struct http_route route = { "/", HTTP_POST, tsa_handler, &d };
	http_server *srv = NULL;
	int rc, ex = 1;

	memset(&d, 0, sizeof(d));
	atomic_init(&d.reserve_failed, 0);
	atomic_init(&d.last_err_log, 0);
	d.path = path;
	pthread_rwlock_init(&d.lock, NULL);
	/* Before any thread (the HTTP server's, a PKCS#11 module's started by gen_load): they all block the
	 * signals. */
	if (!check_only && shutdown_start() != VA_OK)
		goto out;
	shutdown_phase_set("start: opening the signer");
	d.gen = gen_load(path, check_only);
	if (d.gen == NULL) {
		log_err("tsad: %s: not starting", path);
		goto out;
	}
	if (check_only) {
		printf("%s: tsad configuration OK\n", path);
		ex = 0;
		goto out;
	}
	/* http settings change only with a restart: the bound stays that of the start. */
	shutdown_set_drain_timeout(d.gen->conf.http.drain_timeout);
	shutdown_phase_set("start");
	snprintf(d.counter, sizeof(d.counter), "tsa-serial/%s", d.gen->conf.name);
	/* Read-write, never created here: a typo in the path must not start a fresh counter (and reuse serials). */
	d.st = store_open(d.gen->conf.store.path, STORE_RDWR, d.gen->conf.store.map_size, &rc);
	if (d.st == NULL) {
		log_err("tsad: store %s: %s (create it with vactl init)", d.gen->conf.store.path, va_strerror(rc));
		goto out;
	}
	if (metrics_setup(&d) != 0 || busy_encode(&d) != 0)
		goto out;
	d.serial = tsa_serial_new(reserve_cb, &d, d.gen->conf.serial_block);
	if (d.serial == NULL)
		goto out;
	srv = http_start(&d.gen->conf.http, &route, 1, tsad_ready, &d, d.m);
	if (srv == NULL)
		goto out;
	log_info("tsad: listening on %s:%u, serials from %s", d.gen->conf.http.listen, (unsigned)http_port(srv),
		 d.counter);
	rc = shutdown_loop(tsad_reload, tsad_tick, 1000, &d);
	ex = rc == 0 ? 0 : 1;
out:
	shutdown_phase_set("drain");
	/* Past http.drain_timeout a token is still being signed (a PKCS#11 call hung in the HSM) and uses d: end the
	 * process without freeing anything under it (exit() would also run OpenSSL's and the module's cleanups). */
	if (http_stop(srv) != VA_OK) {
		log_err("tsad: exiting with a request still running");
		_exit(1);
	}
	shutdown_phase_set("freeing");
	tsa_serial_free(d.serial);
	gen_free(d.gen);
	metrics_free(d.m);
	store_close(d.st);
	pthread_rwlock_destroy(&d.lock);
	shutdown_phase_set("exiting (library cleanups)");
	return ex;
}
