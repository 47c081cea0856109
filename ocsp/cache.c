#include "cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#define CACHE_STRIPES 64

struct flight {
	int used;
	size_t key_len;
	uint8_t key[256];
};

struct ocsp_cache {
	struct ocsp_cache_entry **buckets;
	size_t nbuckets;       /* power of two */
	size_t max_entries;
	atomic_size_t count;
	atomic_uint_fast64_t epoch;
	pthread_rwlock_t locks[CACHE_STRIPES];

	pthread_mutex_t flight_mu;
	pthread_cond_t flight_cv;
	struct flight *flights;
	unsigned max_flight, nflight;
};

/* FNV-1a: the keys are hashes and serials already, so a simple mix spreads them well. */
static void http_date(int64_t t, char *out, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, len, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		out[0] = 0;
}

static uint64_t key_hash(const uint8_t *k, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= k[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

ocsp_cache *ocsp_cache_new(size_t max_entries, unsigned max_flight)
{
	ocsp_cache *c;
	size_t nb = 1024;

	if (max_entries == 0 || max_flight == 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	while (nb < max_entries && nb < ((size_t)1 << 26))
		nb <<= 1;
	c->buckets = calloc(nb, sizeof(*c->buckets));
	c->flights = calloc(max_flight, sizeof(*c->flights));
	if (c->buckets == NULL || c->flights == NULL) {
		free(c->buckets);
		free(c->flights);
		free(c);
		return NULL;
	}
	c->nbuckets = nb;
	c->max_entries = max_entries;
	c->max_flight = max_flight;
	atomic_init(&c->count, 0);
	atomic_init(&c->epoch, 1);
	for (int i = 0; i < CACHE_STRIPES; i++)
		pthread_rwlock_init(&c->locks[i], NULL);
	pthread_mutex_init(&c->flight_mu, NULL);
	pthread_cond_init(&c->flight_cv, NULL);
	return c;
}

void ocsp_cache_free(ocsp_cache *c)
{
	if (c == NULL)
		return;
	ocsp_cache_clear(c);
	for (int i = 0; i < CACHE_STRIPES; i++)
		pthread_rwlock_destroy(&c->locks[i]);
	pthread_mutex_destroy(&c->flight_mu);
	pthread_cond_destroy(&c->flight_cv);
	free(c->buckets);
	free(c->flights);
	free(c);
}

struct ocsp_cache_entry *ocsp_cache_entry_new(const uint8_t *key, size_t key_len, const uint8_t *der,
					      size_t der_len, int64_t this_update, int64_t next_update,
					      int64_t refresh_at)
{
	struct ocsp_cache_entry *e;
	uint8_t md[SHA256_DIGEST_LENGTH];

	if (key_len == 0 || key_len > 4096 || der_len == 0 || der_len > (1u << 24))
		return NULL;
	e = malloc(sizeof(*e) + key_len + der_len);
	if (e == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	atomic_init(&e->refs, 1);
	e->key = e->data;
	e->der = e->data + key_len;
	memcpy(e->key, key, key_len);
	memcpy(e->der, der, der_len);
	e->key_len = key_len;
	e->der_len = der_len;
	e->hash = key_hash(key, key_len);
	e->this_update = this_update;
	e->next_update = next_update;
	e->refresh_at = refresh_at;
	/* RFC 5019 6.2 / RFC 9110 8.8.3: a strong validator derived from the exact bytes served. */
	SHA256(der, der_len, md);
	static const char hex[] = "0123456789abcdef";
	e->etag[0] = '"';
	for (int i = 0; i < 10; i++) {
		e->etag[1 + 2 * i] = hex[md[i] >> 4];
		e->etag[2 + 2 * i] = hex[md[i] & 15];
	}
	e->etag[21] = '"';
	e->etag[22] = 0;
	/* Formatted here, once, so the hit path only copies them. */
	http_date(this_update, e->last_modified, sizeof(e->last_modified));
	http_date(next_update, e->expires, sizeof(e->expires));
	return e;
}

void ocsp_cache_entry_put(struct ocsp_cache_entry *e)
{
	if (e == NULL)
		return;
	if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1)
		free(e);
}

void ocsp_cache_entry_release(void *e)
{
	ocsp_cache_entry_put(e);
}

static pthread_rwlock_t *stripe(ocsp_cache *c, size_t bucket)
{
	return &c->locks[bucket & (CACHE_STRIPES - 1)];
}

static struct ocsp_cache_entry *cache_lookup(ocsp_cache *c, const uint8_t *key, size_t key_len, int64_t now,
					     int stale_ok)
{
	uint64_t h = key_hash(key, key_len);
	size_t b = h & (c->nbuckets - 1);
	struct ocsp_cache_entry *e, *found = NULL;

	pthread_rwlock_rdlock(stripe(c, b));
	for (e = c->buckets[b]; e != NULL; e = e->next) {
		if (e->hash == h && e->key_len == key_len && memcmp(e->key, key, key_len) == 0) {
			if ((now < e->refresh_at || (stale_ok && now < e->next_update)) && now >= e->this_update - 300) {
				atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
				found = e;
			}
			break;
		}
	}
	pthread_rwlock_unlock(stripe(c, b));
	return found;
}

struct ocsp_cache_entry *ocsp_cache_get(ocsp_cache *c, const uint8_t *key, size_t key_len, int64_t now)
{
	return cache_lookup(c, key, key_len, now, 0);
}

struct ocsp_cache_entry *ocsp_cache_get_valid(ocsp_cache *c, const uint8_t *key, size_t key_len, int64_t now)
{
	return cache_lookup(c, key, key_len, now, 1);
}

uint64_t ocsp_cache_epoch(ocsp_cache *c)
{
	return atomic_load(&c->epoch);
}

int ocsp_cache_insert(ocsp_cache *c, struct ocsp_cache_entry *e, uint64_t epoch)
{
	size_t b = e->hash & (c->nbuckets - 1);
	struct ocsp_cache_entry **pp, *old = NULL, *evicted = NULL;
	int inserted = 0;

	pthread_rwlock_wrlock(stripe(c, b));
	/* A removal since the caller read the status may concern this certificate: do not cache (the removal's
	 * epoch bump happens before it takes this lock, so one of the two always sees the other). */
	if (atomic_load(&c->epoch) != epoch)
		goto out;
	for (pp = &c->buckets[b]; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->hash == e->hash && (*pp)->key_len == e->key_len &&
		    memcmp((*pp)->key, e->key, e->key_len) == 0) {
			old = *pp;
			*pp = old->next;
			atomic_fetch_sub(&c->count, 1);
			break;
		}
	}
	/* Bounded memory: at the cap, make room by dropping this bucket's chain (cheap, and spreads evenly). */
	if (atomic_load(&c->count) >= c->max_entries) {
		evicted = c->buckets[b];
		c->buckets[b] = NULL;
		for (struct ocsp_cache_entry *x = evicted; x != NULL; x = x->next)
			atomic_fetch_sub(&c->count, 1);
		if (atomic_load(&c->count) >= c->max_entries)
			goto out;
	}
	atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
	e->next = c->buckets[b];
	c->buckets[b] = e;
	atomic_fetch_add(&c->count, 1);
	inserted = 1;
out:
	pthread_rwlock_unlock(stripe(c, b));
	ocsp_cache_entry_put(old);
	while (evicted != NULL) {
		struct ocsp_cache_entry *n = evicted->next;

		ocsp_cache_entry_put(evicted);
		evicted = n;
	}
	return inserted;
}

void ocsp_cache_remove(ocsp_cache *c, const uint8_t *key, size_t key_len)
{
	uint64_t h = key_hash(key, key_len);
	size_t b = h & (c->nbuckets - 1);
	struct ocsp_cache_entry **pp, *old = NULL;

	atomic_fetch_add(&c->epoch, 1);
	pthread_rwlock_wrlock(stripe(c, b));
	for (pp = &c->buckets[b]; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->hash == h && (*pp)->key_len == key_len && memcmp((*pp)->key, key, key_len) == 0) {
			old = *pp;
			*pp = old->next;
			atomic_fetch_sub(&c->count, 1);
			break;
		}
	}
	pthread_rwlock_unlock(stripe(c, b));
	ocsp_cache_entry_put(old);
}

void ocsp_cache_clear(ocsp_cache *c)
{
	atomic_fetch_add(&c->epoch, 1);
	for (size_t b = 0; b < c->nbuckets; b++) {
		struct ocsp_cache_entry *list;

		pthread_rwlock_wrlock(stripe(c, b));
		list = c->buckets[b];
		c->buckets[b] = NULL;
		for (struct ocsp_cache_entry *x = list; x != NULL; x = x->next)
			atomic_fetch_sub(&c->count, 1);
		pthread_rwlock_unlock(stripe(c, b));
		while (list != NULL) {
			struct ocsp_cache_entry *n = list->next;

			ocsp_cache_entry_put(list);
			list = n;
		}
	}
}

size_t ocsp_cache_count(ocsp_cache *c)
{
	return atomic_load(&c->count);
}

static int flight_find(ocsp_cache *c, const uint8_t *key, size_t key_len)
{
	for (unsigned i = 0; i < c->max_flight; i++)
		if (c->flights[i].used && c->flights[i].key_len == key_len && key_len > 0 &&
		    memcmp(c->flights[i].key, key, key_len) == 0)
			return (int)i;
	return -1;
}

int ocsp_cache_flight_begin(ocsp_cache *c, const uint8_t *key, size_t key_len, unsigned wait_ms)
{
	int rc;

	if (key_len > sizeof(c->flights[0].key))
		return VA_ERR_INVAL;
	if (key == NULL)
		key_len = 0;
	pthread_mutex_lock(&c->flight_mu);
	if (key_len > 0 && flight_find(c, key, key_len) >= 0) {
		struct timespec dl;

		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += wait_ms / 1000;
		dl.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		while (flight_find(c, key, key_len) >= 0)
			if (pthread_cond_timedwait(&c->flight_cv, &c->flight_mu, &dl) == ETIMEDOUT)
				break;
		rc = 0;
		goto out;
	}
	if (c->nflight >= c->max_flight) {
		rc = VA_ERR_BUSY;
		goto out;
	}
	for (unsigned i = 0; i < c->max_flight; i++) {
		if (!c->flights[i].used) {
			c->flights[i].used = 1;
			c->flights[i].key_len = key_len;
			if (key_len)
				memcpy(c->flights[i].key, key, key_len);
			break;
		}
	}
	c->nflight++;
	rc = 1;
out:
	pthread_mutex_unlock(&c->flight_mu);
	return rc;
}

void ocsp_cache_flight_end(ocsp_cache *c, const uint8_t *key, size_t key_len)
{
	pthread_mutex_lock(&c->flight_mu);
	if (key == NULL)
		key_len = 0;
	for (unsigned i = 0; i < c->max_flight; i++) {
		struct flight *f = &c->flights[i];

		if (f->used && f->key_len == key_len && (key_len == 0 || memcmp(f->key, key, key_len) == 0)) {
			f->used = 0;
			c->nflight--;
			break;
		}
	}
	pthread_cond_broadcast(&c->flight_cv);
	pthread_mutex_unlock(&c->flight_mu);
}
