#include "serve.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "request.h"
#include "responder.h"
#include "response.h"
#include "shutdown.h"

struct ocspd {
	const char *path;
	store *st;
	metrics *m;
	struct ocsp_counters cnt;
	pthread_rwlock_t lock;      /* guards r: readers are requests, the writer is a reload */
	ocsp_responder *r;
	struct ocspd_conf *conf;    /* the configuration r was built from */
};

/* RFC 9110 13.1.2: If-None-Match is a list of entity tags, or "*". */
static int etag_matches(const char *inm, const char *etag)
{
	size_t el = strlen(etag);
	const char *p = inm;

	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, el) == 0 && (p[el] == 0 || p[el] == ',' || p[el] == ' '))
			return 1;
		while (*p && *p != ',')
			p++;
	}
	return 0;
}

/* The request's DER: the decoded GET path into getbuf, or the POST body. 0, or -1 after answering 415. */
static int request_der(const struct http_request *req, struct http_response *resp, uint8_t *getbuf, size_t getcap,
		       const uint8_t **der, size_t *len)
{
	*len = 0;
	if (req->method == HTTP_GET) {
		if (ocsp_get_request(req->path, strlen(req->path), getbuf, getcap, len) != 0)
			*len = 0;
		*der = getbuf;
		return 0;
	}
	const char *ct = http_request_header(req, "Content-Type");

	/* RFC 6960 A.1: POST bodies are application/ocsp-request; a missing type is tolerated (old clients). */
	if (ct != NULL && (strncasecmp(ct, "application/ocsp-request", 24) != 0 ||
			   (ct[24] != '\0' && ct[24] != ';' && ct[24] != ' ' && ct[24] != '\t'))) {
		http_response_text(resp, 415, "Content-Type must be application/ocsp-request\n");
		resp->result = "bad-type";
		return -1;
	}
	*der = req->body;
	*len = req->body_len;
	return 0;
}

/* try_later_total counts every tryLater that goes out, once, whatever produced it: the responder's (signer down,
 * too many signatures in flight) and the overflow answer of a full deferred queue (ocsp_handler). Counting when
 * the HTTP layer has queued the answer is what makes it exact: an overflow answer is prepared for every deferred
 * request and sent only when the queue is full. */
static void try_later_sent(void *arg)
{
	struct ocspd *d = arg;

	if (d->cnt.try_later != NULL)
		metrics_counter_inc(d->cnt.try_later);
}

/* Turns an answer into the HTTP response: the cached DER by reference, RFC 5019 caching headers on GET. */
static void answer_send(struct ocspd *d, const struct http_request *req, struct http_response *resp,
			struct ocsp_answer *a)
{
	resp->status = 200;
	resp->content_type = "application/ocsp-response";
	resp->result = a->result;
	if (a->entry == NULL) {
		/* Error responses are OCSP responses (RFC 6960 2.3), never cached. */
		resp->body = a->err_der;
		resp->body_len = a->err_len;
		http_response_header(resp, "Cache-Control", "no-store");
		if (a->resp_status == OCSP_TRY_LATER) {
			resp->on_sent = try_later_sent;
			resp->on_sent_arg = d;
		}
		return;
	}
	if (req->method == HTTP_GET && a->cacheable) {
		struct ocsp_cache_entry *e = a->entry;
		int64_t now = clock_now_sec(), age = e->refresh_at - now;
		const char *inm = http_request_header(req, "If-None-Match");

		/* RFC 5019 6.2: max-age no later than nextUpdate (we stop at the refresh point, earlier still). */
		if (age < 0)
			age = 0;
		http_response_header(resp, "Cache-Control", "max-age=%lld, public, no-transform, must-revalidate",
				     (long long)age);
		http_response_header(resp, "Last-Modified", "%s", e->last_modified);
		http_response_header(resp, "Expires", "%s", e->expires);
		http_response_header(resp, "ETag", "%s", e->etag);
		if (inm != NULL && etag_matches(inm, e->etag)) {
			resp->status = 304;
			resp->content_type = NULL;
			resp->result = "not-modified";
			ocsp_cache_entry_put(e);
			return;
		}
	}
	/* The cached DER goes out by reference: released when libmicrohttpd is done with it. */
	resp->body = a->entry->der;
	resp->body_len = a->entry->der_len;
	resp->body_free = ocsp_cache_entry_release;
	resp->body_free_arg = a->entry;
}

/* The deferred half, on an http worker thread: everything that needs a signature (cache misses, answers past
 * their refresh point, nonces, several CertIDs). The request is decoded again: cheaper than carrying it over. */
static void ocsp_deferred(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct ocspd *d = arg;
	uint8_t getbuf[LIM_HTTP_URL_MAX];
	const uint8_t *der = NULL;
	size_t len = 0;
	struct ocsp_answer a;

	if (request_der(req, resp, getbuf, sizeof(getbuf), &der, &len) != 0)
		return;
	pthread_rwlock_rdlock(&d->lock);
	if (len == 0 || der == NULL) {
		memset(&a, 0, sizeof(a));
		a.resp_status = OCSP_MALFORMED_REQUEST;
		a.err_der = ocsp_response_error(OCSP_MALFORMED_REQUEST, &a.err_len);
		a.result = "malformed";
	} else {
		ocsp_responder_answer(d->r, der, len, &a);
	}
	pthread_rwlock_unlock(&d->lock);
	answer_send(d, req, resp, &a);
}

/* On the pool thread: cached answers and errors at once (zero-copy); a request that needs a signature is left to
 * a worker (ocsp_deferred), so that it does not hold the cached answers of this thread's other connections. If
 * the workers' queue is full, the answer prepared here goes out instead: tryLater (RFC 6960 2.3). */
static void ocsp_handler(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct ocspd *d = arg;
	uint8_t getbuf[LIM_HTTP_URL_MAX];
	const uint8_t *der = NULL;
	size_t len = 0;
	struct ocsp_answer a;
	int done;

	if (request_der(req, resp, getbuf, sizeof(getbuf), &der, &len) != 0)
		return;
	pthread_rwlock_rdlock(&d->lock);
	if (len == 0 || der == NULL) {
		memset(&a, 0, sizeof(a));
		a.resp_status = OCSP_MALFORMED_REQUEST;
		a.err_der = ocsp_response_error(OCSP_MALFORMED_REQUEST, &a.err_len);
		a.result = "malformed";
		done = 1;
	} else {
		done = ocsp_responder_answer_cached(d->r, der, len, &a);
	}
	pthread_rwlock_unlock(&d->lock);
	if (done) {
		answer_send(d, req, resp, &a);
		return;
	}
	resp->status = 200;
	resp->content_type = "application/ocsp-response";
	resp->body = ocsp_response_error(OCSP_TRY_LATER, &resp->body_len);
	resp->result = "busy";
	http_response_header(resp, "Cache-Control", "no-store");
	resp->on_sent = try_later_sent; /* counted only if this overflow answer is the one sent */
	resp->on_sent_arg = d;
	resp->defer = ocsp_deferred;
	resp->defer_arg = d;
}

static int ocspd_ready(void *arg, char *why, size_t whylen)
{
	struct ocspd *d = arg;
	int rc;

	pthread_rwlock_rdlock(&d->lock);
	rc = ocsp_responder_ready(d->r, why, whylen);
	pthread_rwlock_unlock(&d->lock);
	return rc;
}

static void ocspd_tick(void *arg)
{
	struct ocspd *d = arg;

	shutdown_phase_set("tick: change log");
	pthread_rwlock_rdlock(&d->lock);
	ocsp_responder_tick(d->r);
	pthread_rwlock_unlock(&d->lock);
}

static struct ocspd_conf *conf_load(const char *path)
{
	struct ocspd_conf *conf = calloc(1, sizeof(*conf));
	va_config *cfg;
	int rc;

	if (conf == NULL)
		return NULL;
	cfg = config_load(path, &rc);
	if (cfg == NULL || ocspd_conf_read(cfg, conf) != 0) {
		config_free(cfg);
		free(conf);
		return NULL;
	}
	config_free(cfg);
	return conf;
}

static int ocspd_reload(void *arg)
{
	struct ocspd *d = arg;
	struct ocspd_conf *conf = conf_load(d->path), *oldconf;
	ocsp_responder *nr, *old;
	int rc;

	if (conf == NULL)
		return VA_ERR_CONFIG;
	if (strcmp(conf->store.path, d->conf->store.path) != 0 || !http_conf_same(&conf->http, &d->conf->http))
		log_warn("ocspd: store and http settings change only with a restart");
	/* Each step can hang in the HSM (a test signature, a request holding the lock while it signs, the old
	 * pre-production thread inside C_Sign): named for the shutdown watchdog's report. */
	shutdown_phase_set("reload: opening signers");
	nr = ocsp_responder_new(conf, d->st, &d->cnt, &rc);
	if (nr == NULL) {
		free(conf);
		return rc;
	}
	shutdown_phase_set("reload: waiting for requests using the old configuration");
	pthread_rwlock_wrlock(&d->lock);
	old = d->r;
	oldconf = d->conf;
	d->r = nr;
	d->conf = conf;
	pthread_rwlock_unlock(&d->lock);
	shutdown_phase_set("reload: stopping the old pre-production thread");
	ocsp_responder_free(old);
	free(oldconf);
	log_info("ocspd: configuration reloaded");
	return 0;
}

/* What is left, in milliseconds, of http.drain_timeout since the shutdown began at t0. */
static unsigned drain_left_ms(const struct ocspd *d, int64_t t0)
{
	int64_t spent = clock_mono_ms() - t0, limit = (int64_t)d->conf->http.drain_timeout * 1000;

	return spent >= limit ? 0 : (unsigned)(limit - spent);
}

int ocspd_run(const char *path, int check_only)
{
	struct ocspd d;
	struct http_route route = { "/", HTTP_GET | HTTP_POST, ocsp_handler, &d };
	http_server *srv = NULL;
	int64_t t0;
	int rc, ex = 1;

	memset(&d, 0, sizeof(d));
	d.path = path;
	pthread_rwlock_init(&d.lock, NULL);
	d.conf = conf_load(path);
	if (d.conf == NULL) {
		log_err("ocspd: %s: configuration has errors", path);
		goto out;
	}
	if (check_only) {
		printf("%s: ocspd configuration OK (%zu CA%s)\n", path, d.conf->ncas, d.conf->ncas == 1 ? "" : "s");
		ex = 0;
		goto out;
	}
	/* Before any thread (pre-production, the HTTP server, a PKCS#11 module's): they all block the signals. */
	if (shutdown_start() != VA_OK)
		goto out;
	/* http settings change only with a restart: the bound stays that of the start. */
	shutdown_set_drain_timeout(d.conf->http.drain_timeout);
	d.st = store_open(d.conf->store.path, STORE_RDONLY, d.conf->store.map_size, &rc);
	if (d.st == NULL) {
		log_err("ocspd: store %s: %s", d.conf->store.path, va_strerror(rc));
		goto out;
	}
	d.m = metrics_new("ocspd_");
	ocsp_counters_init(&d.cnt, d.m);
	shutdown_phase_set("start: opening signers");
	d.r = ocsp_responder_new(d.conf, d.st, &d.cnt, &rc);
	if (d.r == NULL) {
		log_err("ocspd: cannot start: %s", va_strerror(rc));
		goto out;
	}
	srv = http_start(&d.conf->http, &route, 1, ocspd_ready, &d, d.m);
	if (srv == NULL)
		goto out;
	log_info("ocspd: listening on %s:%u", d.conf->http.listen, (unsigned)http_port(srv));
	/* ~200 ms: a revoked certificate is never served "good" more than a second after the change. */
	rc = shutdown_loop(ocspd_reload, ocspd_tick, 200, &d);
	ex = rc == 0 ? 0 : 1;
out:
	t0 = clock_mono_ms();
	shutdown_phase_set("drain");
	/* Pre-production is only an optimisation: it stops now, so that it has the whole drain to end its signature. */
	ocsp_responder_stop_request(d.r);
	/* Past http.drain_timeout a request still runs (a signature hung in the HSM) and uses d: end the process
	 * without freeing anything under it (exit() would also run OpenSSL's and the PKCS#11 module's cleanups). */
	if (http_stop(srv) != VA_OK) {
		log_err("ocspd: exiting with a request still running");
		_exit(1);
	}
	/* Pre-production signs too, and may be the one stuck: it gets what is left of the drain; the same ending. */
	shutdown_phase_set("stopping pre-production");
	if (d.r != NULL && ocsp_responder_stop(d.r, drain_left_ms(&d, t0)) != VA_OK) {
		log_err("ocspd: exiting with pre-production still running");
		_exit(1);
	}
	shutdown_phase_set("freeing");
	ocsp_responder_free(d.r);
	metrics_free(d.m);
	store_close(d.st);
	free(d.conf);
	pthread_rwlock_destroy(&d.lock);
	shutdown_phase_set("exiting (library cleanups)");
	return ex;
}
