#include "clock.h"

static clock_source_fn clock_src;
static void *clock_src_arg;

struct timespec clock_now(void)
{
	struct timespec ts;

	if (clock_src != NULL)
		return clock_src(clock_src_arg);
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

time_t clock_now_sec(void)
{
	return clock_now().tv_sec;
}

int64_t clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_set_source(clock_source_fn fn, void *arg)
{
	clock_src = fn;
	clock_src_arg = arg;
}
