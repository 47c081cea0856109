#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"
#include "err.h"

static struct timespec fixed_clock(void *arg)
{
	struct timespec ts = { .tv_sec = *(time_t *)arg, .tv_nsec = 0 };
	return ts;
}

static void test_strerror_covers_all(void **state)
{
	(void)state;
	for (int e = VA_OK; e >= VA_ERR_CLOCK; e--)
		assert_string_not_equal(va_strerror(e), "unknown error");
	assert_string_equal(va_strerror(-1000), "unknown error");
}

static void test_clock_seam(void **state)
{
	time_t t = 1234567890;

	(void)state;
	clock_set_source(fixed_clock, &t);
	assert_int_equal(clock_now_sec(), 1234567890);
	clock_set_source(NULL, NULL);
	assert_true(clock_now_sec() > 1700000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strerror_covers_all),
		cmocka_unit_test(test_clock_seam),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
