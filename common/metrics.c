/*
 * metrics.c: Prometheus text exposition format 0.0.4.
 *
 * Series are registered (rarely, under a mutex) and updated on the hot path with relaxed atomics only: a counter
 * increment is one atomic add, a histogram observation is two (its bucket and its sum). Rendering takes the
 * registration mutex so it never sees a half-linked series, and reads the atomics without stopping writers; a
 * scrape is therefore a slightly fuzzy snapshot, which Prometheus tolerates (each value is monotonic).
 */
#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum metrics_type { MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };

/* Upper bounds (seconds) of the latency buckets: 100 us to 10 s, roughly 1-2.5-5 per decade. */
static const double metrics_bounds[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
					  0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10 };
#define METRICS_NBOUNDS (sizeof(metrics_bounds) / sizeof(metrics_bounds[0]))

#define METRICS_NAME_MAX 128

struct metrics_counter {
	_Atomic uint64_t v;
};
struct metrics_gauge {
	_Atomic int64_t v;
};
struct metrics_histogram {
	/* Per-bucket (not cumulative) counts; the last one is +Inf. The count is their sum, computed at render time
	 * so an observation costs one atomic less. */
	_Atomic uint64_t bucket[METRICS_NBOUNDS + 1];
	_Atomic uint64_t sum_ns;
};

struct metrics_series {
	struct metrics_series *next;
	char *labels; /* "" when none */
	union {
		struct metrics_counter c;
		struct metrics_gauge g;
		struct metrics_histogram h;
	} u;
};

struct metrics_family {
	struct metrics_family *next;
	enum metrics_type type;
	char name[METRICS_NAME_MAX];
	char *help;
	struct metrics_series *series, **tail;
};

struct metrics {
	pthread_mutex_t lock;
	char prefix[64];
	struct metrics_family *families, **tail;
};

metrics *metrics_new(const char *prefix)
{
	metrics *m;

	if (prefix == NULL)
		prefix = "";
	if (strlen(prefix) >= sizeof(m->prefix))
		return NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	if (pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m);
		return NULL;
	}
	memcpy(m->prefix, prefix, strlen(prefix) + 1);
	m->tail = &m->families;
	return m;
}

void metrics_free(metrics *m)
{
	struct metrics_family *f, *fn;
	struct metrics_series *s, *sn;

	if (m == NULL)
		return;
	for (f = m->families; f != NULL; f = fn) {
		fn = f->next;
		for (s = f->series; s != NULL; s = sn) {
			sn = s->next;
			free(s->labels);
			free(s);
		}
		free(f->help);
		free(f);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* Prometheus metric names: [a-zA-Z_:][a-zA-Z0-9_:]*. */
static int metrics_name_valid(const char *name)
{
	if (name[0] == '\0' || (name[0] >= '0' && name[0] <= '9'))
		return 0;
	for (const char *p = name; *p != '\0'; p++) {
		char ch = *p;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
		      ch == ':'))
			return 0;
	}
	return 1;
}

/* A label set must not break the line format: no newline, and balanced enough not to end the braces early is
 * the caller's job (labels are fixed strings built at start-up). */
static int metrics_labels_valid(const char *labels)
{
	return strchr(labels, '\n') == NULL && strchr(labels, '}') == NULL;
}

static struct metrics_series *metrics_register(metrics *m, enum metrics_type type, const char *name,
					       const char *help, const char *labels)
{
	char full[METRICS_NAME_MAX];
	struct metrics_family *f;
	struct metrics_series *s = NULL;
	int n;

	if (m == NULL || name == NULL || name[0] == '\0')
		return NULL;
	if (labels == NULL)
		labels = "";
	if (help == NULL)
		help = "";
	n = snprintf(full, sizeof(full), "%s%s", m->prefix, name);
	if (n < 0 || (size_t)n >= sizeof(full) || !metrics_name_valid(full) || !metrics_labels_valid(labels))
		return NULL;

	pthread_mutex_lock(&m->lock);
	for (f = m->families; f != NULL; f = f->next)
		if (strcmp(f->name, full) == 0)
			break;
	if (f != NULL && f->type != type)
		goto out; /* one name, one type */
	if (f == NULL) {
		f = calloc(1, sizeof(*f));
		if (f == NULL)
			goto out;
		f->help = strdup(help);
		if (f->help == NULL) {
			free(f);
			goto out;
		}
		f->type = type;
		memcpy(f->name, full, (size_t)n + 1);
		f->tail = &f->series;
		*m->tail = f;
		m->tail = &f->next;
	}
	/* Registering the same series twice returns the first: two servers sharing one registry count together. */
	for (s = f->series; s != NULL; s = s->next)
		if (strcmp(s->labels, labels) == 0)
			goto out;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto out;
	s->labels = strdup(labels);
	if (s->labels == NULL) {
		free(s);
		s = NULL;
		goto out;
	}
	*f->tail = s;
	f->tail = &s->next;
out:
	pthread_mutex_unlock(&m->lock);
	return s;
}

metrics_counter *metrics_counter_new(metrics *m, const char *name, const char *help, const char *labels)
{
	struct metrics_series *s = metrics_register(m, MT_COUNTER, name, help, labels);
	return s != NULL ? &s->u.c : NULL;
}

metrics_gauge *metrics_gauge_new(metrics *m, const char *name, const char *help, const char *labels)
{
	struct metrics_series *s = metrics_register(m, MT_GAUGE, name, help, labels);
	return s != NULL ? &s->u.g : NULL;
}

metrics_histogram *metrics_histogram_new(metrics *m, const char *name, const char *help, const char *labels)
{
	struct metrics_series *s = metrics_register(m, MT_HISTOGRAM, name, help, labels);
	return s != NULL ? &s->u.h : NULL;
}

void metrics_counter_add(metrics_counter *c, uint64_t n)
{
	if (c != NULL)
		atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}

uint64_t metrics_counter_value(const metrics_counter *c)
{
	return c != NULL ? atomic_load_explicit(&c->v, memory_order_relaxed) : 0;
}

void metrics_gauge_set(metrics_gauge *g, int64_t v)
{
	if (g != NULL)
		atomic_store_explicit(&g->v, v, memory_order_relaxed);
}

void metrics_gauge_add(metrics_gauge *g, int64_t delta)
{
	if (g != NULL)
		atomic_fetch_add_explicit(&g->v, delta, memory_order_relaxed);
}

int64_t metrics_gauge_value(const metrics_gauge *g)
{
	return g != NULL ? atomic_load_explicit(&g->v, memory_order_relaxed) : 0;
}

void metrics_histogram_observe(metrics_histogram *h, double seconds)
{
	size_t i;
	uint64_t ns;

	if (h == NULL)
		return;
	if (!(seconds >= 0)) /* negative or NaN: a clock bug, count it in the first bucket as zero */
		seconds = 0;
	for (i = 0; i < METRICS_NBOUNDS; i++)
		if (seconds <= metrics_bounds[i])
			break;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	ns = seconds >= 1e9 ? UINT64_C(1000000000) * UINT64_C(1000000000) : (uint64_t)(seconds * 1e9);
	atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

uint64_t metrics_histogram_count(const metrics_histogram *h)
{
	uint64_t n = 0;

	if (h == NULL)
		return 0;
	for (size_t i = 0; i <= METRICS_NBOUNDS; i++)
		n += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
	return n;
}

/* Growing output buffer; on allocation failure it sticks in the failed state and render reports NOMEM. */
struct metrics_buf {
	char *p;
	size_t len, cap;
	int failed;
};

__attribute__((format(printf, 2, 3))) static void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = b->cap * 2 + (size_t)n + 1;
		char *np = realloc(b->p, ncap);
		if (np == NULL) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

/* HELP text escaping (format 0.0.4): backslash and newline. */
static void metrics_put_help(struct metrics_buf *b, const char *name, const char *help)
{
	metrics_printf(b, "# HELP %s ", name);
	for (const char *p = help; *p != '\0'; p++) {
		if (*p == '\\')
			metrics_printf(b, "\\\\");
		else if (*p == '\n')
			metrics_printf(b, "\\n");
		else
			metrics_printf(b, "%c", *p);
	}
	metrics_printf(b, "\n");
}

static void metrics_put_histogram(struct metrics_buf *b, const struct metrics_family *f,
				  const struct metrics_series *s)
{
	const struct metrics_histogram *h = &s->u.h;
	const char *sep = s->labels[0] != '\0' ? "," : "";
	uint64_t cum = 0, sum_ns;

	for (size_t i = 0; i <= METRICS_NBOUNDS; i++) {
		cum += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
		if (i < METRICS_NBOUNDS)
			metrics_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", f->name, s->labels, sep, metrics_bounds[i],
				       (unsigned long long)cum);
		else
			metrics_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", f->name, s->labels, sep,
				       (unsigned long long)cum);
	}
	sum_ns = atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
	if (s->labels[0] != '\0') {
		metrics_printf(b, "%s_sum{%s} %llu.%09llu\n", f->name, s->labels,
			       (unsigned long long)(sum_ns / 1000000000u), (unsigned long long)(sum_ns % 1000000000u));
		metrics_printf(b, "%s_count{%s} %llu\n", f->name, s->labels, (unsigned long long)cum);
	} else {
		metrics_printf(b, "%s_sum %llu.%09llu\n", f->name, (unsigned long long)(sum_ns / 1000000000u),
			       (unsigned long long)(sum_ns % 1000000000u));
		metrics_printf(b, "%s_count %llu\n", f->name, (unsigned long long)cum);
	}
}

int metrics_render(metrics *m, char **out, size_t *len)
{
	static const char *const type_names[] = { "counter", "gauge", "histogram" };
	struct metrics_buf b = { 0 };
	const struct metrics_family *f;
	const struct metrics_series *s;
	int rc = VA_OK;

	if (m == NULL || out == NULL || len == NULL)
		return VA_ERR_INVAL;
	b.cap = 4096;
	b.p = malloc(b.cap);
	if (b.p == NULL)
		return VA_ERR_NOMEM;
	b.p[0] = '\0';
	pthread_mutex_lock(&m->lock);
	for (f = m->families; f != NULL; f = f->next) {
		metrics_put_help(&b, f->name, f->help);
		metrics_printf(&b, "# TYPE %s %s\n", f->name, type_names[f->type]);
		for (s = f->series; s != NULL; s = s->next) {
			const char *lo = s->labels[0] != '\0' ? "{" : "";
			const char *lc = s->labels[0] != '\0' ? "}" : "";
			switch (f->type) {
			case MT_COUNTER:
				metrics_printf(&b, "%s%s%s%s %llu\n", f->name, lo, s->labels, lc,
					       (unsigned long long)atomic_load_explicit(&s->u.c.v,
											memory_order_relaxed));
				break;
			case MT_GAUGE:
				metrics_printf(&b, "%s%s%s%s %lld\n", f->name, lo, s->labels, lc,
					       (long long)atomic_load_explicit(&s->u.g.v, memory_order_relaxed));
				break;
			case MT_HISTOGRAM:
				metrics_put_histogram(&b, f, s);
				break;
			}
		}
	}
	pthread_mutex_unlock(&m->lock);
	if (b.failed) {
		free(b.p);
		rc = VA_ERR_NOMEM;
		goto out;
	}
	*out = b.p;
	*len = b.len;
out:
	return rc;
}
