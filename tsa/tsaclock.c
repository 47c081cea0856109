/*
 * tsaclock.c: clock checks for token times (see tsaclock.h).
 */
#include "tsaclock.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "clock.h"

struct tsa_clock {
	int64_t accuracy_us;
	int require_sync;
	tsa_adjtimex_fn adjtimex;
	void *adjtimex_arg;
	pthread_mutex_t mu;  /* guards high_ns and serialises readings */
	int64_t high_ns;     /* latest time issued (ns since the epoch); 0 before the first */
};

static int adjtimex_kernel(void *arg, struct timex *tx)
{
	(void)arg;
	tx->modes = 0; /* read only */
	return ntp_adjtime(tx);
}

tsa_clock *tsa_clock_new(unsigned accuracy_ms, int require_sync)
{
	tsa_clock *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c);
		return NULL;
	}
	c->accuracy_us = (int64_t)accuracy_ms * 1000;
	c->require_sync = require_sync;
	c->adjtimex = adjtimex_kernel;
	return c;
}

void tsa_clock_free(tsa_clock *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void tsa_clock_take_over(tsa_clock *c, const tsa_clock *old)
{
	if (old != NULL && old->high_ns > c->high_ns)
		c->high_ns = old->high_ns;
}

void tsa_clock_set_adjtimex(tsa_clock *c, tsa_adjtimex_fn fn, void *arg)
{
	c->adjtimex = fn != NULL ? fn : adjtimex_kernel;
	c->adjtimex_arg = fn != NULL ? arg : NULL;
}

static int check_kernel(tsa_clock *c, const char **why)
{
	struct timex tx = { 0 };
	int state;

	if (!c->require_sync)
		return 0;
	state = c->adjtimex(c->adjtimex_arg, &tx);
	if (state < 0) {
		*why = "cannot read the kernel clock state";
		return VA_ERR_CLOCK;
	}
	if (state == TIME_ERROR || (tx.status & STA_UNSYNC)) {
		*why = "clock not synchronised";
		return VA_ERR_CLOCK;
	}
	if (state == TIME_OOP) {
		*why = "leap second in progress";
		return VA_ERR_CLOCK;
	}
	/* maxerror and esterror are in microseconds (adjtimex(2)). */
	if (tx.maxerror > c->accuracy_us || tx.esterror > c->accuracy_us) {
		*why = "clock error larger than the declared accuracy";
		return VA_ERR_CLOCK;
	}
	return 0;
}

/* Called with mu held. */
static int check_locked(tsa_clock *c, struct timespec *now, const char **why)
{
	int64_t ns;
	int rc;

	rc = check_kernel(c, why);
	if (rc != 0)
		return rc;
	*now = clock_now();
	if (now->tv_sec < 0 || now->tv_nsec < 0 || now->tv_nsec >= 1000000000L) {
		*why = "clock reading out of range";
		return VA_ERR_CLOCK;
	}
	ns = (int64_t)now->tv_sec * 1000000000 + now->tv_nsec;
	if (c->high_ns != 0 && ns < c->high_ns - c->accuracy_us * 1000) {
		*why = "clock stepped backwards";
		return VA_ERR_CLOCK;
	}
	return 0;
}

int tsa_clock_read(tsa_clock *c, struct timespec *now, const char **why)
{
	int rc;

	*why = NULL;
	pthread_mutex_lock(&c->mu);
	rc = check_locked(c, now, why);
	if (rc == 0) {
		int64_t ns = (int64_t)now->tv_sec * 1000000000 + now->tv_nsec;

		if (ns > c->high_ns)
			c->high_ns = ns;
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int tsa_clock_check(tsa_clock *c, const char **why)
{
	struct timespec now;
	int rc;

	*why = NULL;
	pthread_mutex_lock(&c->mu);
	rc = check_locked(c, &now, why);
	pthread_mutex_unlock(&c->mu);
	return rc;
}
