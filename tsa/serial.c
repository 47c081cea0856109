/*
 * serial.c: serial numbers from durably reserved blocks (see serial.h).
 *
 * Invariants that make the lock-free fast path safe:
 *  - `next` only grows (fetch_add, and a CAS "raise to at least" when a block is installed), so no two
 *    fetch_adds in this process ever return the same value;
 *  - blocks only grow too (each reservation returns values above all earlier ones of the store counter);
 *  - a value is used only if it lies in [first, end) of a block this process reserved. A block is installed by
 *    writing end = 0, then first, then raising next, then end (release); a reader loads end (acquire), then
 *    first: if it sees the new end it also sees the new first, and a stale pair can only make it fail the check
 *    and take the slow path, never accept a value outside a reserved block.
 */
#include "serial.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "log.h"

/* Retries of the fast path after a block switch before giving up (only reachable when other threads drain whole
 * blocks faster than one thread can retry, i.e. never with sane block sizes; the bound keeps the loop finite). */
#define SERIAL_RETRIES 64

struct tsa_serial {
	_Atomic uint64_t next;
	_Atomic uint64_t first;
	_Atomic uint64_t end;
	_Atomic uint64_t reservations;
	uint64_t block;
	tsa_serial_reserve_fn reserve;
	void *reserve_arg;
	pthread_mutex_t mu;     /* guards the fields below */
	pthread_cond_t cv;      /* signalled when a reservation finishes */
	int reserving;          /* a reservation is under way (outside mu) */
	int have_pending;       /* a reserved block waits to be installed */
	uint64_t pending_first;
};

tsa_serial *tsa_serial_new(tsa_serial_reserve_fn reserve, void *reserve_arg, uint64_t block)
{
	tsa_serial *s;

	if (reserve == NULL || block < 2)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->reserve = reserve;
	s->reserve_arg = reserve_arg;
	s->block = block;
	atomic_init(&s->next, 0);
	atomic_init(&s->first, 0);
	atomic_init(&s->end, 0);
	atomic_init(&s->reservations, 0);
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s);
		return NULL;
	}
	if (pthread_cond_init(&s->cv, NULL) != 0) {
		pthread_mutex_destroy(&s->mu);
		free(s);
		return NULL;
	}
	return s;
}

void tsa_serial_free(tsa_serial *s)
{
	if (s == NULL)
		return;
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

uint64_t tsa_serial_reservations(const tsa_serial *s)
{
	return atomic_load((_Atomic uint64_t *)&s->reservations);
}

/* Called with mu held. */
static void install_block(tsa_serial *s, uint64_t first)
{
	uint64_t cur = atomic_load(&s->next);

	atomic_store_explicit(&s->end, 0, memory_order_release);
	atomic_store_explicit(&s->first, first, memory_order_release);
	while (cur < first && !atomic_compare_exchange_weak(&s->next, &cur, first))
		;
	atomic_store_explicit(&s->end, first + s->block, memory_order_release);
}

/* Reserves one block with mu held on entry and exit; mu is released during the store write. */
static int reserve_locked(tsa_serial *s, uint64_t *first)
{
	int rc;

	s->reserving = 1;
	pthread_mutex_unlock(&s->mu);
	rc = s->reserve(s->reserve_arg, s->block, first);
	pthread_mutex_lock(&s->mu);
	s->reserving = 0;
	pthread_cond_broadcast(&s->cv);
	if (rc == 0) {
		/* A counter that does not grow would hand out serials twice: refuse it. */
		if (*first == 0 || *first > UINT64_C(0x7fffffffffffffff) - s->block ||
		    *first < atomic_load(&s->end)) {
			log_err("tsa: serial reservation returned %llu, below the current block or out of range",
				(unsigned long long)*first);
			return VA_ERR_RANGE;
		}
		atomic_fetch_add(&s->reservations, 1);
	}
	return rc;
}

int tsa_serial_reserve_ahead(tsa_serial *s)
{
	uint64_t first;
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	if (!s->have_pending && !s->reserving) {
		rc = reserve_locked(s, &first);
		if (rc == 0) {
			s->pending_first = first;
			s->have_pending = 1;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Reserves the next block ahead of need; at most one reservation runs at a time. */
static void prefetch(tsa_serial *s)
{
	if (tsa_serial_reserve_ahead(s) != 0)
		log_warn("tsa: reserving the next serial block failed; will retry when the block is used up");
}

/* The current block is used up (as far as this thread saw): install the next one. */
static int switch_block(tsa_serial *s)
{
	uint64_t first;
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		uint64_t e = atomic_load(&s->end);

		/* next is never below the current block's first, so this means the block still has room
		 * (another thread installed it meanwhile, or this thread read a stale first/end pair). */
		if (e != 0 && atomic_load(&s->next) < e)
			break;
		if (s->have_pending) {
			s->have_pending = 0;
			install_block(s, s->pending_first);
			break;
		}
		if (s->reserving) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		rc = reserve_locked(s, &first);
		if (rc != 0)
			break;
		install_block(s, first);
		break;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Whether v lies in the current block (see the invariants at the top). */
static int in_block(tsa_serial *s, uint64_t v, uint64_t *first)
{
	uint64_t e = atomic_load_explicit(&s->end, memory_order_acquire);
	uint64_t f = atomic_load_explicit(&s->first, memory_order_acquire);

	*first = f;
	return v >= f && v < e;
}

int tsa_serial_next(tsa_serial *s, uint64_t *out)
{
	for (int i = 0; i < SERIAL_RETRIES; i++) {
		uint64_t f, v = atomic_fetch_add(&s->next, 1);
		int rc;

		if (!in_block(s, v, &f)) {
			rc = switch_block(s);
			if (rc != 0)
				return rc;
			/* v came from fetch_add, so it is ours alone: when blocks are contiguous it is the first
			 * value of the block just installed, and using it wastes nothing. */
			if (!in_block(s, v, &f))
				continue;
		}
		/* Exactly one value hits the half-way mark, so exactly one thread pays for the next
		 * reservation, and only once per block. */
		if (v == f + s->block / 2)
			prefetch(s);
		*out = v;
		return 0;
	}
	return VA_ERR_BUSY;
}
