/*
 * clock.h: the one seam through which every module reads "now".
 *
 * Production reads CLOCK_REALTIME. Tests install their own source to drive validity windows, TSA clock checks
 * and CRL nextUpdate without sleeping. The source is process-wide state owned by this module.
 */
#ifndef VA_CLOCK_H
#define VA_CLOCK_H

#include <stdint.h>
#include <time.h>

typedef struct timespec (*clock_source_fn)(void *arg);

/* Current wall-clock time from the installed source. Thread-safe. */
struct timespec clock_now(void);

/* Seconds since the epoch, from clock_now(). */
time_t clock_now_sec(void);

/* Milliseconds of CLOCK_MONOTONIC: for intervals, deadlines and rate limits, which must not jump with the wall
 * clock. Not affected by clock_set_source: tests drive certificate time, not how long things take. */
int64_t clock_mono_ms(void);

/* Install a source (tests only); NULL restores CLOCK_REALTIME. Not to be called while other threads read. */
void clock_set_source(clock_source_fn fn, void *arg);

#endif
