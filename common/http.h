/*
 * http.h: the libmicrohttpd wrapper every service uses.
 *
 * Internal thread pool (poll(2): see http_start); every limit set explicitly from struct http_conf (libmicrohttpd's defaults
 * are unlimited). A request body over body_max is answered 413 as soon as Content-Length says so, before the
 * body is read (and before "100 Continue"); the connection is then closed. A chunked body that grows past
 * body_max is discarded and answered 413 when it ends (libmicrohttpd 0.9.75 cannot answer in the middle of a
 * body); one still arriving after another max(body_max, 64 KiB) gets its connection closed. A request target
 * over LIM_HTTP_URL_MAX gets 414. The wrapper answers /healthz, /readyz (through the service's ready callback)
 * and /metrics itself; other paths go to the service's routes. Handlers see the raw (not percent-decoded) path;
 * an absolute-form target ("http://host/p") is reduced to its path.
 *
 * Threads: handlers and the ready callback run on pool threads, several at once: they must be thread-safe and
 * should not block for long (a blocked handler holds every connection of its thread). Slow work (a signature)
 * is deferred instead (see http_response.defer): it then runs on one of conf.workers worker threads, in arrival
 * order, while the pool threads go on serving. No allocation is made per request by the wrapper beyond
 * libmicrohttpd's response object and a copied body (a connection's first deferred request allocates its
 * deferred-response slot, kept until the connection closes).
 */
#ifndef VA_HTTP_H
#define VA_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "va_limits.h"
#include "metrics.h"

struct http_conf {
	char listen[64];          /* address to bind; "127.0.0.1" by default */
	uint16_t port;            /* 0: pick a free port (tests); see http_port() */
	unsigned threads;         /* pool threads (LIM_HTTP_THREADS_DEFAULT) */
	unsigned conn_limit;      /* total connections; past it new ones are closed at once (not left waiting) */
	unsigned per_ip_limit;    /* connections per client address */
	unsigned timeout;         /* seconds of inactivity */
	size_t conn_memory;       /* per-connection memory pool */
	size_t body_max;          /* request body cap -> 413 */
	unsigned workers;         /* threads running deferred handlers (LIM_HTTP_WORKERS_DEFAULT); 0: run them inline */
	unsigned defer_queue;     /* deferred jobs waiting at most; past it the handler's overflow answer is sent */
	int loop_batch;           /* pool threads run SCHED_BATCH: an arriving request does not preempt a worker
				   * (see docs/ARCHITECTURE.md); for services that defer every request (tsad) */
	unsigned drain_timeout;   /* seconds http_stop waits at most for requests and deferred jobs to finish
				   * (LIM_HTTP_DRAIN_TIMEOUT_DEFAULT) */
};
/* Fills c with the va_limits.h defaults. */
void http_conf_defaults(struct http_conf *c);
/* 1 if a and b configure the same server (a reload that changes any field needs a restart to take effect). */
int http_conf_same(const struct http_conf *a, const struct http_conf *b);

enum http_method { HTTP_GET = 1, HTTP_HEAD = 2, HTTP_POST = 4, HTTP_OTHER = 8 };

struct http_request {
	enum http_method method;  /* HEAD arrives as HTTP_GET (method_str "HEAD"); the wrapper sends no body */
	const char *method_str;
	const char *path;         /* raw path as received, without the query string; not percent-decoded */
	const char *query;        /* raw query string without '?', or NULL */
	const uint8_t *body;      /* POST body (NULL if none) */
	size_t body_len;
	void *conn;               /* opaque: for http_request_header() */
};
/* Value of a request header (case-insensitive name), or NULL. Valid during the handler call. */
const char *http_request_header(const struct http_request *req, const char *name);

struct http_response;
/* A route's handler; also the type of a deferred completion (http_response.defer). */
typedef void (*http_handler_fn)(void *arg, const struct http_request *req, struct http_response *resp);

struct http_header {
	const char *name;
	char value[128];
};

struct http_response {
	unsigned status;          /* HTTP status; 200 by default */
	const char *content_type; /* static string, or NULL */
	const uint8_t *body;
	size_t body_len;
	/* Ownership of body: if body_free is set it is called with body_free_arg once the body has been sent (a
	 * reference-counted cache entry can be handed out without a copy); otherwise the body is copied by the
	 * wrapper before the handler returns. */
	void (*body_free)(void *arg);
	void *body_free_arg;
	/* Without body_free, body must stay valid until the handler has returned (the copy is made then): point it
	 * at memory the handler's object owns, not at the handler's stack; or use http_response_text() or
	 * http_response_copy(). A status outside 100..999 is answered 500 (and body_free still called). */
	struct http_header headers[LIM_HTTP_HEADERS_MAX];
	size_t nheaders;
	/* Short [A-Za-z0-9_.:-] label (at most 31 chars) for metrics ("ok", "malformed", "cached", ...); NULL:
	 * "ok" for status < 400, "client_error" for 4xx, "server_error" for 5xx. At most 16 distinct labels per
	 * route are counted apart (further ones, and invalid ones, count as "other"); read when the handler
	 * returns, not kept. */
	const char *result;
	char text[256];           /* storage for http_response_text() */
	/* Deferred completion, for answers that need slow work. A handler that sets defer (defer_arg is passed to
	 * it) leaves the answer to a worker thread: the wrapper suspends the connection (its pool thread serves
	 * the others meanwhile), queues the job (FIFO), and a worker calls defer(defer_arg, req, fresh) where
	 * fresh is a new response (status 200, no headers, no body, defer NULL); when defer returns, the
	 * connection resumes and fresh is sent. defer runs exactly once per queued request.
	 * What the handler itself left in resp is the overflow answer: sent at once, instead, when conf.defer_queue
	 * jobs are already waiting (it should say "try later" in the protocol's terms); otherwise it is discarded
	 * (a body handed over with body_free is released then). With conf.workers 0 defer runs at once on the pool
	 * thread. Once http_stop has told the workers to finish, defer runs on the pool thread too.
	 * Lifetime: req and what it points to (path, query, body, and headers through http_request_header) stay
	 * valid until defer returns: the connection is suspended and nothing else touches them. defer_arg is not
	 * released by the wrapper: it must stay valid until the server is stopped (per-request data belongs in the
	 * request). The body of fresh, if it has no body_free, must stay valid until it is sent on the pool thread
	 * after defer returned: static data, fresh->text (http_response_text) or http_response_copy(). */
	http_handler_fn defer;
	void *defer_arg;
	/* Optional: called with on_sent_arg on the pool thread once this response has been queued on the connection;
	 * never for a response that is not sent: an overflow answer discarded because the job was queued, a response
	 * replaced by 500 (bad status) or one libmicrohttpd refused. For counters of what clients were actually
	 * answered (ocspd's try_later_total, whatever produced the tryLater). on_sent_arg must outlive the server. */
	void (*on_sent)(void *arg);
	void *on_sent_arg;
};
/* Adds a response header; name must be a static string; value is formatted (truncated to 127 octets). Headers
 * past LIM_HTTP_HEADERS_MAX are dropped and logged (a bug in the handler). */
void http_response_header(struct http_response *resp, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Sets status and a small text body (copied into resp->text, truncated to 255 octets), Content-Type text/plain;
 * headers already added stay. A body handed over earlier with body_free is not released here (the handler
 * still owns that reference). */
void http_response_text(struct http_response *resp, unsigned status, const char *text);
/* Sets status, content_type (static string or NULL) and a heap copy of data as the body (freed by the wrapper).
 * Returns 0 or VA_ERR_NOMEM (resp then answers 503). */
VA_MUST_CHECK int http_response_copy(struct http_response *resp, unsigned status, const char *content_type,
				    const void *data, size_t len);

struct http_route {
	const char *prefix;       /* path prefix this route serves, e.g. "/" or "/crl/" (longest prefix wins) */
	unsigned methods;         /* HTTP_GET | HTTP_POST ...; other methods get 405 with an Allow header.
				   * HTTP_OTHER admits any method but GET/HEAD/POST (method_str tells which). */
	http_handler_fn fn;
	void *arg;
};

/* Readiness: 0 when ready, else fill why (a short reason) and return non-zero. Called on every /readyz, from
 * pool threads (keep it cheap: cache an expensive probe). NULL: always ready. During http_stop /readyz is 503. */
typedef int (*http_ready_fn)(void *arg, char *why, size_t whylen);

typedef struct http_server http_server;

/* Starts listening. routes are copied (the prefix strings and args must outlive the server). /healthz, /readyz
 * and /metrics are matched exactly before the service's routes, and only for GET and HEAD. A request matching no
 * route gets 404; a method outside route.methods gets 405 with Allow (HEAD is allowed wherever GET is).
 * The metrics are <prefix>http_requests_total{route,result}, <prefix>http_request_duration_seconds{route},
 * <prefix>http_requests_in_flight, <prefix>http_connections_open, <prefix>http_connections_refused_total,
 * <prefix>http_deferred_total, <prefix>http_deferred_overflow_total and <prefix>http_defer_queue_depth.
 * Starts conf.workers worker threads for deferred handlers.
 * Raises the process's open-files soft limit to conn_limit + 256 when it is lower (warns if the hard limit
 * forbids it), and ignores SIGPIPE unless the program set a disposition for it. m may be NULL (then /metrics answers 404); the wrapper registers its own
 * request counters and latency histogram in m. Returns NULL and logs on failure. */
http_server *http_start(const struct http_conf *conf, const struct http_route *routes, size_t nroutes,
			http_ready_fn ready, void *ready_arg, metrics *m);
/* Port actually bound (useful with port 0). */
uint16_t http_port(const http_server *srv);
/* Requests received and not yet completed (from the end of their headers to the end of their response). */
long http_inflight(const http_server *srv);
/* Stops accepting (the listening socket closes at once: new connections are refused), waits for in-flight
 * requests to finish, then stops starting handlers (a request arriving on a kept-alive connection gets 503) and
 * lets the workers finish every deferred job still queued (each connection is resumed and answered). All of this
 * within conf.drain_timeout seconds; then it closes every connection, frees srv and returns VA_OK. While it
 * waits, /readyz answers 503 and responses carry "Connection: close". Accepts NULL (VA_OK).
 * VA_ERR_BUSY: a handler or deferred job was still running at the deadline (a PKCS#11 call hung in the HSM). It
 * is logged (route, path, for how long), and nothing is stopped or freed: the job still uses its connection,
 * the server and whatever its handler's argument points to, so the caller must not free those either; a daemon
 * should end the process at once with _exit() (exit() would run library cleanups under the job). Calling
 * http_stop again waits another drain_timeout (tests release the job, then stop for good). */
VA_MUST_CHECK int http_stop(http_server *srv);

#endif
