/*
 * test_http.c: the HTTP wrapper, in process on an ephemeral port, driven through raw sockets so that every limit
 * can be observed on the wire (413 before the body, connection caps, slow clients, keep-alive, draining).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http.h"
#include "log.h"
#include "shutdown.h"

/* The six X that mkstemp/mkdtemp replace, spelled so that marker searches do not take them for a to-do. */
static const char MKTEMP_TAIL[] = { 'X', 'X', 'X', 'X', 'X', 'X', '\0' };

/* ---- the service under test ---- */

struct svc {
	atomic_int ready;            /* for /readyz */
	atomic_int zero_freed;       /* body_free calls of /zero */
	atomic_int slow_started;
	unsigned slow_ms;
	atomic_int defer_started;    /* deferred completions begun / finished */
	atomic_int defer_done;
	atomic_int overflow_freed;   /* body_free calls of the deferring handler's overflow answer */
	unsigned defer_ms;
	atomic_int loop_policy;      /* scheduling policy of the thread that ran h_defer / h_defer_run, plus one */
	atomic_int worker_policy;
	/* /block: its deferred half waits until the test opens the gate (a PKCS#11 call hung in the HSM) */
	pthread_mutex_t gate_mu;
	pthread_cond_t gate_cv;
	int gate_open;               /* under gate_mu */
	atomic_int block_started;
	atomic_int block_done;
	atomic_int zero_calls;       /* calls of h_zero */
	atomic_int overflow_sent;    /* on_sent calls: the overflow answer of /d, its deferred answer, /bad's */
	atomic_int deferred_sent;
	atomic_int bad_sent;
};

static void overflow_sent(void *arg)
{
	atomic_fetch_add(&((struct svc *)arg)->overflow_sent, 1);
}

static void deferred_sent(void *arg)
{
	atomic_fetch_add(&((struct svc *)arg)->deferred_sent, 1);
}

static void bad_sent(void *arg)
{
	atomic_fetch_add(&((struct svc *)arg)->bad_sent, 1);
}

static int thread_policy(void)
{
	struct sched_param sp;
	int policy = -1;

	return pthread_getschedparam(pthread_self(), &policy, &sp) == 0 ? policy : -1;
}

static const char zero_body[] = "zero-copy body\n";

/* Echo: method, raw path, raw query, body length and a checksum, one header. */
static void h_echo(void *arg, const struct http_request *req, struct http_response *resp)
{
	char buf[256];
	unsigned sum = 0;
	const char *xt = http_request_header(req, "x-test");

	for (size_t i = 0; i < req->body_len; i++)
		sum = sum * 31 + req->body[i];
	snprintf(buf, sizeof(buf), "method=%s/%d path=%s query=%s len=%zu sum=%u xtest=%s\n", req->method_str,
		 (int)req->method, req->path, req->query != NULL ? req->query : "(none)", req->body_len, sum,
		 xt != NULL ? xt : "(none)");
	http_response_text(resp, 200, buf);
	http_response_header(resp, "X-Echo", "yes-%d", 1);
	resp->result = "echoed";
}

static void zero_free(void *arg)
{
	struct svc *s = arg;

	atomic_fetch_add(&s->zero_freed, 1);
}

static void h_zero(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct svc *s = arg;

	atomic_fetch_add(&s->zero_calls, 1);
	resp->status = 200;
	resp->content_type = "application/octet-stream";
	resp->body = (const uint8_t *)zero_body;
	resp->body_len = sizeof(zero_body) - 1;
	resp->body_free = zero_free;
	resp->body_free_arg = arg;
	resp->result = "cached";
}

/* 304 without a body, a hyphenated result label, a label that cannot be a label */
static void h_notmod(void *arg, const struct http_request *req, struct http_response *resp)
{
	resp->status = 304;
	resp->result = req->query != NULL ? "bad \"label\"" : "not-modified";
	http_response_header(resp, "ETag", "\"%s\"", "abc");
}

static void h_badstatus(void *arg, const struct http_request *req, struct http_response *resp)
{
	h_zero(arg, req, resp);
	resp->status = 42;
	resp->on_sent = bad_sent; /* replaced by a 500: never called */
	resp->on_sent_arg = arg;
}

static void h_slow(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct svc *s = arg;
	struct timespec ts = { (time_t)(s->slow_ms / 1000), (long)(s->slow_ms % 1000) * 1000000L };
	char big[8192];

	atomic_fetch_add(&s->slow_started, 1);
	nanosleep(&ts, NULL);
	memset(big, 's', sizeof(big));
	/* no cmocka assertion here: this runs on a server thread */
	if (http_response_copy(resp, 200, "text/plain", big, sizeof(big)) != VA_OK)
		resp->status = 599;
}

static void overflow_free(void *arg)
{
	struct svc *s = arg;

	atomic_fetch_add(&s->overflow_freed, 1);
}

/* The deferred half of /d: slow, then an answer built from the request, which must still be intact. */
static void h_defer_run(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct svc *s = arg;
	struct timespec ts = { (time_t)(s->defer_ms / 1000), (long)(s->defer_ms % 1000) * 1000000L };
	const char *xt = http_request_header(req, "x-test");
	char buf[256];
	unsigned sum = 0;

	atomic_fetch_add(&s->defer_started, 1);
	atomic_store(&s->worker_policy, thread_policy() + 1);
	nanosleep(&ts, NULL);
	for (size_t i = 0; i < req->body_len; i++)
		sum = sum * 31 + req->body[i];
	snprintf(buf, sizeof(buf), "deferred path=%s query=%s len=%zu sum=%u xtest=%s\n", req->path,
		 req->query != NULL ? req->query : "(none)", req->body_len, sum, xt != NULL ? xt : "(none)");
	if (req->query != NULL && strcmp(req->query, "copy") == 0) {
		if (http_response_copy(resp, 201, "text/plain", buf, strlen(buf)) != VA_OK)
			resp->status = 599;
	} else {
		http_response_text(resp, 200, buf);
	}
	http_response_header(resp, "X-Deferred", "%d", 1);
	resp->result = "deferred";
	resp->on_sent = deferred_sent;
	resp->on_sent_arg = arg;
	atomic_fetch_add(&s->defer_done, 1);
}

/* /d: the overflow answer (a reference-counted body, to see it released either way) and the deferral. */
static void h_defer(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct svc *s = arg;

	atomic_store(&s->loop_policy, thread_policy() + 1);
	resp->status = 503;
	resp->content_type = "text/plain";
	resp->body = (const uint8_t *)"busy\n";
	resp->body_len = 5;
	resp->body_free = overflow_free;
	resp->body_free_arg = arg;
	resp->result = "busy";
	http_response_header(resp, "Retry-After", "%d", 1);
	resp->on_sent = overflow_sent; /* only if this answer goes out (queue full) */
	resp->on_sent_arg = arg;
	resp->defer = h_defer_run;
	resp->defer_arg = arg;
}

/* The deferred half of /block: held until the test opens the gate. */
static void h_block_run(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct svc *s = arg;

	atomic_fetch_add(&s->block_started, 1);
	pthread_mutex_lock(&s->gate_mu);
	while (!s->gate_open)
		pthread_cond_wait(&s->gate_cv, &s->gate_mu);
	pthread_mutex_unlock(&s->gate_mu);
	http_response_text(resp, 200, "unblocked\n");
	resp->result = "unblocked";
	atomic_fetch_add(&s->block_done, 1);
}

static void h_block(void *arg, const struct http_request *req, struct http_response *resp)
{
	http_response_text(resp, 503, "busy\n");
	resp->defer = h_block_run;
	resp->defer_arg = arg;
}

static void gate_open(struct svc *s)
{
	pthread_mutex_lock(&s->gate_mu);
	s->gate_open = 1;
	pthread_cond_broadcast(&s->gate_cv);
	pthread_mutex_unlock(&s->gate_mu);
}

static int ready_cb(void *arg, char *why, size_t whylen)
{
	struct svc *s = arg;

	if (atomic_load(&s->ready))
		return 0;
	snprintf(why, whylen, "signer ocsp1 down");
	return 1;
}

struct fx {
	struct svc svc;
	struct http_conf conf;
	metrics *m;
	http_server *srv;
	uint16_t port;
};

static void fx_start(struct fx *f, int with_metrics)
{
	const struct http_route routes[] = {
		{ "/", HTTP_GET | HTTP_POST, h_echo, &f->svc },
		{ "/post/", HTTP_POST, h_echo, &f->svc },
		{ "/zero", HTTP_GET, h_zero, &f->svc },
		{ "/bad", HTTP_GET, h_badstatus, &f->svc },
		{ "/slow", HTTP_GET, h_slow, &f->svc },
		{ "/nm", HTTP_GET, h_notmod, &f->svc },
		{ "/d", HTTP_GET | HTTP_POST, h_defer, &f->svc },
		{ "/block", HTTP_GET, h_block, &f->svc },
	};

	f->m = with_metrics ? metrics_new("t_") : NULL;
	f->srv = http_start(&f->conf, routes, sizeof(routes) / sizeof(routes[0]), ready_cb, &f->svc, f->m);
	assert_non_null(f->srv);
	f->port = http_port(f->srv);
	assert_true(f->port != 0);
}

static void fx_stop(struct fx *f)
{
	assert_int_equal(http_stop(f->srv), VA_OK);
	f->srv = NULL;
	metrics_free(f->m);
	f->m = NULL;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	log_init("test_http", 0, LOG_LVL_WARN);
	http_conf_defaults(&f->conf);
	f->conf.port = 0;
	f->conf.threads = 2;
	f->conf.timeout = 2;
	f->conf.body_max = 1024;
	atomic_store(&f->svc.ready, 1);
	f->svc.slow_ms = 400;
	f->svc.defer_ms = 200;
	pthread_mutex_init(&f->svc.gate_mu, NULL);
	pthread_cond_init(&f->svc.gate_cv, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	gate_open(&f->svc); /* a failed test must not leave a worker blocked for ever */
	if (f->srv != NULL)
		fx_stop(f);
	pthread_cond_destroy(&f->svc.gate_cv);
	pthread_mutex_destroy(&f->svc.gate_mu);
	free(f);
	return 0;
}

/* ---- raw client ---- */

static int conn_from(uint16_t port, const char *src)
{
	struct sockaddr_in a;
	struct timeval tv = { 3, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (src != NULL) {
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		inet_pton(AF_INET, src, &a.sin_addr);
		assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int conn(uint16_t port)
{
	int fd = conn_from(port, NULL);

	assert_true(fd >= 0);
	return fd;
}

static void send_str(int fd, const char *s)
{
	size_t n = strlen(s), off = 0;

	while (off < n) {
		ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);
		assert_true(w > 0);
		off += (size_t)w;
	}
}

struct resp {
	int status;
	char head[4096];
	char body[16384];
	size_t body_len;
};

/* Header value from a response head (case-insensitive name), copied into out; 0 if absent. */
static int resp_header(const struct resp *r, const char *name, char *out, size_t outlen)
{
	const char *p = r->head;
	size_t nl = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *e;
			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			size_t l = e != NULL ? (size_t)(e - v) : strlen(v);
			if (l >= outlen)
				l = outlen - 1;
			memcpy(out, v, l);
			out[l] = '\0';
			return 1;
		}
	}
	return 0;
}

/* Reads one response (head, then Content-Length octets unless head_only). Returns 0, or -1 if the connection
 * closed or timed out first. */
static int read_resp(int fd, struct resp *r, int head_only)
{
	char buf[32768];
	size_t len = 0;
	char *end = NULL;
	char cl[32];

	memset(r, 0, sizeof(*r));
	while (end == NULL) {
		ssize_t n = recv(fd, buf + len, 1, 0); /* byte by byte: never read into the next response */
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		assert_true(len < sizeof(r->head) - 1);
		end = strstr(buf, "\r\n\r\n");
	}
	memcpy(r->head, buf, len);
	r->head[len] = '\0';
	assert_int_equal(sscanf(r->head, "HTTP/1.%*d %d", &r->status), 1);
	if (head_only || !resp_header(r, "Content-Length", cl, sizeof(cl)))
		return 0;
	r->body_len = strtoul(cl, NULL, 10);
	assert_true(r->body_len < sizeof(r->body));
	for (size_t got = 0; got < r->body_len;) {
		ssize_t n = recv(fd, r->body + got, r->body_len - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	r->body[r->body_len] = '\0';
	return 0;
}

/* 1 if the peer closed (EOF or reset) within ms, 0 if the connection is still open and silent. */
static int closed_within(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char c;

	if (poll(&p, 1, ms) <= 0)
		return 0;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return 1;
	return 0;
}

/* A whole exchange on a fresh connection. */
static void request(uint16_t port, const char *req, struct resp *r)
{
	int fd = conn(port);

	send_str(fd, req);
	assert_int_equal(read_resp(fd, r, 0), 0);
	close(fd);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Scrapes /metrics until needle shows (the completion callback, which counts latency and in-flight, may run a
 * moment after the client has the response); fails after a second. */
static void scrape_expect(uint16_t port, const char *needle)
{
	struct resp r;

	for (int i = 0; i < 100; i++) {
		request(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
		assert_int_equal(r.status, 200);
		if (strstr(r.body, needle) != NULL)
			return;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	print_error("'%s' not in /metrics:\n%s\n", needle, r.body);
	fail();
}

/* ---- tests ---- */

static void test_builtin_routes(void **state)
{
	struct fx *f = *state;
	struct resp r;
	char v[128];

	fx_start(f, 1);
	request(f->port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok\n");

	request(f->port, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	atomic_store(&f->svc.ready, 0);
	request(f->port, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body, "signer ocsp1 down\n");
	atomic_store(&f->svc.ready, 1);

	/* built-ins answer GET and HEAD only */
	request(f->port, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &r);
	assert_int_equal(r.status, 405);
	assert_true(resp_header(&r, "Allow", v, sizeof(v)));
	assert_string_equal(v, "GET, HEAD");

	request(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_true(resp_header(&r, "Content-Type", v, sizeof(v)));
	assert_non_null(strstr(v, "text/plain; version=0.0.4"));
	assert_non_null(strstr(r.body, "t_http_requests_total{route=\"/healthz\",result=\"ok\"} 1\n"));
	assert_non_null(strstr(r.body, "t_http_requests_total{route=\"/readyz\",result=\"ok\"} 1\n"));
	assert_non_null(strstr(r.body, "t_http_requests_total{route=\"/readyz\",result=\"not_ready\"} 1\n"));
	assert_non_null(strstr(r.body, "t_http_requests_total{route=\"/healthz\",result=\"method_not_allowed\"} 1\n"));
	assert_non_null(strstr(r.body, "# TYPE t_http_request_duration_seconds histogram\n"));
	scrape_expect(f->port, "t_http_request_duration_seconds_count{route=\"/healthz\"} 2\n");
	/* the scrape itself is in flight while it renders */
	scrape_expect(f->port, "t_http_requests_in_flight 1\n");
	fx_stop(f);

	/* no registry: /metrics is not there */
	fx_start(f, 0);
	request(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 404);
	request(f->port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
}

static void h_only(void *arg, const struct http_request *req, struct http_response *resp)
{
	http_response_text(resp, 200, "only\n");
}

static void test_not_found_and_405(void **state)
{
	struct fx *f = *state;
	const struct http_route routes[] = { { "/ocsp/", HTTP_GET | HTTP_POST, h_only, NULL },
					     { "/ocsp/admin/", HTTP_POST, h_only, NULL } };
	struct resp r;
	char v[128];

	f->m = metrics_new("t_");
	f->srv = http_start(&f->conf, routes, 2, NULL, NULL, f->m);
	assert_non_null(f->srv);
	f->port = http_port(f->srv);

	request(f->port, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 404);
	request(f->port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 404);
	request(f->port, "GET /ocsp HTTP/1.1\r\nHost: x\r\n\r\n", &r); /* prefix is "/ocsp/" */
	assert_int_equal(r.status, 404);
	request(f->port, "GET /ocsp/x HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	/* no ready callback: always ready */
	request(f->port, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);

	/* longest prefix wins: /ocsp/admin/ is POST only */
	request(f->port, "GET /ocsp/admin/x HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 405);
	assert_true(resp_header(&r, "Allow", v, sizeof(v)));
	assert_string_equal(v, "POST");
	request(f->port, "DELETE /ocsp/x HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 405);
	assert_true(resp_header(&r, "Allow", v, sizeof(v)));
	assert_string_equal(v, "GET, HEAD, POST");
	request(f->port, "PUT /ocsp/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", &r);
	assert_int_equal(r.status, 405);

	request(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_non_null(strstr(r.body, "t_http_requests_total{route=\"unmatched\",result=\"not_found\"} 3\n"));
	assert_non_null(strstr(r.body, "t_http_requests_total{route=\"/ocsp/\",result=\"method_not_allowed\"} 2\n"));
	assert_non_null(strstr(r.body, "t_http_requests_total{route=\"/ocsp/admin/\",result=\"method_not_allowed\"} 1\n"));
	assert_non_null(strstr(r.body, "t_http_requests_total{route=\"/ocsp/\",result=\"ok\"} 1\n"));
}

static void test_raw_path_query_body(void **state)
{
	struct fx *f = *state;
	struct resp r;
	char v[64], req[2048], body[1000];
	unsigned sum = 0;

	fx_start(f, 1);
	/* RFC 5019 GET paths are base64: '+', '/', '=' and escapes reach the handler untouched */
	request(f->port, "GET /MEIwQDA%2BMDwwOjAJBgUrDgMCGgUABBT+ab/c== HTTP/1.1\r\nHost: x\r\nX-Test: hi\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "method=GET/1 path=/MEIwQDA%2BMDwwOjAJBgUrDgMCGgUABBT+ab/c== query=(none) len=0 "
				    "sum=0 xtest=hi\n");
	assert_true(resp_header(&r, "X-Echo", v, sizeof(v)));
	assert_string_equal(v, "yes-1");
	assert_true(resp_header(&r, "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "text/plain; charset=utf-8");

	request(f->port, "GET /q?a=%20b&c=d+e HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_non_null(strstr(r.body, "path=/q query=a=%20b&c=d+e "));
	request(f->port, "GET /q? HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_non_null(strstr(r.body, "path=/q query= "));
	/* absolute form (RFC 9112 3.2.2), as proxies send it */
	request(f->port, "GET http://example.test:8080/ocsp/MEI%2B?a=b HTTP/1.1\r\nHost: example.test\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "path=/ocsp/MEI%2B query=a=b "));
	request(f->port, "GET http://example.test HTTP/1.1\r\nHost: example.test\r\n\r\n", &r);
	assert_non_null(strstr(r.body, "path=/ query=(none) "));
	request(f->port, "GET HTTP://example.test/healthz HTTP/1.1\r\nHost: example.test\r\n\r\n", &r);
	assert_string_equal(r.body, "ok\n");

	/* POST body delivered exactly, up to body_max inclusive */
	for (size_t i = 0; i < sizeof(body); i++) {
		body[i] = (char)('A' + i % 26);
		sum = sum * 31 + (unsigned char)body[i];
	}
	snprintf(req, sizeof(req), "POST /post/x HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%.*s", sizeof(body),
		 (int)sizeof(body), body);
	request(f->port, req, &r);
	assert_int_equal(r.status, 200);
	snprintf(v, sizeof(v), "len=1000 sum=%u ", sum);
	assert_non_null(strstr(r.body, v));
	assert_non_null(strstr(r.body, "method=POST/4 "));

	/* a request target over LIM_HTTP_URL_MAX: 414, and the connection stays usable */
	char *longreq = malloc(LIM_HTTP_URL_MAX + 100);
	assert_non_null(longreq);
	memcpy(longreq, "GET /", 5);
	memset(longreq + 5, 'A', LIM_HTTP_URL_MAX);
	strcpy(longreq + 5 + LIM_HTTP_URL_MAX, " HTTP/1.1\r\nHost: x\r\n\r\n");
	request(f->port, longreq, &r);
	assert_int_equal(r.status, 414);
	/* exactly at the limit is fine */
	strcpy(longreq + 4 + LIM_HTTP_URL_MAX, " HTTP/1.1\r\nHost: x\r\n\r\n");
	request(f->port, longreq, &r);
	assert_int_equal(r.status, 200);
	free(longreq);

	/* a body exactly at the cap is accepted */
	char *big = malloc(1024 + 200);
	assert_non_null(big);
	int n = snprintf(big, 200, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n");
	memset(big + n, 'z', 1024);
	big[n + 1024] = '\0';
	request(f->port, big, &r);
	free(big);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "len=1024 "));
}

static void test_head(void **state)
{
	struct fx *f = *state;
	struct resp r, g;
	char cl_head[32], cl_get[32];
	int fd;

	fx_start(f, 1);
	request(f->port, "GET /zero HTTP/1.1\r\nHost: x\r\n\r\n", &g);
	assert_int_equal(g.status, 200);
	assert_string_equal(g.body, zero_body);
	fd = conn(f->port);
	send_str(fd, "HEAD /zero HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(fd, &r, 1), 0);
	assert_int_equal(r.status, 200);
	assert_true(resp_header(&r, "Content-Length", cl_head, sizeof(cl_head)));
	assert_true(resp_header(&g, "Content-Length", cl_get, sizeof(cl_get)));
	assert_string_equal(cl_head, cl_get);
	/* no body follows: the next bytes on the connection are the next response */
	send_str(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(fd, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok\n");
	/* handlers see HEAD as GET */
	send_str(fd, "HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(fd, &r, 1), 0);
	assert_int_equal(r.status, 200);
	close(fd);
	/* HEAD on a POST-only route is refused like GET */
	fd = conn(f->port);
	send_str(fd, "HEAD /post/x HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(fd, &r, 1), 0);
	assert_int_equal(r.status, 405);
	close(fd);
}

static void test_413_content_length(void **state)
{
	struct fx *f = *state;
	struct resp r;
	double t0;
	int fd;

	fx_start(f, 1);
	/* The body is never sent: the 413 must come on the headers alone. */
	fd = conn(f->port);
	t0 = now_s();
	send_str(fd, "POST /post/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n");
	assert_int_equal(read_resp(fd, &r, 0), 0);
	assert_int_equal(r.status, 413);
	assert_true(now_s() - t0 < 1.5); /* not after a read timeout */
	assert_true(closed_within(fd, 1500));
	close(fd);

	/* With Expect: 100-continue the client gets 413 instead of "100 Continue". */
	fd = conn(f->port);
	send_str(fd, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 99999999\r\n\r\n");
	assert_int_equal(read_resp(fd, &r, 0), 0);
	assert_int_equal(r.status, 413);
	close(fd);

	/* absurd lengths too, and on GET routes */
	request(f->port, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", &r);
	assert_true(r.status == 413 || r.status == 400);
	request(f->port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", &r);
	assert_int_equal(r.status, 400);

	request(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_non_null(strstr(r.body, "t_http_requests_total{route=\"/post/\",result=\"too_large\"} 1\n"));
	assert_non_null(strstr(r.body, "t_http_requests_total{route=\"/\",result=\"too_large\"} 1\n"));
}

static void send_chunks(int fd, size_t nchunks, size_t chunk)
{
	char *c = malloc(chunk + 32);
	int n;

	assert_non_null(c);
	for (size_t i = 0; i < nchunks; i++) {
		n = snprintf(c, 32, "%zx\r\n", chunk);
		memset(c + n, 'c', chunk);
		memcpy(c + n + chunk, "\r\n", 3);
		if (send(fd, c, (size_t)n + chunk + 2, MSG_NOSIGNAL) <= 0)
			break; /* the server may close on us: that is what some tests expect */
	}
	free(c);
}

static void test_413_chunked(void **state)
{
	struct fx *f = *state;
	struct resp r;
	int fd;

	fx_start(f, 1);
	/* under the cap: delivered whole */
	fd = conn(f->port);
	send_str(fd, "POST /post/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	send_chunks(fd, 2, 500);
	send_str(fd, "0\r\n\r\n");
	assert_int_equal(read_resp(fd, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "len=1000 "));
	close(fd);

	/* grows past the cap: 413 */
	fd = conn(f->port);
	send_str(fd, "POST /post/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	send_chunks(fd, 3, 500);
	send_str(fd, "0\r\n\r\n");
	assert_int_equal(read_resp(fd, &r, 0), 0);
	assert_int_equal(r.status, 413);
	close(fd);

	/* keeps streaming far past it: the connection is closed */
	fd = conn(f->port);
	send_str(fd, "POST /post/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	send_chunks(fd, 200, 1000);
	assert_true(closed_within(fd, 2000));
	close(fd);

	request(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_non_null(strstr(r.body, "t_http_requests_total{route=\"/post/\",result=\"too_large\"} 2\n"));
	scrape_expect(f->port, "t_http_requests_in_flight 1\n");
}

static void test_connection_cap(void **state)
{
	struct fx *f = *state;
	struct resp r;
	int a, b, c;

	f->conf.threads = 1;
	f->conf.conn_limit = 2;
	fx_start(f, 1);
	a = conn(f->port);
	b = conn(f->port);
	/* both are really served (they hold their slots) */
	send_str(a, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(a, &r, 0), 0);
	send_str(b, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(b, &r, 0), 0);
	/* the third is closed at once, unanswered */
	for (int i = 0; i < 3; i++) {
		c = conn_from(f->port, NULL);
		if (c < 0)
			continue; /* refused outright is fine too */
		send_str(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
		assert_true(closed_within(c, 1000));
		close(c);
	}
	/* the two keep working */
	send_str(a, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(a, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "ok"));
	send_str(a, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(a, &r, 0), 0);
	assert_non_null(strstr(r.body, "t_http_connections_refused_total 3\n"));
	assert_non_null(strstr(r.body, "t_http_connections_open 2\n"));
	/* once a slot frees, a new connection is served */
	close(a);
	for (int i = 0; i < 100; i++) {
		c = conn(f->port);
		send_str(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
		int rc = read_resp(c, &r, 0);
		close(c);
		if (rc == 0)
			break;
		assert_true(i < 99);
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	assert_int_equal(r.status, 200);
	close(b);
	fx_stop(f);

	/* the same with a pool: the cap is over all threads */
	int fds[4];
	f->conf.threads = 2;
	f->conf.conn_limit = 4;
	fx_start(f, 0);
	for (int i = 0; i < 4; i++) {
		fds[i] = conn(f->port);
		send_str(fds[i], "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
		assert_int_equal(read_resp(fds[i], &r, 0), 0);
	}
	c = conn_from(f->port, NULL);
	if (c >= 0) {
		send_str(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
		assert_true(closed_within(c, 1000));
		close(c);
	}
	for (int i = 0; i < 4; i++)
		close(fds[i]);
}

static void test_per_ip_cap(void **state)
{
	struct fx *f = *state;
	struct resp r;
	int a, b, c, d;

	f->conf.per_ip_limit = 2;
	fx_start(f, 0);
	a = conn(f->port);
	b = conn(f->port);
	send_str(a, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(a, &r, 0), 0);
	send_str(b, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(b, &r, 0), 0);
	/* a third from the same address is closed without an answer */
	c = conn(f->port);
	send_str(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(c, &r, 0), -1);
	close(c);
	/* another address still gets in */
	d = conn_from(f->port, "127.0.0.2");
	assert_true(d >= 0);
	send_str(d, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(d, &r, 0), 0);
	assert_int_equal(r.status, 200);
	close(d);
	/* and a freed slot is usable again */
	close(a);
	for (int i = 0; i < 50; i++) {
		c = conn(f->port);
		send_str(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
		int rc = read_resp(c, &r, 0);
		close(c);
		if (rc == 0)
			break;
		assert_true(i < 49);
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	assert_int_equal(r.status, 200);
	close(b);
}

static void test_slow_client_timeout(void **state)
{
	struct fx *f = *state;
	double t0, dt;
	int fd, idle;

	f->conf.timeout = 1;
	fx_start(f, 0);
	fd = conn(f->port);
	t0 = now_s();
	send_str(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); /* headers never finished */
	assert_true(closed_within(fd, 4000));
	dt = now_s() - t0;
	assert_true(dt >= 0.8);
	assert_true(dt < 4.0);
	close(fd);
	/* an idle keep-alive connection is closed the same way */
	fd = conn(f->port);
	idle = closed_within(fd, 300);
	assert_false(idle);
	assert_true(closed_within(fd, 4000));
	close(fd);
}

static void test_keepalive(void **state)
{
	struct fx *f = *state;
	struct resp r;
	char v[64];
	int fd;

	fx_start(f, 0);
	/* HTTP/1.1: persistent by default (RFC 9112 9.3), across built-in, handler, 404 and 405 answers */
	fd = conn(f->port);
	const char *reqs[] = { "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "GET /e HTTP/1.1\r\nHost: x\r\n\r\n",
			       "POST /post/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab",
			       "PUT /post/x HTTP/1.1\r\nHost: x\r\n\r\n", "GET /zero HTTP/1.1\r\nHost: x\r\n\r\n" };
	const int want[] = { 200, 200, 200, 405, 200 };
	for (size_t i = 0; i < 5; i++) {
		send_str(fd, reqs[i]);
		assert_int_equal(read_resp(fd, &r, 0), 0);
		assert_int_equal(r.status, want[i]);
		assert_false(resp_header(&r, "Connection", v, sizeof(v)) && strcasecmp(v, "close") == 0);
	}
	/* pipelined */
	send_str(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /zero HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(fd, &r, 0), 0);
	assert_string_equal(r.body, "ok\n");
	assert_int_equal(read_resp(fd, &r, 0), 0);
	assert_string_equal(r.body, zero_body);
	assert_false(closed_within(fd, 100));
	/* Connection: close is honoured */
	send_str(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_int_equal(read_resp(fd, &r, 0), 0);
	assert_true(closed_within(fd, 1000));
	close(fd);

	/* HTTP/1.0 with keep-alive asked */
	fd = conn(f->port);
	for (int i = 0; i < 3; i++) {
		send_str(fd, "GET /healthz HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
		assert_int_equal(read_resp(fd, &r, 0), 0);
		assert_int_equal(r.status, 200);
		assert_true(resp_header(&r, "Connection", v, sizeof(v)));
		assert_int_equal(strcasecmp(v, "keep-alive"), 0);
	}
	close(fd);
	/* HTTP/1.0 without: closed after the response */
	fd = conn(f->port);
	send_str(fd, "GET /healthz HTTP/1.0\r\n\r\n");
	assert_int_equal(read_resp(fd, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_true(closed_within(fd, 1000));
	close(fd);
}

static void test_zero_copy_and_bad_status(void **state)
{
	struct fx *f = *state;
	struct resp r;
	char v[64];

	fx_start(f, 1);
	for (int i = 0; i < 3; i++) {
		request(f->port, "GET /zero HTTP/1.1\r\nHost: x\r\n\r\n", &r);
		assert_int_equal(r.status, 200);
		assert_string_equal(r.body, zero_body);
		assert_true(resp_header(&r, "Content-Type", v, sizeof(v)));
		assert_string_equal(v, "application/octet-stream");
	}
	request(f->port, "GET /bad HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 500);
	for (int i = 0; i < 2; i++) {
		request(f->port, "GET /nm HTTP/1.1\r\nHost: x\r\n\r\n", &r);
		assert_int_equal(r.status, 304);
		assert_true(resp_header(&r, "ETag", v, sizeof(v)));
		assert_string_equal(v, "\"abc\"");
	}
	request(f->port, "GET /nm?q HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 304);
	request(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_non_null(strstr(r.body, "t_http_requests_total{route=\"/zero\",result=\"cached\"} 3\n"));
	assert_non_null(strstr(r.body, "t_http_requests_total{route=\"/bad\",result=\"server_error\"} 1\n"));
	assert_non_null(strstr(r.body, "t_http_requests_total{route=\"/nm\",result=\"not-modified\"} 2\n"));
	assert_non_null(strstr(r.body, "t_http_requests_total{route=\"/nm\",result=\"other\"} 1\n"));
	assert_null(strstr(r.body, "bad \\\"label"));
	assert_int_equal(atomic_load(&f->svc.bad_sent), 0);
	fx_stop(f);
	/* every handed-over body released exactly once, the refused one included */
	assert_int_equal(atomic_load(&f->svc.zero_freed), 4);
}

struct client {
	uint16_t port;
	struct resp r;
	int rc;
};

static void *slow_client(void *arg)
{
	struct client *c = arg;
	int fd = conn_from(c->port, NULL);

	if (fd < 0) {
		c->rc = -2;
		return NULL;
	}
	send_str(fd, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
	c->rc = read_resp(fd, &c->r, 0);
	close(fd);
	return NULL;
}

static void wait_inflight(struct fx *f, long n)
{
	for (int i = 0; i < 300 && http_inflight(f->srv) < n; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	assert_true(http_inflight(f->srv) >= n);
}

static void test_drain_on_stop(void **state)
{
	struct fx *f = *state;
	struct client c = { 0 };
	pthread_t t;
	uint16_t port;
	double t0;

	fx_start(f, 1);
	port = f->port;
	c.port = port;
	assert_int_equal(pthread_create(&t, NULL, slow_client, &c), 0);
	wait_inflight(f, 1);
	t0 = now_s();
	fx_stop(f);
	/* http_stop waited for the request */
	assert_true(now_s() - t0 > 0.1);
	pthread_join(t, NULL);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.r.status, 200);
	assert_int_equal(c.r.body_len, 8192);
	/* and nothing listens any more */
	assert_int_equal(conn_from(port, NULL), -1);
}

/* ---- deferred completion ---- */

struct dclient {
	uint16_t port;
	const char *req;
	struct resp r;
	int rc;
	double secs;
};

static void *dclient_main(void *arg)
{
	struct dclient *c = arg;
	double t0 = now_s();
	int fd = conn_from(c->port, NULL);

	if (fd < 0) {
		c->rc = -2;
		return NULL;
	}
	send_str(fd, c->req);
	c->rc = read_resp(fd, &c->r, 0);
	c->secs = now_s() - t0;
	close(fd);
	return NULL;
}

static void wait_atomic(atomic_int *v, int n)
{
	for (int i = 0; i < 300 && atomic_load(v) < n; i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	assert_true(atomic_load(v) >= n);
}

static void fx_start_single(struct fx *f, unsigned workers, unsigned queue)
{
	f->conf.threads = 1;
	f->conf.workers = workers;
	f->conf.defer_queue = queue;
	fx_start(f, 1);
}

/* The reason for deferral: on a server with one pool thread, a slow deferred answer must not hold up a fast
 * synchronous route, and the deferred answer must be the one its completion built from the intact request. */
static void test_defer_fast_route_not_delayed(void **state)
{
	struct fx *f = *state;
	struct dclient c = { 0 };
	pthread_t t;
	struct resp r;
	int fd;

	fx_start_single(f, 1, 8);
	c.port = f->port;
	c.req = "POST /d/x?copy HTTP/1.1\r\nHost: x\r\nX-Test: kept\r\nContent-Length: 3\r\n\r\nabc";
	assert_int_equal(pthread_create(&t, NULL, dclient_main, &c), 0);
	wait_atomic(&f->svc.defer_started, 1);
	fd = conn(f->port);
	for (int i = 0; i < 5; i++) {
		double t0 = now_s();
		send_str(fd, "GET /zero HTTP/1.1\r\nHost: x\r\n\r\n");
		assert_int_equal(read_resp(fd, &r, 0), 0);
		assert_int_equal(r.status, 200);
		assert_true(now_s() - t0 < 0.05);
	}
	close(fd);
	/* the fast answers came while the deferred one was still being worked on */
	assert_int_equal(atomic_load(&f->svc.defer_done), 0);
	pthread_join(t, NULL);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.r.status, 201);
	assert_true(c.secs >= 0.19);
	/* 'a','b','c' -> ((97*31)+98)*31+99 */
	assert_string_equal(c.r.body, "deferred path=/d/x query=copy len=3 sum=96354 xtest=kept\n");
	char v[32];
	assert_true(resp_header(&c.r, "X-Deferred", v, sizeof(v)));
	assert_false(resp_header(&c.r, "Retry-After", v, sizeof(v)));
	/* the overflow answer, not sent, was released */
	assert_int_equal(atomic_load(&f->svc.overflow_freed), 1);
	scrape_expect(f->port, "t_http_deferred_total 1\n");
	scrape_expect(f->port, "t_http_requests_total{route=\"/d\",result=\"deferred\"} 1\n");
	scrape_expect(f->port, "t_http_defer_queue_depth 0\n");
}

/* Keep-alive across deferred requests, and HEAD through the deferred path. */
static void test_defer_keepalive(void **state)
{
	struct fx *f = *state;
	struct resp r;
	int fd;

	f->svc.defer_ms = 10;
	fx_start_single(f, 2, 8);
	fd = conn(f->port);
	for (int i = 0; i < 3; i++) {
		send_str(fd, "GET /d?n HTTP/1.1\r\nHost: x\r\n\r\n");
		assert_int_equal(read_resp(fd, &r, 0), 0);
		assert_int_equal(r.status, 200);
		assert_string_equal(r.body, "deferred path=/d query=n len=0 sum=0 xtest=(none)\n");
	}
	send_str(fd, "HEAD /d HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(fd, &r, 1), 0);
	assert_int_equal(r.status, 200);
	close(fd);
	assert_int_equal(atomic_load(&f->svc.defer_done), 4);
	assert_int_equal(atomic_load(&f->svc.overflow_freed), 4);
}

/* loop_batch: the pool thread runs SCHED_BATCH, the worker and the caller keep their policy; without it, nothing
 * changes. */
static void test_defer_loop_batch(void **state)
{
	struct fx *f = *state;
	struct resp r;
	int fd;

	for (int batch = 1; batch >= 0; batch--) {
		atomic_store(&f->svc.loop_policy, 0);
		atomic_store(&f->svc.worker_policy, 0);
		f->conf.loop_batch = batch;
		fx_start_single(f, 1, 8);
		assert_int_equal(thread_policy(), SCHED_OTHER);
		fd = conn(f->port);
		send_str(fd, "GET /d HTTP/1.1\r\nHost: x\r\n\r\n");
		assert_int_equal(read_resp(fd, &r, 0), 0);
		assert_int_equal(r.status, 200);
		close(fd);
		assert_int_equal(atomic_load(&f->svc.loop_policy), (batch ? SCHED_BATCH : SCHED_OTHER) + 1);
		assert_int_equal(atomic_load(&f->svc.worker_policy), SCHED_OTHER + 1);
		fx_stop(f);
	}
}

/* Queue full: the handler's own overflow answer goes out at once; nothing waits without bound. */
static void test_defer_queue_full(void **state)
{
	struct fx *f = *state;
	struct dclient a = { 0 }, b = { 0 }, c = { 0 };
	pthread_t ta, tb, tc;
	char v[32];

	fx_start_single(f, 1, 1);
	a.port = b.port = c.port = f->port;
	a.req = b.req = c.req = "GET /d HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(pthread_create(&ta, NULL, dclient_main, &a), 0);
	wait_atomic(&f->svc.defer_started, 1);   /* a: with the only worker */
	assert_int_equal(pthread_create(&tb, NULL, dclient_main, &b), 0);
	wait_inflight(f, 2);                      /* b: headers in; its deferral follows at once */
	nanosleep(&(struct timespec){ 0, 30 * 1000 * 1000 }, NULL);
	assert_int_equal(pthread_create(&tc, NULL, dclient_main, &c), 0);
	pthread_join(tc, NULL);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.r.status, 503);
	assert_string_equal(c.r.body, "busy\n");
	assert_true(resp_header(&c.r, "Retry-After", v, sizeof(v)));
	assert_true(c.secs < 0.1);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.r.status, 200);
	assert_int_equal(b.r.status, 200);
	assert_int_equal(atomic_load(&f->svc.defer_done), 2);
	/* released three times: twice discarded, once after being sent */
	scrape_expect(f->port, "t_http_deferred_overflow_total 1\n");
	assert_int_equal(atomic_load(&f->svc.overflow_freed), 3);
	/* on_sent: once for the overflow answer sent, never for the two discarded; once per deferred answer */
	assert_int_equal(atomic_load(&f->svc.overflow_sent), 1);
	assert_int_equal(atomic_load(&f->svc.deferred_sent), 2);
	scrape_expect(f->port, "t_http_requests_total{route=\"/d\",result=\"busy\"} 1\n");
}

/* http_stop drains: queued and running deferred jobs complete and are answered before the server goes. */
static void test_defer_drain_on_stop(void **state)
{
	struct fx *f = *state;
	struct dclient a = { 0 }, b = { 0 };
	pthread_t ta, tb;
	double t0;

	fx_start_single(f, 1, 8);
	a.port = b.port = f->port;
	a.req = b.req = "GET /d HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(pthread_create(&ta, NULL, dclient_main, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, dclient_main, &b), 0);
	wait_atomic(&f->svc.defer_started, 1);
	wait_inflight(f, 2);
	t0 = now_s();
	fx_stop(f);
	/* one running, one queued behind it: ~2 x 200 ms minus what had already run */
	assert_true(now_s() - t0 > 0.15);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.rc, 0);
	assert_int_equal(b.rc, 0);
	assert_int_equal(a.r.status, 200);
	assert_int_equal(b.r.status, 200);
	assert_int_equal(atomic_load(&f->svc.defer_done), 2);
	assert_int_equal(atomic_load(&f->svc.overflow_freed), 2);
}

/* Runs http_stop with stderr captured into log (what it logged, NUL-terminated); returns its status and puts
 * the time it took in *secs. */
static int stop_logged(http_server *srv, char *log, size_t loglen, double *secs)
{
	char path[256];
	int fd, saved, rc;
	double t0;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/test_http.%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", MKTEMP_TAIL);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	t0 = now_s();
	alarm(10); /* the regression this pins was a stop that never returned: fail, do not hang */
	rc = http_stop(srv);
	alarm(0);
	*secs = now_s() - t0;
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, log, loglen - 1, 0);
	close(fd);
	log[n > 0 ? n : 0] = '\0';
	fputs(log, stderr);
	return rc;
}

/* A deferred job that never ends (a PKCS#11 call hung in the HSM) must not hold http_stop beyond drain_timeout:
 * it returns VA_ERR_BUSY in time, names the job, and frees nothing: the stuck job's connection is answered once
 * the job ends, and a second http_stop then completes. No handler starts after the drain. */
static void test_drain_timeout_stuck_worker(void **state)
{
	struct fx *f = *state;
	struct dclient a = { 0 }, b = { 0 };
	pthread_t ta, tb;
	struct resp r;
	char log[4096];
	double secs;
	int idle, zero_calls;

	f->conf.drain_timeout = 1;
	fx_start_single(f, 1, 8);
	idle = conn(f->port); /* a kept-alive connection, idle when the stop comes */
	send_str(idle, "GET /zero HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(idle, &r, 0), 0);
	assert_int_equal(r.status, 200);
	a.port = b.port = f->port;
	a.req = "GET /block/a?x HTTP/1.1\r\nHost: x\r\n\r\n";
	b.req = "GET /d HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(pthread_create(&ta, NULL, dclient_main, &a), 0);
	wait_atomic(&f->svc.block_started, 1);    /* a: stuck on the only worker */
	assert_int_equal(pthread_create(&tb, NULL, dclient_main, &b), 0);
	wait_inflight(f, 2);                      /* b: queued behind it */
	nanosleep(&(struct timespec){ 0, 30 * 1000 * 1000 }, NULL);

	assert_int_equal(stop_logged(f->srv, log, sizeof(log), &secs), VA_ERR_BUSY);
	assert_true(secs >= 0.9);
	assert_true(secs < 1.5);
	assert_non_null(strstr(log, "still running on worker 0 after "));
	assert_non_null(strstr(log, " s: GET /block/a (route /block)\n"));
	assert_non_null(strstr(log, "drain_timeout (1 s) reached with 1 deferred job(s) running, 1 queued and 0 handler"));
	assert_int_equal(atomic_load(&f->svc.defer_started), 0);
	/* still there (nothing freed): the idle connection is served, but no handler is called any more */
	zero_calls = atomic_load(&f->svc.zero_calls);
	send_str(idle, "GET /zero HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(idle, &r, 0), 0);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body, "shutting down\n");
	assert_int_equal(atomic_load(&f->svc.zero_calls), zero_calls);
	close(idle);
	assert_int_equal(conn_from(f->port, NULL), -1);

	/* the job ends: both requests are answered and the server stops for good */
	gate_open(&f->svc);
	assert_int_equal(stop_logged(f->srv, log, sizeof(log), &secs), VA_OK);
	f->srv = NULL;
	assert_true(secs < 1.0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.rc, 0);
	assert_int_equal(a.r.status, 200);
	assert_string_equal(a.r.body, "unblocked\n");
	assert_int_equal(b.rc, 0);
	assert_int_equal(b.r.status, 200);
	assert_int_equal(atomic_load(&f->svc.defer_done), 1);
	metrics_free(f->m);
	f->m = NULL;
}

/* The same with the job on a pool thread (workers = 0: deferrals run inline): MHD_stop_daemon would wait for that
 * thread for ever, so http_stop must give up in time too. */
static void test_drain_timeout_stuck_handler(void **state)
{
	struct fx *f = *state;
	struct dclient a = { 0 };
	pthread_t ta;
	char log[4096];
	double secs;

	f->conf.drain_timeout = 1;
	fx_start_single(f, 0, 8);
	a.port = f->port;
	a.req = "GET /block HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(pthread_create(&ta, NULL, dclient_main, &a), 0);
	wait_atomic(&f->svc.block_started, 1);
	assert_int_equal(stop_logged(f->srv, log, sizeof(log), &secs), VA_ERR_BUSY);
	assert_true(secs >= 0.9);
	assert_true(secs < 1.5);
	assert_non_null(strstr(log, "0 deferred job(s) running, 0 queued and 1 handler call(s) on pool threads"));
	gate_open(&f->svc);
	assert_int_equal(stop_logged(f->srv, log, sizeof(log), &secs), VA_OK);
	f->srv = NULL;
	pthread_join(ta, NULL);
	assert_int_equal(a.rc, 0);
	assert_int_equal(a.r.status, 200);
	assert_string_equal(a.r.body, "unblocked\n");
	metrics_free(f->m);
	f->m = NULL;
}

/* A client that stalls in the middle of its body holds the first phase of the drain until drain_timeout, but no job
 * is stuck: idle workers (two, just told to quit) are no reason to report one. http_stop closes the connection
 * and returns VA_OK, so the daemon exits 0 rather than through the watchdog's _exit(1). */
static void test_drain_timeout_stalled_client(void **state)
{
	struct fx *f = *state;
	char log[4096];
	double secs;
	int fd;

	f->conf.drain_timeout = 1;
	fx_start_single(f, 2, 8);
	fd = conn(f->port);
	send_str(fd, "POST /d HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
	wait_inflight(f, 1);
	assert_int_equal(stop_logged(f->srv, log, sizeof(log), &secs), VA_OK);
	f->srv = NULL;
	assert_true(secs >= 0.9);
	assert_true(secs < 1.5);
	assert_non_null(strstr(log, "closing 1 connection(s) whose request or answer is still in transfer"));
	assert_null(strstr(log, "still running"));
	assert_int_equal(atomic_load(&f->svc.defer_started), 0);
	close(fd);
	metrics_free(f->m);
	f->m = NULL;
}

/* workers = 0: the deferred half runs inline, the answer is the same. */
static void test_defer_inline(void **state)
{
	struct fx *f = *state;
	struct resp r;

	f->svc.defer_ms = 1;
	fx_start_single(f, 0, 8);
	request(f->port, "POST /d HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "deferred path=/d query=(none) len=1 sum=97 xtest=(none)\n");
	assert_int_equal(atomic_load(&f->svc.overflow_freed), 1);
}

static atomic_int stop_thread_rc;

static void *stop_thread(void *srv)
{
	atomic_store(&stop_thread_rc, http_stop(srv));
	return NULL;
}

static void test_readyz_while_draining(void **state)
{
	struct fx *f = *state;
	struct resp r;
	pthread_t stopper;
	int fd, post;
	char v[32];

	fx_start(f, 0);
	/* a keep-alive connection opened before the stop */
	fd = conn(f->port);
	send_str(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(fd, &r, 0), 0);
	/* the completion of that request may trail its response: let it finish so the count below is the POST's */
	for (int i = 0; i < 300 && http_inflight(f->srv) != 0; i++)
		nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
	assert_int_equal(http_inflight(f->srv), 0);
	/* a request in flight that blocks no server thread: its body is half sent */
	post = conn(f->port);
	send_str(post, "POST /post/x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234");
	wait_inflight(f, 1);
	assert_int_equal(pthread_create(&stopper, NULL, stop_thread, f->srv), 0);
	f->srv = NULL; /* the stopper owns it now */
	nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	/* new connections are refused at once */
	assert_int_equal(conn_from(f->port, NULL), -1);
	/* while draining: not ready, and told to close */
	send_str(fd, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(fd, &r, 0), 0);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body, "shutting down\n");
	assert_true(resp_header(&r, "Connection", v, sizeof(v)));
	assert_int_equal(strcasecmp(v, "close"), 0);
	assert_true(closed_within(fd, 1000));
	close(fd);
	/* the request in flight completes */
	send_str(post, "56789");
	assert_int_equal(read_resp(post, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "len=10 "));
	close(post);
	pthread_join(stopper, NULL);
	assert_int_equal(atomic_load(&stop_thread_rc), VA_OK);
}

static void test_start_failures(void **state)
{
	struct fx *f = *state;
	const struct http_route bad[] = { { "noslash", HTTP_GET, h_only, NULL } };
	const struct http_route nofn[] = { { "/x", HTTP_GET, NULL, NULL } };
	struct http_conf c = f->conf;

	log_set_level(LOG_LVL_ERR + 0);
	snprintf(c.listen, sizeof(c.listen), "localhost");
	assert_null(http_start(&c, NULL, 0, NULL, NULL, NULL));
	c = f->conf;
	c.conn_limit = 1;
	c.threads = 2;
	assert_null(http_start(&c, NULL, 0, NULL, NULL, NULL));
	c = f->conf;
	c.body_max = LIM_HTTP_BODY_MAX + 1;
	assert_null(http_start(&c, NULL, 0, NULL, NULL, NULL));
	c = f->conf;
	assert_null(http_start(&c, bad, 1, NULL, NULL, NULL));
	assert_null(http_start(&c, nofn, 1, NULL, NULL, NULL));
	assert_null(http_start(NULL, NULL, 0, NULL, NULL, NULL));
	/* port in use */
	fx_start(f, 0);
	c.port = f->port;
	assert_null(http_start(&c, NULL, 0, NULL, NULL, NULL));
	/* IPv6 loopback works where available; a server with no routes still has the built-ins */
	c.port = 0;
	snprintf(c.listen, sizeof(c.listen), "::1");
	http_server *s6 = http_start(&c, NULL, 0, NULL, NULL, NULL);
	if (s6 != NULL) {
		assert_true(http_port(s6) != 0);
		assert_int_equal(http_stop(s6), VA_OK);
	}
	assert_int_equal(http_stop(NULL), VA_OK);
	assert_int_equal(http_port(NULL), 0);
	log_set_level(LOG_LVL_WARN);
}

static void test_response_helpers(void **state)
{
	struct http_response resp;
	char longtext[600];

	(void)state;
	memset(&resp, 0, sizeof(resp));
	for (int i = 0; i < LIM_HTTP_HEADERS_MAX + 2; i++)
		http_response_header(&resp, "X-N", "%d", i);
	assert_int_equal(resp.nheaders, LIM_HTTP_HEADERS_MAX);
	assert_string_equal(resp.headers[LIM_HTTP_HEADERS_MAX - 1].value, "7");
	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	http_response_text(&resp, 400, longtext);
	assert_int_equal(resp.status, 400);
	assert_int_equal(resp.body_len, sizeof(resp.text) - 1);
	assert_ptr_equal(resp.body, (const uint8_t *)resp.text);
	assert_int_equal(http_response_copy(&resp, 201, "a/b", "abc", 3), VA_OK);
	assert_int_equal(resp.status, 201);
	assert_memory_equal(resp.body, "abc", 3);
	assert_non_null(resp.body_free);
	resp.body_free(resp.body_free_arg);
	assert_null(http_request_header(NULL, "x"));
}

/* --serve PORTFILE: the same service as a daemon, for tests/integration/http_curl.sh (real clients, real
 * signals). Logs "reload N" on SIGHUP; exits 0 after SIGTERM once the requests in flight are done. */
static int reload_count;

static int serve_reload(void *arg)
{
	log_warn("reload %d", ++reload_count);
	return 0;
}

static int serve(const char *portfile)
{
	static struct fx f;
	FILE *fp;
	int rc;

	log_init("test_http", 0, LOG_LVL_INFO);
	/* As the daemons: signals taken by the shutdown module's thread (before the server's threads exist). */
	if (shutdown_start() != VA_OK)
		return 1;
	http_conf_defaults(&f.conf);
	f.conf.port = 0;
	f.conf.timeout = 2;
	f.conf.body_max = 1024;
	f.svc.slow_ms = 1500;
	atomic_store(&f.svc.ready, 1);
	fx_start(&f, 1);
	fp = fopen(portfile, "w");
	if (fp == NULL || fprintf(fp, "%u\n", (unsigned)f.port) < 0 || fclose(fp) != 0)
		return 1;
	rc = shutdown_loop(serve_reload, NULL, 0, NULL);
	log_info("draining");
	fx_stop(&f);
	log_info("stopped");
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--serve") == 0)
		return serve(argv[2]);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_builtin_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found_and_405, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_path_query_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_413_content_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_413_chunked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_ip_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_client_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_copy_and_bad_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_on_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readyz_while_draining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_response_helpers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defer_fast_route_not_delayed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defer_keepalive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defer_queue_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defer_loop_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defer_drain_on_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defer_inline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_timeout_stuck_worker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_timeout_stuck_handler, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_timeout_stalled_client, setup, teardown),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
