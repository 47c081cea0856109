/*
 * metrics.h: Prometheus text-format metrics (exposition format 0.0.4).
 *
 * Counters and histograms are registered at start-up (before threads start) and updated lock-free with atomics
 * from any thread. Names follow Prometheus conventions; labels are fixed at registration.
 */
#ifndef VA_METRICS_H
#define VA_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct metrics metrics;
typedef struct metrics_counter metrics_counter;
typedef struct metrics_gauge metrics_gauge;
typedef struct metrics_histogram metrics_histogram;

/* prefix: prepended to every name ("ocspd_"). Returns NULL on allocation failure or a prefix over 63 chars. */
metrics *metrics_new(const char *prefix);
void metrics_free(metrics *m);

/* labels: NULL or a preformatted label set such as "route=\"/\",result=\"ok\"". Same name may be registered with
 * several label sets; they are rendered together under one HELP/TYPE. Registering an existing name+labels again
 * returns the existing series. Returns NULL on allocation failure, an invalid name, a label set containing '}' or a
 * newline, or a name already registered with another type. The series lives until metrics_free(m); all update
 * functions accept NULL (no-op), so a failed registration only loses that figure. Registration and rendering may
 * run at any time from any thread (a mutex); updates are lock-free. */
metrics_counter *metrics_counter_new(metrics *m, const char *name, const char *help, const char *labels);
metrics_gauge *metrics_gauge_new(metrics *m, const char *name, const char *help, const char *labels);
/* Latency histogram in seconds with fixed buckets from 100 us to 10 s. */
metrics_histogram *metrics_histogram_new(metrics *m, const char *name, const char *help, const char *labels);

void metrics_counter_add(metrics_counter *c, uint64_t n);
static inline void metrics_counter_inc(metrics_counter *c) { metrics_counter_add(c, 1); }
void metrics_gauge_set(metrics_gauge *g, int64_t v);
void metrics_gauge_add(metrics_gauge *g, int64_t delta);
void metrics_histogram_observe(metrics_histogram *h, double seconds);

/* Current values, for tests and for services that expose a figure elsewhere (vactl stats). NULL reads 0. */
uint64_t metrics_counter_value(const metrics_counter *c);
int64_t metrics_gauge_value(const metrics_gauge *g);
/* Number of observations so far. */
uint64_t metrics_histogram_count(const metrics_histogram *h);

/* Renders everything; *out is malloc'd (caller frees). Families appear in registration order, each with one
 * HELP and one TYPE line followed by all its label sets. */
VA_MUST_CHECK int metrics_render(metrics *m, char **out, size_t *len);

#endif
