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

/* prefix: prepended to every name ("ocspd_"). */
metrics *metrics_new(const char *prefix);
void metrics_free(metrics *m);

/* labels: NULL or a preformatted label set such as "route=\"/\",result=\"ok\"". Same name may be registered with
 * several label sets; they are rendered together under one HELP/TYPE. Returns NULL on allocation failure. */
metrics_counter *metrics_counter_new(metrics *m, const char *name, const char *help, const char *labels);
metrics_gauge *metrics_gauge_new(metrics *m, const char *name, const char *help, const char *labels);
/* Latency histogram in seconds with fixed buckets from 100 us to 10 s. */
metrics_histogram *metrics_histogram_new(metrics *m, const char *name, const char *help, const char *labels);

void metrics_counter_add(metrics_counter *c, uint64_t n);
static inline void metrics_counter_inc(metrics_counter *c) { metrics_counter_add(c, 1); }
void metrics_gauge_set(metrics_gauge *g, int64_t v);
void metrics_gauge_add(metrics_gauge *g, int64_t delta);
void metrics_histogram_observe(metrics_histogram *h, double seconds);

/* Renders everything; *out is malloc'd (caller frees). */
VA_MUST_CHECK int metrics_render(metrics *m, char **out, size_t *len);

#endif
