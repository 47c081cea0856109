/*
 * test_tsa_serial.c: serial blocks: uniqueness under concurrency, across allocators sharing one counter (several
 * tsad on one store), reservation failures, a counter that goes backwards.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../tsa/serial.h"

/* An in-memory stand-in for store_counter_reserve, recording every block it hands out. */
struct counter {
	pthread_mutex_t mu;
	uint64_t next;
	int fail;             /* next reservations fail */
	int go_back;          /* next reservation returns an old value */
	unsigned delay_us;    /* simulated disk sync */
	uint64_t firsts[4096];
	uint64_t counts[4096];
	size_t n;
};

static void counter_init(struct counter *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	c->next = 1;
}

static int reserve(void *arg, uint64_t count, uint64_t *first)
{
	struct counter *c = arg;
	int rc = 0;

	if (c->delay_us)
		usleep(c->delay_us);
	pthread_mutex_lock(&c->mu);
	if (c->fail) {
		rc = VA_ERR_STORE;
	} else if (c->go_back) {
		*first = 1;
	} else {
		*first = c->next;
		c->next += count;
		if (c->n < 4096) {
			c->firsts[c->n] = *first;
			c->counts[c->n++] = count;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

static int in_reserved(const struct counter *c, uint64_t v)
{
	for (size_t i = 0; i < c->n; i++)
		if (v >= c->firsts[i] && v < c->firsts[i] + c->counts[i])
			return 1;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_sequential(void **state)
{
	struct counter c;
	tsa_serial *s;
	uint64_t v, prev = 0;

	(void)state;
	counter_init(&c);
	s = tsa_serial_new(reserve, &c, 4);
	assert_non_null(s);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(tsa_serial_next(s, &v), 0);
		assert_int_equal(v, (uint64_t)i + 1); /* one allocator, contiguous blocks: nothing wasted */
		assert_true(v > prev);
		assert_true(in_reserved(&c, v));
		prev = v;
	}
	/* 100 values in blocks of 4: 25 blocks, the next one possibly reserved ahead */
	assert_true(tsa_serial_reservations(s) >= 25 && tsa_serial_reservations(s) <= 26);
	assert_int_equal(tsa_serial_reservations(s), c.n);
	tsa_serial_free(s);
	tsa_serial_free(NULL);
	assert_null(tsa_serial_new(reserve, &c, 1));
	assert_null(tsa_serial_new(NULL, &c, 16));
}

struct worker {
	tsa_serial *s;
	uint64_t *out;
	size_t n;
	int rc;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	for (size_t i = 0; i < w->n; i++) {
		w->rc = tsa_serial_next(w->s, &w->out[i]);
		if (w->rc != 0)
			break;
	}
	return NULL;
}

#define THREADS 8
#define PER_THREAD 20000

/* Two allocators on one counter (two processes on one store), four threads each, small blocks so that block
 * switches race with the fast path all the time. */
static void test_concurrent_unique(void **state)
{
	struct counter *c = malloc(sizeof(*c));
	tsa_serial *s[2];
	pthread_t th[THREADS];
	struct worker w[THREADS];
	uint64_t *all = calloc((size_t)THREADS * PER_THREAD, sizeof(uint64_t));
	size_t total = (size_t)THREADS * PER_THREAD;

	(void)state;
	assert_non_null(c);
	assert_non_null(all);
	counter_init(c);
	c->delay_us = 50;
	s[0] = tsa_serial_new(reserve, c, 64);
	s[1] = tsa_serial_new(reserve, c, 64);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ s[i % 2], all + (size_t)i * PER_THREAD, PER_THREAD, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].rc, 0);
	}
	qsort(all, total, sizeof(all[0]), cmp_u64);
	for (size_t i = 0; i < total; i++) {
		assert_true(all[i] > 0);
		if (i > 0)
			assert_true(all[i] != all[i - 1]);
	}
	for (size_t i = 0; i < total; i += 97)
		assert_true(in_reserved(c, all[i]));
	assert_true(in_reserved(c, all[total - 1]));
	tsa_serial_free(s[0]);
	tsa_serial_free(s[1]);
	free(all);
	free(c);
}

static void test_reserve_failure(void **state)
{
	struct counter c;
	tsa_serial *s;
	uint64_t v, last = 0;
	int got = 0;

	(void)state;
	counter_init(&c);
	s = tsa_serial_new(reserve, &c, 8);
	c.fail = 1;
	assert_int_equal(tsa_serial_next(s, &v), VA_ERR_STORE);
	c.fail = 0;
	assert_int_equal(tsa_serial_next(s, &v), 0);
	assert_int_equal(v, 1);
	/* the store fails while a block is in use: the block is used up, then the error surfaces */
	c.fail = 1;
	for (int i = 0; i < 20; i++) {
		if (tsa_serial_next(s, &v) != 0)
			break;
		last = v;
		got++;
	}
	assert_int_equal(got, 7);
	assert_int_equal(last, 8);
	/* a retry ahead of traffic: the next call finds the block waiting, without touching the store */
	assert_int_equal(tsa_serial_reserve_ahead(s), VA_ERR_STORE);
	c.fail = 0;
	assert_int_equal(tsa_serial_reserve_ahead(s), 0);
	assert_int_equal(tsa_serial_reserve_ahead(s), 0); /* one is waiting already: no new reservation */
	{
		uint64_t before = tsa_serial_reservations(s);

		c.fail = 1;
		assert_int_equal(tsa_serial_next(s, &v), 0);
		assert_int_equal(tsa_serial_reservations(s), before);
		c.fail = 0;
	}
	assert_true(v > last);
	assert_true(in_reserved(&c, v));
	tsa_serial_free(s);
}

static void test_counter_going_back(void **state)
{
	struct counter c;
	tsa_serial *s;
	uint64_t v;
	int rc = 0;

	(void)state;
	counter_init(&c);
	s = tsa_serial_new(reserve, &c, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(tsa_serial_next(s, &v), 0);
	/* a store that hands out an old block would make duplicates: refused */
	c.go_back = 1;
	for (int i = 0; i < 8 && rc == 0; i++)
		rc = tsa_serial_next(s, &v);
	assert_int_equal(rc, VA_ERR_RANGE);
	tsa_serial_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequential),
		cmocka_unit_test(test_concurrent_unique),
		cmocka_unit_test(test_reserve_failure),
		cmocka_unit_test(test_counter_going_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
