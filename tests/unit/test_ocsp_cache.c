/* The signed-response cache: hits by reference, refresh point, epoch-ordered invalidation, bounded size, single
 * flight under threads, and the in-flight bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "../../ocsp/cache.h"

static struct ocsp_cache_entry *mk(const char *key, const char *der, int64_t tu)
{
	return ocsp_cache_entry_new((const uint8_t *)key, strlen(key), (const uint8_t *)der, strlen(der), tu,
				    tu + 100, tu + 50);
}

static void test_hit_refcount_refresh(void **state)
{
	ocsp_cache *c = ocsp_cache_new(100, 4);
	struct ocsp_cache_entry *e = mk("k1", "response-1", 1000), *g;

	assert_non_null(c);
	assert_null(ocsp_cache_get(c, (const uint8_t *)"k1", 2, 1000));
	assert_int_equal(ocsp_cache_insert(c, e, ocsp_cache_epoch(c)), 1);
	assert_int_equal(atomic_load(&e->refs), 2);
	g = ocsp_cache_get(c, (const uint8_t *)"k1", 2, 1010);
	assert_ptr_equal(g, e);
	assert_int_equal(atomic_load(&e->refs), 3);
	assert_memory_equal(g->der, "response-1", 10);
	assert_int_equal(g->etag[0], '"');
	assert_int_equal(strlen(g->etag), 22);
	ocsp_cache_entry_put(g);
	/* Another key of the same length does not hit. */
	assert_null(ocsp_cache_get(c, (const uint8_t *)"k2", 2, 1010));
	/* At the refresh point the entry no longer counts as fresh, but stays usable until nextUpdate. */
	assert_null(ocsp_cache_get(c, (const uint8_t *)"k1", 2, 1050));
	g = ocsp_cache_get_valid(c, (const uint8_t *)"k1", 2, 1099);
	assert_ptr_equal(g, e);
	ocsp_cache_entry_put(g);
	assert_null(ocsp_cache_get_valid(c, (const uint8_t *)"k1", 2, 1100));
	assert_null(ocsp_cache_get_valid(c, (const uint8_t *)"k2", 2, 1010));
	/* Replacing an entry drops the old one's cache reference. */
	struct ocsp_cache_entry *e2 = mk("k1", "response-2", 1040);
	assert_int_equal(ocsp_cache_insert(c, e2, ocsp_cache_epoch(c)), 1);
	assert_int_equal(atomic_load(&e->refs), 1);
	g = ocsp_cache_get(c, (const uint8_t *)"k1", 2, 1050);
	assert_ptr_equal(g, e2);
	ocsp_cache_entry_release(g);
	assert_int_equal(ocsp_cache_count(c), 1);
	ocsp_cache_entry_put(e);
	/* Freeing the cache while a reader holds an entry: the entry lives on. */
	g = ocsp_cache_get(c, (const uint8_t *)"k1", 2, 1050);
	ocsp_cache_entry_put(e2);
	ocsp_cache_free(c);
	assert_memory_equal(g->der, "response-2", 10);
	ocsp_cache_entry_put(g);
	ocsp_cache_entry_put(NULL);
	ocsp_cache_free(NULL);
}

/* A removal between reading the status and inserting the signed answer must win. */
static void test_epoch_invalidation(void **state)
{
	ocsp_cache *c = ocsp_cache_new(100, 4);
	uint64_t epoch = ocsp_cache_epoch(c);
	struct ocsp_cache_entry *e = mk("cert", "good", 1000), *g;

	ocsp_cache_remove(c, (const uint8_t *)"cert", 4); /* the change log said: revoked */
	assert_int_equal(ocsp_cache_insert(c, e, epoch), 0);
	assert_null(ocsp_cache_get(c, (const uint8_t *)"cert", 4, 1000));
	assert_int_equal(ocsp_cache_insert(c, e, ocsp_cache_epoch(c)), 1);
	g = ocsp_cache_get(c, (const uint8_t *)"cert", 4, 1000);
	assert_ptr_equal(g, e);
	ocsp_cache_entry_put(g);
	ocsp_cache_remove(c, (const uint8_t *)"cert", 4);
	assert_null(ocsp_cache_get(c, (const uint8_t *)"cert", 4, 1000));
	assert_int_equal(ocsp_cache_count(c), 0);
	assert_int_equal(atomic_load(&e->refs), 1);
	ocsp_cache_entry_put(e);
	ocsp_cache_free(c);
}

static void test_bounded_and_clear(void **state)
{
	ocsp_cache *c = ocsp_cache_new(50, 4);
	char key[32];

	for (int i = 0; i < 5000; i++) {
		struct ocsp_cache_entry *e;

		snprintf(key, sizeof(key), "key-%d", i);
		e = mk(key, "der", 1000);
		ocsp_cache_insert(c, e, ocsp_cache_epoch(c));
		ocsp_cache_entry_put(e);
		assert_true(ocsp_cache_count(c) <= 50);
	}
	assert_true(ocsp_cache_count(c) > 0);
	ocsp_cache_clear(c);
	assert_int_equal(ocsp_cache_count(c), 0);
	/* Bad arguments. */
	assert_null(ocsp_cache_new(0, 4));
	assert_null(ocsp_cache_new(4, 0));
	assert_null(ocsp_cache_entry_new((const uint8_t *)"k", 0, (const uint8_t *)"d", 1, 0, 0, 0));
	assert_null(ocsp_cache_entry_new((const uint8_t *)"k", 1, (const uint8_t *)"d", 0, 0, 0, 0));
	ocsp_cache_free(c);
}

struct sf {
	ocsp_cache *c;
	atomic_int produced, served, busy;
};

/* What the responder does on a miss: look up, else become the one signer or wait for it. */
static void *sf_worker(void *arg)
{
	struct sf *s = arg;

	for (int attempt = 0; attempt < 3; attempt++) {
		struct ocsp_cache_entry *e = ocsp_cache_get(s->c, (const uint8_t *)"same", 4, 1000);
		int rc;

		if (e != NULL) {
			atomic_fetch_add(&s->served, 1);
			ocsp_cache_entry_put(e);
			return NULL;
		}
		rc = ocsp_cache_flight_begin(s->c, (const uint8_t *)"same", 4, 5000);
		if (rc == VA_ERR_BUSY) {
			atomic_fetch_add(&s->busy, 1);
			return NULL;
		}
		if (rc == 0)
			continue;
		uint64_t ep = ocsp_cache_epoch(s->c);
		usleep(100000); /* a slow signature */
		e = mk("same", "signed", 1000);
		atomic_fetch_add(&s->produced, 1);
		ocsp_cache_insert(s->c, e, ep);
		ocsp_cache_flight_end(s->c, (const uint8_t *)"same", 4);
		atomic_fetch_add(&s->served, 1);
		ocsp_cache_entry_put(e);
		return NULL;
	}
	return NULL;
}

static void test_single_flight(void **state)
{
	struct sf s = { .c = ocsp_cache_new(100, 8) };
	pthread_t th[16];

	for (int i = 0; i < 16; i++)
		pthread_create(&th[i], NULL, sf_worker, &s);
	for (int i = 0; i < 16; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&s.produced), 1);
	assert_int_equal(atomic_load(&s.served), 16);
	assert_int_equal(atomic_load(&s.busy), 0);
	ocsp_cache_free(s.c);
}

static void test_flight_bound(void **state)
{
	ocsp_cache *c = ocsp_cache_new(100, 2);

	assert_int_equal(ocsp_cache_flight_begin(c, NULL, 0, 0), 1);
	assert_int_equal(ocsp_cache_flight_begin(c, (const uint8_t *)"a", 1, 0), 1);
	/* Full: a third signature is refused (tryLater), not queued. */
	assert_int_equal(ocsp_cache_flight_begin(c, (const uint8_t *)"b", 1, 0), VA_ERR_BUSY);
	assert_int_equal(ocsp_cache_flight_begin(c, NULL, 0, 0), VA_ERR_BUSY);
	/* The same key waits (here: times out at once) instead of signing twice. */
	assert_int_equal(ocsp_cache_flight_begin(c, (const uint8_t *)"a", 1, 10), 0);
	ocsp_cache_flight_end(c, NULL, 0);
	assert_int_equal(ocsp_cache_flight_begin(c, (const uint8_t *)"b", 1, 0), 1);
	ocsp_cache_flight_end(c, (const uint8_t *)"a", 1);
	ocsp_cache_flight_end(c, (const uint8_t *)"b", 1);
	assert_int_equal(ocsp_cache_flight_begin(c, (const uint8_t *)"a", 1, 0), 1);
	ocsp_cache_flight_end(c, (const uint8_t *)"a", 1);
	ocsp_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_refcount_refresh),
		cmocka_unit_test(test_epoch_invalidation),
		cmocka_unit_test(test_bounded_and_clear),
		cmocka_unit_test(test_single_flight),
		cmocka_unit_test(test_flight_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
