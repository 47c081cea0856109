/*
 * test_tsa_clock.c: the TSA's clock checks, driven through the clock seam (common/clock.h) and the adjtimex seam.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "../../tsa/tsaclock.h"
#include "clock.h"

static struct timespec fake_now;

static struct timespec fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

struct fake_kernel {
	int state;
	int status;
	long maxerror;
	long esterror;
	int calls;
};

static int fake_adjtimex(void *arg, struct timex *tx)
{
	struct fake_kernel *k = arg;

	k->calls++;
	tx->status = k->status;
	tx->maxerror = k->maxerror;
	tx->esterror = k->esterror;
	return k->state;
}

static int setup(void **state)
{
	(void)state;
	fake_now = (struct timespec){ 1700000000, 0 };
	clock_set_source(fake_clock, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	clock_set_source(NULL, NULL);
	return 0;
}

static void test_kernel_state(void **state)
{
	static const struct {
		struct fake_kernel k;
		int want;
		const char *why;
	} cases[] = {
		{ { TIME_OK, 0, 1000, 100, 0 }, 0, NULL },
		{ { TIME_OK, 0, 1000000, 1000000, 0 }, 0, NULL },          /* exactly the accuracy: fine */
		{ { TIME_INS, STA_INS, 1000, 100, 0 }, 0, NULL },          /* leap second announced: fine */
		{ { TIME_WAIT, 0, 1000, 100, 0 }, 0, NULL },
		{ { TIME_ERROR, STA_UNSYNC, 16000000, 16000000, 0 }, VA_ERR_CLOCK, "clock not synchronised" },
		{ { TIME_OK, STA_UNSYNC, 1000, 100, 0 }, VA_ERR_CLOCK, "clock not synchronised" },
		{ { TIME_ERROR, 0, 1000, 100, 0 }, VA_ERR_CLOCK, "clock not synchronised" },
		{ { TIME_OOP, STA_INS, 1000, 100, 0 }, VA_ERR_CLOCK, "leap second in progress" },
		{ { TIME_OK, 0, 1000001, 100, 0 }, VA_ERR_CLOCK, "clock error larger than the declared accuracy" },
		{ { TIME_OK, 0, 1000, 1000001, 0 }, VA_ERR_CLOCK, "clock error larger than the declared accuracy" },
		{ { -1, 0, 0, 0, 0 }, VA_ERR_CLOCK, "cannot read the kernel clock state" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_kernel k = cases[i].k;
		tsa_clock *c = tsa_clock_new(1000, 1);
		struct timespec now;
		const char *why;

		tsa_clock_set_adjtimex(c, fake_adjtimex, &k);
		assert_int_equal(tsa_clock_read(c, &now, &why), cases[i].want);
		assert_int_equal(tsa_clock_check(c, &why), cases[i].want);
		if (cases[i].why != NULL)
			assert_string_equal(why, cases[i].why);
		else
			assert_int_equal(now.tv_sec, 1700000000);
		assert_int_equal(k.calls, 2);
		tsa_clock_free(c);
	}
}

static void test_not_required(void **state)
{
	struct fake_kernel k = { TIME_ERROR, STA_UNSYNC, 16000000, 16000000, 0 };
	tsa_clock *c = tsa_clock_new(1000, 0);
	struct timespec now;
	const char *why;

	(void)state;
	tsa_clock_set_adjtimex(c, fake_adjtimex, &k);
	assert_int_equal(tsa_clock_read(c, &now, &why), 0);
	assert_int_equal(k.calls, 0); /* not even read */
	tsa_clock_free(c);
	tsa_clock_free(NULL);
}

static void test_backwards_step(void **state)
{
	struct fake_kernel k = { TIME_OK, 0, 1000, 100, 0 };
	tsa_clock *c = tsa_clock_new(1000, 1);
	struct timespec now;
	const char *why;

	(void)state;
	tsa_clock_set_adjtimex(c, fake_adjtimex, &k);
	fake_now = (struct timespec){ 1700000010, 500000000 };
	assert_int_equal(tsa_clock_read(c, &now, &why), 0);
	/* back 0.9 s: within the accuracy */
	fake_now = (struct timespec){ 1700000009, 600000000 };
	assert_int_equal(tsa_clock_read(c, &now, &why), 0);
	assert_int_equal(now.tv_sec, 1700000009);
	/* back exactly the accuracy: still within */
	fake_now = (struct timespec){ 1700000009, 500000000 };
	assert_int_equal(tsa_clock_read(c, &now, &why), 0);
	/* back 5 s: refused, and readiness says so */
	fake_now = (struct timespec){ 1700000005, 500000000 };
	assert_int_equal(tsa_clock_read(c, &now, &why), VA_ERR_CLOCK);
	assert_string_equal(why, "clock stepped backwards");
	assert_int_equal(tsa_clock_check(c, &why), VA_ERR_CLOCK);
	/* still behind after 3 s */
	fake_now = (struct timespec){ 1700000008, 500000000 };
	assert_int_equal(tsa_clock_read(c, &now, &why), VA_ERR_CLOCK);
	/* caught up to within the accuracy: good again */
	fake_now = (struct timespec){ 1700000009, 600000000 };
	assert_int_equal(tsa_clock_check(c, &why), 0);
	assert_int_equal(tsa_clock_read(c, &now, &why), 0);
	/* checks do not move the high-water mark */
	fake_now = (struct timespec){ 1700000100, 0 };
	assert_int_equal(tsa_clock_check(c, &why), 0);
	fake_now = (struct timespec){ 1700000011, 0 };
	assert_int_equal(tsa_clock_read(c, &now, &why), 0);
	/* a new clock object (configuration reload) keeps the latest issued time */
	{
		tsa_clock *c2 = tsa_clock_new(1000, 0);

		tsa_clock_take_over(c2, c);
		fake_now = (struct timespec){ 1700000005, 0 };
		assert_int_equal(tsa_clock_read(c2, &now, &why), VA_ERR_CLOCK);
		tsa_clock_take_over(c2, NULL);
		tsa_clock_free(c2);
	}
	/* a leap second repeated by the kernel (1 s back) with a 100 ms accuracy pauses issuance */
	tsa_clock_free(c);
	c = tsa_clock_new(100, 0);
	fake_now = (struct timespec){ 1700000000, 900000000 };
	assert_int_equal(tsa_clock_read(c, &now, &why), 0);
	fake_now = (struct timespec){ 1699999999, 950000000 };
	assert_int_equal(tsa_clock_read(c, &now, &why), VA_ERR_CLOCK);
	fake_now = (struct timespec){ 1700000000, 850000000 };
	assert_int_equal(tsa_clock_read(c, &now, &why), 0);
	/* nonsense readings */
	fake_now = (struct timespec){ -5, 0 };
	assert_int_equal(tsa_clock_read(c, &now, &why), VA_ERR_CLOCK);
	fake_now = (struct timespec){ 1700000001, 1000000000 };
	assert_int_equal(tsa_clock_read(c, &now, &why), VA_ERR_CLOCK);
	tsa_clock_free(c);
}

static void test_kernel_default(void **state)
{
	/* The real ntp_adjtime: whatever the machine's state, read and check agree and nothing crashes. */
	tsa_clock *c = tsa_clock_new(1000, 1);
	struct timex tx = { 0 };
	struct timespec now;
	const char *why;
	int st = ntp_adjtime(&tx);
	int expect_bad = st == TIME_ERROR || (tx.status & STA_UNSYNC) || st == TIME_OOP || tx.maxerror > 1000000 ||
			 tx.esterror > 1000000;

	(void)state;
	tsa_clock_set_adjtimex(c, NULL, NULL);
	assert_int_equal(tsa_clock_read(c, &now, &why) != 0, expect_bad);
	tsa_clock_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kernel_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_required, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backwards_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_default, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
