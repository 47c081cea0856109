/*
 * tsaclock.h: the TSA's judgement of its own clock (ETSI EN 319 421 7.7.2: no token with a time the TSA cannot
 * vouch for).
 *
 * Time is read only through common/clock.h's clock_now() seam; the kernel's synchronisation state through an
 * adjtimex reader that defaults to ntp_adjtime(2) and that tests replace per object (tsa_clock_set_adjtimex).
 *
 * A reading is refused (VA_ERR_CLOCK) when:
 *  - require_sync is set and the kernel says the clock is not synchronised (ntp_adjtime() returns TIME_ERROR or
 *    status has STA_UNSYNC), or its maximum or estimated error exceeds the declared accuracy;
 *  - require_sync is set and a leap second is being inserted (TIME_OOP): the kernel repeats 23:59:59 (or the
 *    time source smears it) and the TSA cannot say which of the two seconds a token belongs to, so it answers
 *    timeNotAvailable for that second rather than issue ambiguous or out-of-order times;
 *  - always: the wall clock is more than the accuracy behind the latest time this process issued (a backwards
 *    step). It stays refused until the clock has caught up with that time minus the accuracy. A deleted or
 *    repeated leap second is such a 1 s step, so with accuracy_ms < 1000 the TSA pauses for that second.
 * The high-water mark is per process (it is not persisted); the store serial blocks make serials unique across
 * restarts, not times monotonic.
 *
 * Errors: 0 or a negative va_err. Thread-safe: readings are serialised by a mutex held around the clock read, so
 * two threads never see each other's reading as a backwards step.
 */
#ifndef VA_TSA_CLOCK_H
#define VA_TSA_CLOCK_H

#include <stddef.h>
#include <sys/timex.h>
#include <time.h>

#include "err.h"

/* Reads the kernel clock state like ntp_adjtime(tx) with tx->modes = 0: returns the clock state (TIME_OK,
 * TIME_ERROR, ...) or -1. */
typedef int (*tsa_adjtimex_fn)(void *arg, struct timex *tx);

typedef struct tsa_clock tsa_clock;

/* accuracy_ms: the accuracy declared in tokens. require_sync: check the kernel state as above. NULL on ENOMEM. */
tsa_clock *tsa_clock_new(unsigned accuracy_ms, int require_sync);
/* Accepts NULL. */
void tsa_clock_free(tsa_clock *c);

/* Carries the latest issued time of old over to c (a configuration reload must not forget it and so miss a
 * backwards step). Neither may be in use by other threads. */
void tsa_clock_take_over(tsa_clock *c, const tsa_clock *old);

/* Replaces the kernel state reader (tests); NULL restores ntp_adjtime. Call before threads use c. */
void tsa_clock_set_adjtimex(tsa_clock *c, tsa_adjtimex_fn fn, void *arg);

/* Reads the time for a token: 0 and *now, or VA_ERR_CLOCK and *why (static text). Advances the high-water mark. */
VA_MUST_CHECK int tsa_clock_read(tsa_clock *c, struct timespec *now, const char **why);

/* Same checks without issuing (for /readyz). */
VA_MUST_CHECK int tsa_clock_check(tsa_clock *c, const char **why);

#endif
