/*
 * http.c: the libmicrohttpd (0.9.75) wrapper shared by the services.
 *
 * Request flow (libmicrohttpd calls the access handler several times per request):
 *   accept policy       connections past conn_limit closed at once
 *   uri_log callback    request line parsed: remember the raw query string, return the connection's state
 *   first call          headers parsed: route found, Content-Length over body_max answered 413 (before any body
 *                       byte is read; libmicrohttpd then closes the connection). Nothing else is answered here:
 *                       0.9.75 closes the connection after any response queued this early.
 *   upload calls        body appended to the connection's buffer, never past body_max
 *   final call          414 / 404 / 405 / built-ins / the service's handler
 *   deferred            the handler set resp.defer: connection suspended, job queued for a worker thread, which
 *                       runs it and resumes the connection; libmicrohttpd then calls us once more and the
 *                       prepared response is queued
 *   completed callback  latency observed, in-flight count dropped, oversized buffers released
 *
 * Per-request state lives in a per-connection structure allocated when the connection opens, so keep-alive
 * requests allocate nothing here; only copied response bodies are allocated (by libmicrohttpd). Metric counters
 * are found by route index and a small per-route table of result labels, never by formatting labels; the hot
 * path takes no lock (a mutex is taken only the first time a route shows a new result label).
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define HTTP_RESULTS_MAX 16    /* distinct result labels per route; later ones count as "other" */
#define HTTP_RESULT_LEN 32
#define HTTP_ROUTE_LABEL_MAX 96
#define HTTP_KEEP_BUF 4096     /* body buffers above this are released after their request */
#define HTTP_READY_WHY 256
#define HTTP_REPORT_PATH 64    /* octets of a deferred request's path kept for the report of a stuck drain */

/* Built-in routes come first in the route table; the service's routes follow, longest prefix first. */
enum { RT_HEALTHZ, RT_READYZ, RT_METRICS, RT_UNMATCHED, RT_NBUILTIN };

struct http_result_slot {
	_Atomic int ready; /* name and ctr valid once set (release/acquire) */
	char name[HTTP_RESULT_LEN];
	metrics_counter *ctr;
};

struct http_rt {
	struct http_route r;
	size_t prefix_len;
	char label[HTTP_ROUTE_LABEL_MAX]; /* escaped route label value */
	metrics_histogram *latency;
	_Atomic(metrics_counter *) other; /* results past HTTP_RESULTS_MAX or malformed; registered on first use */
	struct http_result_slot results[HTTP_RESULTS_MAX];
};

enum http_conn_state { HC_IDLE, HC_NEW, HC_BODY, HC_DEFERRED, HC_DEFER_DONE, HC_QUEUED };

struct http_conn {
	http_server *srv;
	enum http_conn_state state;
	int counted;          /* in-flight counted for this request */
	int too_large;        /* body went past body_max: being discarded */
	int uri_too_long;     /* request target over LIM_HTTP_URL_MAX */
	struct http_rt *rt;
	unsigned method;
	struct timespec t0;
	uint8_t *body;
	size_t body_len, body_cap;
	uint64_t discarded;
	char *query;          /* raw query of the current request (NULL: none) */
	size_t query_cap;
	int has_query;
	/* Deferred request: set on the pool thread before the connection is suspended and the job queued, used by
	 * the worker, read again on the pool thread after the resume (libmicrohttpd's resume takes a mutex the
	 * pool thread takes too, which orders these accesses). */
	struct MHD_Connection *con;
	struct http_request dreq;
	http_handler_fn dfn;
	void *darg;
	struct http_response *dresp; /* allocated on the connection's first deferral, freed when it closes */
};

/* One deferred-work thread. What it runs is noted under q_lock when it takes a job, as copies: a drain that
 * times out reports it, and by then the connection may be gone. */
struct http_worker {
	pthread_t t;
	http_server *srv;
	int busy;                 /* running a job (under q_lock) */
	int exited;               /* left its loop for good (under q_lock) */
	const struct http_rt *rt; /* the job's route, method, path (printable copy) and start (under q_lock) */
	unsigned method;
	char path[HTTP_REPORT_PATH];
	struct timespec since;
};

struct http_server {
	struct MHD_Daemon *d;
	struct http_conf conf;
	uint16_t port;
	http_ready_fn ready;
	void *ready_arg;
	metrics *m;
	struct http_rt *rts;
	size_t nrts;
	pthread_mutex_t reg_lock; /* result slot registration (rare) */
	_Atomic long inflight;
	_Atomic int stopping;
	/* Draining is over: pool threads no longer call service code (http_handler_enter). handlers counts the
	 * service calls in progress on pool threads, so that http_stop knows none can hold MHD_stop_daemon. */
	_Atomic int closing;
	_Atomic long handlers;
	MHD_socket lsock;          /* the quiesced listening socket (http_stop), closed after MHD_stop_daemon */
	metrics_gauge *inflight_g; /* set from inflight when /metrics renders: no second atomic per request */
	_Atomic long open;         /* connections open (libmicrohttpd's notify callback) */
	metrics_gauge *open_g;
	metrics_counter *refused;
	/* Deferred jobs: a ring of suspended connections served in arrival order by the workers. */
	pthread_mutex_t q_lock;
	pthread_cond_t q_cv;
	struct http_conn **q;
	size_t q_head, q_len;     /* under q_lock */
	int q_quit;               /* under q_lock: workers finish the queue and exit; new jobs run inline */
	struct http_worker *workers;
	unsigned nworkers;        /* started */
	int q_init;
	metrics_gauge *q_g;
	metrics_counter *deferred, *overflow;
};

void http_conf_defaults(struct http_conf *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->listen, "127.0.0.1", sizeof("127.0.0.1"));
	c->port = 8080;
	c->threads = LIM_HTTP_THREADS_DEFAULT;
	c->conn_limit = LIM_HTTP_CONN_DEFAULT;
	c->per_ip_limit = LIM_HTTP_PER_IP_DEFAULT;
	c->timeout = LIM_HTTP_TIMEOUT_DEFAULT;
	c->conn_memory = LIM_HTTP_CONN_MEM_DEFAULT;
	c->body_max = LIM_HTTP_BODY_DEFAULT;
	c->workers = LIM_HTTP_WORKERS_DEFAULT;
	c->defer_queue = LIM_HTTP_DEFER_QUEUE_DEFAULT;
	c->drain_timeout = LIM_HTTP_DRAIN_TIMEOUT_DEFAULT;
}

int http_conf_same(const struct http_conf *a, const struct http_conf *b)
{
	return strcmp(a->listen, b->listen) == 0 && a->port == b->port && a->threads == b->threads &&
	       a->conn_limit == b->conn_limit && a->per_ip_limit == b->per_ip_limit && a->timeout == b->timeout &&
	       a->conn_memory == b->conn_memory && a->body_max == b->body_max && a->workers == b->workers &&
	       a->defer_queue == b->defer_queue && a->loop_batch == b->loop_batch &&
	       a->drain_timeout == b->drain_timeout;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
	if (req == NULL || req->conn == NULL || name == NULL)
		return NULL;
	return MHD_lookup_connection_value((struct MHD_Connection *)req->conn, MHD_HEADER_KIND, name);
}

void http_response_header(struct http_response *resp, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (resp->nheaders >= LIM_HTTP_HEADERS_MAX) {
		log_err("http: response header %s dropped (more than %d)", name, LIM_HTTP_HEADERS_MAX);
		return;
	}
	resp->headers[resp->nheaders].name = name;
	va_start(ap, fmt);
	vsnprintf(resp->headers[resp->nheaders].value, sizeof(resp->headers[0].value), fmt, ap);
	va_end(ap);
	resp->nheaders++;
}

void http_response_text(struct http_response *resp, unsigned status, const char *text)
{
	size_t n = strlen(text);

	if (n >= sizeof(resp->text))
		n = sizeof(resp->text) - 1;
	memcpy(resp->text, text, n);
	resp->text[n] = '\0';
	resp->status = status;
	resp->content_type = "text/plain; charset=utf-8";
	resp->body = (const uint8_t *)resp->text;
	resp->body_len = n;
	resp->body_free = NULL;
	resp->body_free_arg = NULL;
}

int http_response_copy(struct http_response *resp, unsigned status, const char *content_type, const void *data,
		       size_t len)
{
	void *p = malloc(len > 0 ? len : 1);

	if (p == NULL) {
		http_response_text(resp, 503, "out of memory\n");
		resp->result = "server_error";
		return VA_ERR_NOMEM;
	}
	if (len > 0)
		memcpy(p, data, len);
	resp->status = status;
	resp->content_type = content_type;
	resp->body = p;
	resp->body_len = len;
	resp->body_free = free;
	resp->body_free_arg = p;
	return VA_OK;
}

/* ---- metrics ---- */

static void http_label_escape(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *in != '\0' && o + 3 < outlen; in++) {
		/* '}' would end the label set early in our metrics module: replace it, like control characters. */
		if (*in == '"' || *in == '\\') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if ((unsigned char)*in < 0x20 || *in == '}' || *in == 0x7f) {
			out[o++] = '_';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

static metrics_counter *http_requests_counter(http_server *srv, const struct http_rt *rt, const char *result)
{
	char labels[HTTP_ROUTE_LABEL_MAX + HTTP_RESULT_LEN + 32];

	snprintf(labels, sizeof(labels), "route=\"%s\",result=\"%s\"", rt->label, result);
	return metrics_counter_new(srv->m, "http_requests_total", "HTTP requests by route and result", labels);
}

/* A result label is a short word of [A-Za-z0-9_.:-]; anything else (quotes, backslashes, spaces) would need
 * escaping in the exposition format and counts as "other" instead. */
static int http_result_valid(const char *r)
{
	size_t n = 0;

	for (; r[n] != '\0'; n++) {
		char ch = r[n];
		if (n + 1 >= HTTP_RESULT_LEN)
			return 0;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
		      ch == '-' || ch == '.' || ch == ':'))
			return 0;
	}
	return n > 0;
}

/* Hot path: a scan of at most HTTP_RESULTS_MAX short strings; registration only the first time a label shows. */
static void http_count(http_server *srv, struct http_rt *rt, const char *result)
{
	size_t i;

	if (srv->m == NULL)
		return;
	if (!http_result_valid(result))
		goto other;
	for (i = 0; i < HTTP_RESULTS_MAX; i++) {
		if (!atomic_load_explicit(&rt->results[i].ready, memory_order_acquire))
			break;
		if (strcmp(rt->results[i].name, result) == 0) {
			metrics_counter_inc(rt->results[i].ctr);
			return;
		}
	}
	pthread_mutex_lock(&srv->reg_lock);
	for (i = 0; i < HTTP_RESULTS_MAX; i++) {
		struct http_result_slot *s = &rt->results[i];
		if (atomic_load_explicit(&s->ready, memory_order_acquire)) {
			if (strcmp(s->name, result) == 0)
				break;
			continue;
		}
		memcpy(s->name, result, strlen(result) + 1);
		s->ctr = http_requests_counter(srv, rt, result);
		atomic_store_explicit(&s->ready, 1, memory_order_release);
		break;
	}
	pthread_mutex_unlock(&srv->reg_lock);
	if (i < HTTP_RESULTS_MAX) {
		metrics_counter_inc(rt->results[i].ctr);
		return;
	}
other:
	if (atomic_load_explicit(&rt->other, memory_order_acquire) == NULL) {
		pthread_mutex_lock(&srv->reg_lock);
		if (atomic_load_explicit(&rt->other, memory_order_relaxed) == NULL)
			atomic_store_explicit(&rt->other, http_requests_counter(srv, rt, "other"), memory_order_release);
		pthread_mutex_unlock(&srv->reg_lock);
	}
	metrics_counter_inc(atomic_load_explicit(&rt->other, memory_order_acquire));
}

/* Seconds, not clock_mono_ms(): the latency histogram has buckets down to 100 us, finer than a millisecond. */
static double http_elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- responses ---- */

static const char *http_default_result(unsigned status)
{
	if (status < 400)
		return "ok";
	if (status < 500)
		return "client_error";
	return "server_error";
}

/* Queues resp on con, counts it, and releases resp's body if ownership was handed over. */
static enum MHD_Result http_send(struct http_conn *hc, struct MHD_Connection *con, struct http_response *resp)
{
	http_server *srv = hc->srv;
	struct MHD_Response *r;
	enum MHD_Result ret;
	unsigned status = resp->status;

	if (status < 100 || status > 999) {
		log_err("http: handler for %s returned status %u", hc->rt->r.prefix, status);
		if (resp->body_free != NULL)
			resp->body_free(resp->body_free_arg);
		http_response_text(resp, 500, "internal error\n");
		resp->result = "server_error";
		resp->on_sent = NULL; /* the handler's answer is not the one sent */
		status = 500;
	}
	if (resp->body_free != NULL) {
		r = MHD_create_response_from_buffer_with_free_callback_cls(resp->body_len, (void *)resp->body,
									  resp->body_free, resp->body_free_arg);
		if (r == NULL)
			resp->body_free(resp->body_free_arg);
	} else if (resp->body_len == 0) {
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	} else {
		r = MHD_create_response_from_buffer(resp->body_len, (void *)resp->body, MHD_RESPMEM_MUST_COPY);
	}
	if (r == NULL) {
		log_err("http: cannot create response");
		return MHD_NO; /* libmicrohttpd closes the connection */
	}
	if (resp->content_type != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
	for (size_t i = 0; i < resp->nheaders && i < LIM_HTTP_HEADERS_MAX; i++)
		MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
	/* While draining, ask keep-alive clients to go elsewhere for their next request. */
	if (atomic_load_explicit(&srv->stopping, memory_order_relaxed))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(con, status, r);
	MHD_destroy_response(r);
	hc->state = HC_QUEUED;
	http_count(srv, hc->rt, resp->result != NULL ? resp->result : http_default_result(status));
	if (ret == MHD_YES && resp->on_sent != NULL)
		resp->on_sent(resp->on_sent_arg);
	return ret;
}

static enum MHD_Result http_send_text(struct http_conn *hc, struct MHD_Connection *con, unsigned status,
				      const char *text, const char *result)
{
	struct http_response resp;

	memset(&resp, 0, sizeof(resp));
	http_response_text(&resp, status, text);
	resp.result = result;
	return http_send(hc, con, &resp);
}

static void http_allow_value(unsigned methods, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%s%s", (methods & HTTP_GET) ? "GET, HEAD" : "",
		 ((methods & HTTP_GET) && (methods & HTTP_POST)) ? ", " : "", (methods & HTTP_POST) ? "POST" : "");
}

static enum MHD_Result http_send_405(struct http_conn *hc, struct MHD_Connection *con, unsigned methods)
{
	struct http_response resp;

	memset(&resp, 0, sizeof(resp));
	http_response_text(&resp, 405, "method not allowed\n");
	/* RFC 9110 15.5.6: a 405 MUST carry Allow. */
	http_response_header(&resp, MHD_HTTP_HEADER_ALLOW, "%s", "");
	http_allow_value(methods, resp.headers[resp.nheaders - 1].value, sizeof(resp.headers[0].value));
	resp.result = "method_not_allowed";
	return http_send(hc, con, &resp);
}

static void http_free_cb(void *p)
{
	free(p);
}

/* Service code (a route's handler, the ready callback) runs on a pool thread only between these two calls, and
 * only while the server is not closing. Both sides are sequentially consistent: either http_stop sees the count
 * (and waits for it), or this thread sees closing (and calls nothing). A handler blocked in a PKCS#11 call would
 * otherwise hold MHD_stop_daemon, which joins the pool threads, for ever. */
static int http_handler_enter(http_server *srv)
{
	atomic_fetch_add(&srv->handlers, 1);
	if (atomic_load(&srv->closing)) {
		atomic_fetch_sub(&srv->handlers, 1);
		return 0;
	}
	return 1;
}

static void http_handler_leave(http_server *srv)
{
	atomic_fetch_sub(&srv->handlers, 1);
}

static enum MHD_Result http_builtin(struct http_conn *hc, struct MHD_Connection *con)
{
	http_server *srv = hc->srv;
	struct http_response resp;
	char why[HTTP_READY_WHY];
	char *text = NULL;
	size_t len = 0;

	memset(&resp, 0, sizeof(resp));
	switch (hc->rt - srv->rts) {
	case RT_HEALTHZ:
		return http_send_text(hc, con, 200, "ok\n", "ok");
	case RT_READYZ:
		if (atomic_load_explicit(&srv->stopping, memory_order_relaxed))
			return http_send_text(hc, con, 503, "shutting down\n", "not_ready");
		why[0] = '\0';
		if (srv->ready != NULL) {
			int not_ready;

			if (!http_handler_enter(srv))
				return http_send_text(hc, con, 503, "shutting down\n", "not_ready");
			not_ready = srv->ready(srv->ready_arg, why, sizeof(why));
			http_handler_leave(srv);
			if (not_ready) {
				char line[HTTP_READY_WHY + 2];
				why[sizeof(why) - 1] = '\0';
				snprintf(line, sizeof(line), "%s\n", why[0] != '\0' ? why : "not ready");
				return http_send_text(hc, con, 503, line, "not_ready");
			}
		}
		return http_send_text(hc, con, 200, "ready\n", "ok");
	default: /* RT_METRICS */
		if (srv->m == NULL)
			return http_send_text(hc, con, 404, "not found\n", "not_found");
		metrics_gauge_set(srv->inflight_g, atomic_load_explicit(&srv->inflight, memory_order_relaxed));
		metrics_gauge_set(srv->open_g, atomic_load_explicit(&srv->open, memory_order_relaxed));
		pthread_mutex_lock(&srv->q_lock);
		metrics_gauge_set(srv->q_g, (int64_t)srv->q_len);
		pthread_mutex_unlock(&srv->q_lock);
		if (metrics_render(srv->m, &text, &len) != VA_OK)
			return http_send_text(hc, con, 500, "cannot render metrics\n", "server_error");
		resp.status = 200;
		resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
		resp.body = (const uint8_t *)text;
		resp.body_len = len;
		resp.body_free = http_free_cb;
		resp.body_free_arg = text;
		return http_send(hc, con, &resp);
	}
}

/* RFC 9112 3.2.2: a server MUST accept the absolute form ("http://host/path") of the request target; routes and
 * handlers get its path. */
static const char *http_origin_path(const char *url)
{
	const char *p;

	if (url[0] == '/')
		return url;
	if (strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		p = url + 8;
	else
		return url; /* "*" or garbage: matches no route */
	p = strchr(p, '/');
	return p != NULL ? p : "/";
}

/* ---- deferred completion ---- */

/* Runs a deferred completion into resp, which it overwrites (the caller released any body resp held). */
static void http_defer_run(struct http_response *resp, http_handler_fn fn, void *arg, const struct http_request *req)
{
	memset(resp, 0, sizeof(*resp));
	resp->status = 200;
	fn(arg, req, resp);
	/* A deferred answer is final: deferring again would leave the connection waiting for nobody. */
	resp->defer = NULL;
}

static const char *http_method_name(unsigned m)
{
	switch (m) {
	case HTTP_GET: return "GET";
	case HTTP_HEAD: return "HEAD";
	case HTTP_POST: return "POST";
	default: return "other";
	}
}

/* Under q_lock: what w now runs, for http_stop's report. The path is client input: only printable ASCII is kept,
 * so that the report cannot forge log lines. */
static void http_worker_note(struct http_worker *w, const struct http_conn *hc)
{
	const char *p = hc->dreq.path != NULL ? hc->dreq.path : "";
	size_t i;

	w->busy = 1;
	w->rt = hc->rt;
	w->method = hc->method;
	for (i = 0; i + 1 < sizeof(w->path) && p[i] != '\0'; i++)
		w->path[i] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
	w->path[i] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &w->since);
}

static void *http_worker_main(void *arg)
{
	struct http_worker *w = arg;
	http_server *srv = w->srv;
	struct http_conn *hc;

	pthread_mutex_lock(&srv->q_lock);
	for (;;) {
		w->busy = 0;
		while (srv->q_len == 0 && !srv->q_quit)
			pthread_cond_wait(&srv->q_cv, &srv->q_lock);
		if (srv->q_len == 0)
			break;
		hc = srv->q[srv->q_head];
		srv->q_head = (srv->q_head + 1) % srv->conf.defer_queue;
		srv->q_len--;
		http_worker_note(w, hc);
		pthread_mutex_unlock(&srv->q_lock);
		http_defer_run(hc->dresp, hc->dfn, hc->darg, &hc->dreq);
		hc->state = HC_DEFER_DONE;
		MHD_resume_connection(hc->con);
		pthread_mutex_lock(&srv->q_lock);
	}
	w->exited = 1;
	pthread_mutex_unlock(&srv->q_lock);
	return NULL;
}

/* The handler asked for deferred completion: queue the job, or send the overflow answer when the queue is full.
 * Without workers (none configured, or stopping) the job runs here. */
static enum MHD_Result http_defer(struct http_conn *hc, struct MHD_Connection *con, const struct http_request *req,
				  struct http_response *resp)
{
	http_server *srv = hc->srv;
	http_handler_fn fn = resp->defer;
	void *arg = resp->defer_arg;
	enum { INLINE, QUEUED, FULL } how = INLINE;

	resp->defer = NULL;
	if (srv->nworkers > 0 && hc->dresp == NULL)
		hc->dresp = malloc(sizeof(*hc->dresp));
	if (srv->nworkers > 0 && hc->dresp != NULL) {
		pthread_mutex_lock(&srv->q_lock);
		if (srv->q_quit) {
			how = INLINE;
		} else if (srv->q_len >= srv->conf.defer_queue) {
			how = FULL;
		} else {
			hc->con = con;
			hc->dreq = *req;
			hc->dfn = fn;
			hc->darg = arg;
			hc->state = HC_DEFERRED;
			/* Suspended before a worker can see the job, so its resume never precedes the suspend. */
			MHD_suspend_connection(con);
			srv->q[(srv->q_head + srv->q_len) % srv->conf.defer_queue] = hc;
			srv->q_len++;
			pthread_cond_signal(&srv->q_cv);
			how = QUEUED;
		}
		pthread_mutex_unlock(&srv->q_lock);
	}
	if (how == FULL) {
		metrics_counter_inc(srv->overflow);
		return http_send(hc, con, resp);
	}
	/* The overflow answer is not needed. */
	if (resp->body_free != NULL)
		resp->body_free(resp->body_free_arg);
	switch (how) {
	case QUEUED:
		metrics_counter_inc(srv->deferred);
		return MHD_YES;
	default:
		http_defer_run(resp, fn, arg, req);
		return http_send(hc, con, resp);
	}
}

static enum MHD_Result http_dispatch(struct http_conn *hc, struct MHD_Connection *con, const char *url,
				     const char *method)
{
	struct http_request req;
	struct http_response resp;
	enum MHD_Result ret;

	/* The drain is over (http_stop): no service code starts any more. */
	if (!http_handler_enter(hc->srv))
		return http_send_text(hc, con, 503, "shutting down\n", "shutting_down");
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	/* HEAD is GET without a body (RFC 9110 9.3.2): handlers see GET, libmicrohttpd drops the body. */
	req.method = hc->method == HTTP_HEAD ? HTTP_GET : (enum http_method)hc->method;
	req.method_str = method;
	req.path = http_origin_path(url);
	req.query = hc->has_query ? hc->query : NULL;
	req.body = hc->body_len > 0 ? hc->body : NULL;
	req.body_len = hc->body_len;
	req.conn = con;
	resp.status = 200;
	hc->rt->r.fn(hc->rt->r.arg, &req, &resp);
	/* Still counted: a deferral may run inline (no workers, or workers told to finish). */
	if (resp.defer != NULL)
		ret = http_defer(hc, con, &req, &resp);
	else
		ret = http_send(hc, con, &resp);
	http_handler_leave(hc->srv);
	return ret;
}

/* ---- libmicrohttpd callbacks ---- */

static unsigned http_method_parse(const char *m)
{
	if (strcmp(m, "GET") == 0)
		return HTTP_GET;
	if (strcmp(m, "HEAD") == 0)
		return HTTP_HEAD;
	if (strcmp(m, "POST") == 0)
		return HTTP_POST;
	return HTTP_OTHER;
}

static struct http_rt *http_route_find(http_server *srv, const char *path)
{
	if (strcmp(path, "/healthz") == 0)
		return &srv->rts[RT_HEALTHZ];
	if (strcmp(path, "/readyz") == 0)
		return &srv->rts[RT_READYZ];
	if (strcmp(path, "/metrics") == 0)
		return &srv->rts[RT_METRICS];
	/* Service routes are sorted longest prefix first: the first match is the longest. */
	for (size_t i = RT_NBUILTIN; i < srv->nrts; i++)
		if (strncmp(path, srv->rts[i].r.prefix, srv->rts[i].prefix_len) == 0)
			return &srv->rts[i];
	return &srv->rts[RT_UNMATCHED];
}

static int http_method_allowed(unsigned allowed, unsigned m)
{
	if (m == HTTP_HEAD)
		return (allowed & (HTTP_GET | HTTP_HEAD)) != 0;
	return (allowed & m) != 0;
}

/* Content-Length as a number: -1 when absent, -2 when not a plain decimal (libmicrohttpd rejects that too). */
static long long http_content_length(struct MHD_Connection *con)
{
	const char *v = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long n = 0;

	if (v == NULL)
		return -1;
	if (*v == '\0')
		return -2;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9')
			return -2;
		if (n > (unsigned long long)LIM_HTTP_BODY_MAX * 1024)
			return (long long)LIM_HTTP_BODY_MAX * 1024; /* saturate: already far over any cap */
		n = n * 10 + (unsigned)(*v - '0');
	}
	return (long long)n;
}

/* First call (headers received). Only an oversized announced body is answered here: libmicrohttpd 0.9.75 closes
 * the connection after any response queued at this point, which is right for 413 (the body is never read) but
 * would cost keep-alive for everything else, so the rest is decided in http_final_call(). */
static enum MHD_Result http_first_call(struct http_conn *hc, struct MHD_Connection *con, const char *url,
				       const char *method)
{
	http_server *srv = hc->srv;
	long long cl;

	hc->body_len = 0;
	hc->too_large = 0;
	hc->discarded = 0;
	hc->method = http_method_parse(method);
	hc->rt = http_route_find(srv, http_origin_path(url));
	hc->state = HC_BODY;
	/* The body cap is enforced on the announced length before a byte of the body is read (and before
	 * "100 Continue" is sent). */
	cl = http_content_length(con);
	if (cl > (long long)srv->conf.body_max)
		return http_send_text(hc, con, 413, "request body too large\n", "too_large");
	/* Reserve at most HTTP_KEEP_BUF up front: a client that announces body_max and then sends nothing must not
	 * hold body_max of memory per connection for the timeout; http_body_data grows the buffer as bytes arrive. */
	if (cl > 0 && hc->rt >= &srv->rts[RT_NBUILTIN] && http_method_allowed(hc->rt->r.methods, hc->method)) {
		size_t want = (size_t)cl < HTTP_KEEP_BUF ? (size_t)cl : HTTP_KEEP_BUF;

		if (want > hc->body_cap) {
			uint8_t *nb = realloc(hc->body, want);

			if (nb == NULL)
				return http_send_text(hc, con, 503, "out of memory\n", "server_error");
			hc->body = nb;
			hc->body_cap = want;
		}
	}
	return MHD_YES;
}

/* Last call (whole request received). */
static enum MHD_Result http_final_call(struct http_conn *hc, struct MHD_Connection *con, const char *url,
				       const char *method)
{
	http_server *srv = hc->srv;

	if (hc->too_large)
		return http_send_text(hc, con, 413, "request body too large\n", "too_large");
	if (hc->uri_too_long)
		return http_send_text(hc, con, 414, "request target too long\n", "uri_too_long");
	if (hc->rt == &srv->rts[RT_UNMATCHED])
		return http_send_text(hc, con, 404, "not found\n", "not_found");
	if (!http_method_allowed(hc->rt->r.methods, hc->method))
		return http_send_405(hc, con, hc->rt->r.methods);
	if (hc->rt < &srv->rts[RT_NBUILTIN])
		return http_builtin(hc, con);
	return http_dispatch(hc, con, url, method);
}

/* A chunked body has no announced length; libmicrohttpd 0.9.75 cannot queue a response in the middle of the
 * body, so past body_max the rest is discarded and 413 is answered when the body ends. The discarding is bounded:
 * a client still sending after another body_max (at least 64 KiB) gets its connection closed instead. */
static enum MHD_Result http_body_data(struct http_conn *hc, const char *data, size_t *size)
{
	size_t n = *size, cap = hc->srv->conf.body_max, want;

	*size = 0;
	if (hc->too_large || n > cap - hc->body_len) {
		uint64_t bound = cap > 65536 ? cap : 65536;
		hc->too_large = 1;
		hc->body_len = 0;
		hc->discarded += n;
		if (hc->discarded > bound) {
			log_info("http: request body over %zu octets still arriving, closing the connection", cap);
			http_count(hc->srv, hc->rt, "too_large");
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (hc->body_len + n > hc->body_cap) {
		want = hc->body_cap ? hc->body_cap * 2 : 1024;
		while (want < hc->body_len + n)
			want *= 2;
		if (want > cap)
			want = cap;
		uint8_t *nb = realloc(hc->body, want);
		if (nb == NULL)
			return MHD_NO;
		hc->body = nb;
		hc->body_cap = want;
	}
	memcpy(hc->body + hc->body_len, data, n);
	hc->body_len += n;
	return MHD_YES;
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *con, const char *url, const char *method,
				   const char *version, const char *upload_data, size_t *upload_data_size,
				   void **con_cls)
{
	http_server *srv = cls;
	struct http_conn *hc = *con_cls;

	if (hc == NULL) {
		/* No per-connection state (allocation failed when the connection opened). */
		struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		enum MHD_Result ret;
		if (r == NULL)
			return MHD_NO;
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
		ret = MHD_queue_response(con, 503, r);
		MHD_destroy_response(r);
		return ret;
	}
	switch (hc->state) {
	case HC_NEW:
	case HC_IDLE:
		clock_gettime(CLOCK_MONOTONIC, &hc->t0);
		hc->counted = 1;
		atomic_fetch_add_explicit(&srv->inflight, 1, memory_order_relaxed);
		return http_first_call(hc, con, url, method);
	case HC_BODY:
		if (*upload_data_size != 0)
			return http_body_data(hc, upload_data, upload_data_size);
		return http_final_call(hc, con, url, method);
	case HC_DEFER_DONE:
		/* Resumed by the worker that ran the deferred handler. */
		return http_send(hc, con, hc->dresp);
	case HC_DEFERRED:
		/* Not called while suspended; nothing to do if it were. */
		return MHD_YES;
	default:
		/* Response already queued: swallow anything else libmicrohttpd passes. */
		*upload_data_size = 0;
		return MHD_YES;
	}
}

static void *http_uri_log(void *cls, const char *uri, struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct http_conn *hc = ci != NULL ? ci->socket_context : NULL;
	const char *q;
	size_t n;

	if (hc == NULL)
		return NULL;
	hc->state = HC_NEW;
	hc->has_query = 0;
	n = strlen(uri);
	hc->uri_too_long = n > LIM_HTTP_URL_MAX;
	if (hc->uri_too_long)
		return hc;
	/* libmicrohttpd splits and decodes the query in place after this call: keep the raw text now. */
	q = strchr(uri, '?');
	if (q != NULL) {
		q++;
		n = strlen(q);
		if (n + 1 > hc->query_cap) {
			char *nq = realloc(hc->query, n + 1);
			if (nq == NULL)
				return hc; /* the handler sees no query; better than failing the request */
			hc->query = nq;
			hc->query_cap = n + 1;
		}
		memcpy(hc->query, q, n + 1);
		hc->has_query = 1;
	}
	return hc;
}

static void http_completed(void *cls, struct MHD_Connection *con, void **con_cls,
			   enum MHD_RequestTerminationCode toe)
{
	http_server *srv = cls;
	struct http_conn *hc = *con_cls;

	if (hc == NULL)
		return;
	if (hc->state == HC_NEW)
		/* Rejected by libmicrohttpd before reaching us (malformed request line or headers, 431, ...). */
		http_count(srv, &srv->rts[RT_UNMATCHED], "rejected");
	if (hc->counted) {
		metrics_histogram_observe(hc->rt->latency, http_elapsed(&hc->t0));
		atomic_fetch_sub_explicit(&srv->inflight, 1, memory_order_release);
		hc->counted = 0;
	}
	hc->state = HC_IDLE;
	hc->has_query = 0;
	if (hc->body_cap > HTTP_KEEP_BUF) {
		free(hc->body);
		hc->body = NULL;
		hc->body_cap = 0;
	}
	hc->body_len = 0;
	*con_cls = NULL;
}

/* The connection cap. libmicrohttpd's own limit stops accepting when reached, leaving further clients waiting in
 * the kernel's backlog with no answer; a load balancer or client is better served by a closed connection it can
 * retry elsewhere at once. So libmicrohttpd's limit is set a little higher (conn_limit + threads) and this
 * callback closes connections past conn_limit. Two pool threads accepting at the same instant may both pass the
 * check: the overshoot is at most threads - 1, and libmicrohttpd's limit bounds it in any case. */
static enum MHD_Result http_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	http_server *srv = cls;

	if (atomic_load_explicit(&srv->open, memory_order_relaxed) >= (long)srv->conf.conn_limit) {
		metrics_counter_inc(srv->refused);
		return MHD_NO;
	}
	return MHD_YES;
}

static void http_conn_notify(void *cls, struct MHD_Connection *con, void **socket_context,
			     enum MHD_ConnectionNotificationCode toe)
{
	http_server *srv = cls;
	struct http_conn *hc;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		atomic_fetch_add_explicit(&srv->open, 1, memory_order_relaxed);
		hc = calloc(1, sizeof(*hc));
		if (hc != NULL)
			hc->srv = cls;
		*socket_context = hc;
		return;
	}
	atomic_fetch_sub_explicit(&srv->open, 1, memory_order_relaxed);
	hc = *socket_context;
	if (hc != NULL) {
		free(hc->body);
		free(hc->query);
		free(hc->dresp);
		free(hc);
	}
	*socket_context = NULL;
}

/* Handlers see the path exactly as sent: RFC 5019 GET paths are base64 whose '+' and '/' must not be altered,
 * and the handler decides which percent-escapes to undo. */
static size_t http_unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
	return strlen(s);
}

__attribute__((format(printf, 2, 0))) static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	/* Per-connection events (limits reached, clients gone) would flood the log at info. */
	log_debug("libmicrohttpd: %s", msg);
}

/* ---- start / stop ---- */

static int http_route_cmp(const void *a, const void *b)
{
	const struct http_rt *x = a, *y = b;

	if (x->prefix_len != y->prefix_len)
		return x->prefix_len > y->prefix_len ? -1 : 1;
	return strcmp(x->r.prefix, y->r.prefix);
}

static int http_routes_init(http_server *srv, const struct http_route *routes, size_t nroutes)
{
	static const struct http_route builtin[RT_NBUILTIN] = {
		{ "/healthz", HTTP_GET | HTTP_HEAD, NULL, NULL },
		{ "/readyz", HTTP_GET | HTTP_HEAD, NULL, NULL },
		{ "/metrics", HTTP_GET | HTTP_HEAD, NULL, NULL },
		{ "unmatched", 0, NULL, NULL },
	};

	srv->nrts = RT_NBUILTIN + nroutes;
	srv->rts = calloc(srv->nrts, sizeof(*srv->rts));
	if (srv->rts == NULL)
		return VA_ERR_NOMEM;
	for (size_t i = 0; i < srv->nrts; i++) {
		struct http_rt *rt = &srv->rts[i];
		rt->r = i < RT_NBUILTIN ? builtin[i] : routes[i - RT_NBUILTIN];
		if (i >= RT_NBUILTIN && (rt->r.prefix == NULL || rt->r.prefix[0] != '/' || rt->r.fn == NULL)) {
			log_err("http: route %zu needs a prefix starting with '/' and a handler", i - RT_NBUILTIN);
			return VA_ERR_INVAL;
		}
		rt->prefix_len = strlen(rt->r.prefix);
	}
	qsort(srv->rts + RT_NBUILTIN, nroutes, sizeof(*srv->rts), http_route_cmp);
	for (size_t i = 0; i < srv->nrts; i++) {
		struct http_rt *rt = &srv->rts[i];
		char labels[HTTP_ROUTE_LABEL_MAX + 16];
		http_label_escape(rt->r.prefix, rt->label, sizeof(rt->label));
		if (srv->m == NULL)
			continue;
		snprintf(labels, sizeof(labels), "route=\"%s\"", rt->label);
		rt->latency = metrics_histogram_new(srv->m, "http_request_duration_seconds",
						    "Time from request headers to response sent", labels);
	}
	return VA_OK;
}

/* Tells the workers to finish every queued job (each resumes its connection) and exit. Jobs deferred after this
 * run inline on the pool thread. */
static void http_workers_quit(http_server *srv)
{
	pthread_mutex_lock(&srv->q_lock);
	srv->q_quit = 1;
	pthread_cond_broadcast(&srv->q_cv);
	pthread_mutex_unlock(&srv->q_lock);
}

/* After http_workers_quit: the queue is empty and no worker runs a job, so no connection is suspended by us any
 * more and every worker is leaving its loop without touching one (a worker resumes its connection before it is
 * idle again). Not "every worker has exited": idle workers may not have woken from the broadcast yet, and a drain
 * whose first phase used up the time (a client trickling its body) must not read that as a stuck job. */
static int http_workers_settled(http_server *srv)
{
	unsigned busy = 0;

	pthread_mutex_lock(&srv->q_lock);
	for (unsigned i = 0; i < srv->nworkers; i++)
		busy += srv->workers[i].busy != 0 && !srv->workers[i].exited;
	busy += srv->q_len > 0;
	pthread_mutex_unlock(&srv->q_lock);
	return busy == 0;
}

/* Quits and joins the workers: only once they have exited or are sure to (idle, as on a failed start). */
static void http_workers_stop(http_server *srv)
{
	if (srv->nworkers == 0)
		return;
	http_workers_quit(srv);
	for (unsigned i = 0; i < srv->nworkers; i++)
		pthread_join(srv->workers[i].t, NULL);
	srv->nworkers = 0;
}

static int http_workers_start(http_server *srv)
{
	if (srv->conf.workers == 0)
		return VA_OK;
	srv->q = calloc(srv->conf.defer_queue, sizeof(*srv->q));
	srv->workers = calloc(srv->conf.workers, sizeof(*srv->workers));
	if (srv->q == NULL || srv->workers == NULL)
		return VA_ERR_NOMEM;
	for (unsigned i = 0; i < srv->conf.workers; i++) {
		int err;

		srv->workers[i].srv = srv;
		/* pthread_create returns the error; errno is not set. */
		err = pthread_create(&srv->workers[i].t, NULL, http_worker_main, &srv->workers[i]);
		if (err != 0) {
			log_err("http: cannot start deferred-work thread: %s", strerror(err));
			return err == EAGAIN ? VA_ERR_NOMEM : VA_ERR_IO;
		}
		srv->nworkers++;
	}
	return VA_OK;
}

static void http_server_free(http_server *srv)
{
	if (srv == NULL)
		return;
	http_workers_stop(srv);
	if (srv->q_init) {
		pthread_cond_destroy(&srv->q_cv);
		pthread_mutex_destroy(&srv->q_lock);
	}
	free(srv->q);
	free(srv->workers);
	free(srv->rts);
	pthread_mutex_destroy(&srv->reg_lock);
	free(srv);
}

static int http_conf_check(const struct http_conf *c)
{
	if (c->threads < 1 || c->threads > LIM_HTTP_THREADS_MAX || c->conn_limit < 1 || c->per_ip_limit < 1 ||
	    c->timeout < 1 || c->conn_memory < 4096 || c->body_max < 1 || c->body_max > LIM_HTTP_BODY_MAX ||
	    c->workers > LIM_HTTP_WORKERS_MAX || c->defer_queue < 1 || c->defer_queue > LIM_HTTP_DEFER_QUEUE_MAX ||
	    c->drain_timeout < 1 || c->drain_timeout > LIM_HTTP_DRAIN_TIMEOUT_MAX)
		return VA_ERR_CONFIG;
	if (c->conn_limit < c->threads)
		return VA_ERR_CONFIG; /* libmicrohttpd splits the limit among the pool threads */
	return VA_OK;
}

/* Each connection is a descriptor: with the usual soft limit of 1024 a conn_limit of 4096 would fail on accept()
 * (EMFILE) long before the cap. Raise the soft limit towards the hard one, or say why the cap cannot be reached. */
static void http_fd_limit(unsigned conn_limit)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)conn_limit + 256; /* listening socket, store, signer, logs, pool threads' wake-up pipes */

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
		log_warn("http: open files limited to %llu: fewer than conn_limit %u connections can be served",
			 (unsigned long long)rl.rlim_cur, conn_limit);
}

http_server *http_start(const struct http_conf *conf, const struct http_route *routes, size_t nroutes,
			http_ready_fn ready, void *ready_arg, metrics *m)
{
	http_server *srv = NULL;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	/* poll(2), not epoll: libmicrohttpd 0.9.75's epoll loop stalls when epoll_wait returns exactly its batch of
	 * 128 ready connections (it waits again before serving them): 256 keep-alive clients got a few hundred answers
	 * in 2 s instead of ~250,000, also with a bare libmicrohttpd server (pinned by
	 * tests/integration/http_many_keepalive.sh). Poll mode serves them all and measured faster here at 16-256
	 * connections; its cost grows with the idle connections each pool thread holds. */
	unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_USE_TURBO |
			 MHD_ALLOW_SUSPEND_RESUME;
	sigset_t block, old;
	const union MHD_DaemonInfo *di;
	struct sched_param sched_old, sched_batch = { 0 };
	int sched_policy = SCHED_OTHER, sched_err = 0;
	int ok = 0;

	if (conf == NULL || (nroutes > 0 && routes == NULL))
		return NULL;
	if (http_conf_check(conf) != VA_OK) {
		log_err("http: invalid limits (threads %u, conn_limit %u, per_ip_limit %u, timeout %u, conn_memory %zu,"
			" body_max %zu)", conf->threads, conf->conn_limit, conf->per_ip_limit, conf->timeout,
			conf->conn_memory, conf->body_max);
		return NULL;
	}
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, conf->listen, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(conf->port);
	} else if (inet_pton(AF_INET6, conf->listen, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(conf->port);
		flags |= MHD_USE_IPv6;
	} else {
		log_err("http: listen address '%s' is not a numeric IPv4 or IPv6 address", conf->listen);
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return NULL;
	if (pthread_mutex_init(&srv->reg_lock, NULL) != 0) {
		free(srv);
		return NULL;
	}
	if (pthread_mutex_init(&srv->q_lock, NULL) != 0) {
		pthread_mutex_destroy(&srv->reg_lock);
		free(srv);
		return NULL;
	}
	if (pthread_cond_init(&srv->q_cv, NULL) != 0) {
		pthread_mutex_destroy(&srv->q_lock);
		pthread_mutex_destroy(&srv->reg_lock);
		free(srv);
		return NULL;
	}
	srv->q_init = 1;
	srv->lsock = MHD_INVALID_SOCKET;
	srv->conf = *conf;
	srv->ready = ready;
	srv->ready_arg = ready_arg;
	srv->m = m;
	if (http_routes_init(srv, routes, nroutes) != VA_OK)
		goto out;
	if (m != NULL) {
		srv->inflight_g = metrics_gauge_new(m, "http_requests_in_flight", "HTTP requests being processed", NULL);
		srv->open_g = metrics_gauge_new(m, "http_connections_open", "HTTP connections open", NULL);
		srv->refused = metrics_counter_new(m, "http_connections_refused_total",
						   "Connections closed at once because conn_limit was reached", NULL);
		srv->q_g = metrics_gauge_new(m, "http_defer_queue_depth", "Deferred requests waiting for a worker",
					     NULL);
		srv->deferred = metrics_counter_new(m, "http_deferred_total",
						    "Requests whose answer was left to a worker thread", NULL);
		srv->overflow = metrics_counter_new(m, "http_deferred_overflow_total",
						    "Deferred requests answered at once because the queue was full", NULL);
	}

	http_fd_limit(conf->conn_limit);
	/* A peer or a log reader gone away must cost an EPIPE, not the process (libmicrohttpd sends with
	 * MSG_NOSIGNAL, but stderr may be a pipe). Left alone if the program chose a disposition itself. */
	struct sigaction pipe_sa;
	if (sigaction(SIGPIPE, NULL, &pipe_sa) == 0 && pipe_sa.sa_handler == SIG_DFL) {
		memset(&pipe_sa, 0, sizeof(pipe_sa));
		pipe_sa.sa_handler = SIG_IGN;
		sigemptyset(&pipe_sa.sa_mask);
		sigaction(SIGPIPE, &pipe_sa, NULL);
	}
	/* The pool threads and workers inherit this mask: SIGTERM/SIGHUP/SIGINT are never taken by them (in a daemon
	 * the signal thread of shutdown.c waits for them, and blocks them in every thread anyway). */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if (http_workers_start(srv) != VA_OK) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto out;
	}
	/* The pool threads inherit the scheduling policy too; the workers, started above, keep ours. */
	if (conf->loop_batch) {
		sched_err = pthread_getschedparam(pthread_self(), &sched_policy, &sched_old);
		if (sched_err == 0)
			sched_err = pthread_setschedparam(pthread_self(), SCHED_BATCH, &sched_batch);
	}
	srv->d = MHD_start_daemon(
		flags, conf->port, http_accept, srv, http_access, srv, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)conf->threads, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)(conf->conn_limit + conf->threads), MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)conf->per_ip_limit,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)conf->timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)conf->conn_memory, MHD_OPTION_NOTIFY_CONNECTION, http_conn_notify, srv,
		MHD_OPTION_NOTIFY_COMPLETED, http_completed, srv, MHD_OPTION_URI_LOG_CALLBACK, http_uri_log, srv,
		MHD_OPTION_UNESCAPE_CALLBACK, http_unescape_none, NULL, MHD_OPTION_END);
	if (conf->loop_batch && sched_err == 0)
		pthread_setschedparam(pthread_self(), sched_policy, &sched_old);
	else if (conf->loop_batch)
		log_warn("http: pool threads keep the default scheduling (SCHED_BATCH refused: %s)",
			 strerror(sched_err));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (srv->d == NULL) {
		log_err("http: cannot listen on %s port %u: %s", conf->listen, (unsigned)conf->port, strerror(errno));
		goto out;
	}
	di = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = di != NULL && di->port != 0 ? di->port : conf->port;
	log_info("http: listening on %s port %u (%u threads, %u workers, %u connections, %u per address, timeout %us, "
		 "body max %zu)", conf->listen, (unsigned)srv->port, conf->threads, conf->workers, conf->conn_limit,
		 conf->per_ip_limit, conf->timeout, conf->body_max);
	ok = 1;
out:
	if (!ok) {
		http_server_free(srv);
		srv = NULL;
	}
	return srv;
}

uint16_t http_port(const http_server *srv)
{
	return srv != NULL ? srv->port : 0;
}

long http_inflight(const http_server *srv)
{
	return srv != NULL ? atomic_load_explicit(&((http_server *)srv)->inflight, memory_order_acquire) : 0;
}

/* Nothing of ours runs any more: no service code on a pool thread, every worker gone (so the queue is empty and
 * every connection we suspended has been resumed). Only then may MHD_stop_daemon run: it joins the pool threads,
 * and panics on a suspended connection. */
static int http_quiet(http_server *srv)
{
	return atomic_load(&srv->handlers) == 0 && http_workers_settled(srv);
}

/* The drain timed out: say what still runs, so that the operator can look at the HSM. */
static void http_stuck_report(http_server *srv)
{
	unsigned running = 0;
	size_t queued;

	pthread_mutex_lock(&srv->q_lock);
	queued = srv->q_len;
	for (unsigned i = 0; i < srv->nworkers; i++) {
		const struct http_worker *w = &srv->workers[i];

		if (!w->busy)
			continue;
		running++;
		log_err("http: still running on worker %u after %.1f s: %s %s (route %s)", i, http_elapsed(&w->since),
			http_method_name(w->method), w->path, w->rt->label);
	}
	pthread_mutex_unlock(&srv->q_lock);
	log_err("http: drain_timeout (%u s) reached with %u deferred job(s) running, %zu queued and %ld handler "
		"call(s) on pool threads: giving up without freeing what they use", srv->conf.drain_timeout, running,
		queued, atomic_load(&srv->handlers));
}

int http_stop(http_server *srv)
{
	struct timespec t0, pause = { 0, 10 * 1000 * 1000 };
	double limit;
	long left;

	if (srv == NULL)
		return VA_OK;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	limit = (double)srv->conf.drain_timeout;
	if (!atomic_exchange(&srv->stopping, 1)) {
		srv->lsock = MHD_quiesce_daemon(srv->d);
		/* Quiesced, no thread accepts any more, but the kernel would still queue connections in the backlog
		 * until the socket closes (after the drain). shutdown() makes Linux refuse them now, so load balancers
		 * and clients go elsewhere at once; the descriptor stays open until libmicrohttpd has stopped. */
		if (srv->lsock != MHD_INVALID_SOCKET)
			shutdown(srv->lsock, SHUT_RDWR);
	}
	/* Requests already received finish, deferred ones included; bounded, since a client that stops reading its
	 * answer, or a signature hung in the HSM, would otherwise hold the shutdown for ever. */
	while (http_inflight(srv) > 0 && http_elapsed(&t0) < limit)
		nanosleep(&pause, NULL);
	/* From here no service code starts on a pool thread, and the workers finish what is queued and exit. */
	atomic_store(&srv->closing, 1);
	http_workers_quit(srv);
	while (!http_quiet(srv) && http_elapsed(&t0) < limit)
		nanosleep(&pause, NULL);
	if (!http_quiet(srv)) {
		/* A job still runs and owns its (suspended) connection: MHD_stop_daemon would panic or wait for it,
		 * and freeing would pull the server from under it. Leave everything as it is. */
		http_stuck_report(srv);
		return VA_ERR_BUSY;
	}
	left = http_inflight(srv);
	if (left > 0)
		log_warn("http: closing %ld connection(s) whose request or answer is still in transfer", left);
	http_workers_stop(srv);
	MHD_stop_daemon(srv->d);
	if (srv->lsock != MHD_INVALID_SOCKET)
		close(srv->lsock);
	http_server_free(srv);
	return VA_OK;
}
