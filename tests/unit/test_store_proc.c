/*
 * test_store_proc.c: the store shared by processes. Every process forks before it opens the store.
 *  - a reader process walking snapshots while a writer process revokes pairs of certificates in single
 *    transactions never sees one of a pair revoked without the other, in the certificates or in the revoked
 *    index;
 *  - a writer killed with SIGKILL in the middle of a large import (inside an open write transaction) leaves a
 *    store that opens, passes store_check and holds whole batches only; importing again completes it with the
 *    exact final content;
 *  - the map grows from 64 KiB to many MiB while a reader process holds the environment open, and that reader
 *    adopts the new size and reads what was written past its old map;
 *  - the revoked index rebuilt again and again (vactl reindex) while a reader process walks it: every walk
 *    lists the whole index, never an emptied or half-filled one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "store.h"
#include "test_store_lib.h"

struct fx {
	char top[256];
	char dir[300];
	uint32_t ca;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t *der;
	size_t len;
	int err;
	store *st;

	assert_non_null(f);
	tsl_mkdtemp(f->top, sizeof(f->top));
	snprintf(f->dir, sizeof(f->dir), "%s/st", f->top);
	st = store_open(f->dir, STORE_RDWR | STORE_CREATE, 64 * 1024, &err);
	assert_non_null(st);
	assert_int_equal(tsl_make_ca("Proc CA", &der, &len), 0);
	assert_int_equal(store_issuer_add(st, "ca1", der, len, &f->ca), 0);
	free(der);
	store_close(st);
	alarm(120); /* a hung child or parent fails the test run instead of blocking it */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	alarm(0);
	tsl_rmtree(f->top);
	free(f);
	return 0;
}

static void write_byte(int fd, char c)
{
	while (write(fd, &c, 1) < 0 && errno == EINTR)
		;
}

static int read_byte(int fd)
{
	char c;
	ssize_t n;

	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? c : -1;
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

/* ---- atomic pairs ---- */

#define PAIRS 150

struct pair_scan {
	int status[2 * PAIRS];
	int n;
};

static int pair_collect(void *arg, const struct store_serial *s, const struct store_cert_rec *rec)
{
	struct pair_scan *p = arg;
	uint64_t v = 0;

	for (size_t i = 0; i < s->len; i++)
		v = (v << 8) | s->mag[i];
	if (v < 1 || v > 2 * PAIRS)
		return -1;
	p->status[v - 1] = rec->status;
	p->n++;
	return 0;
}

/* Child: walks snapshots until told to stop; exit 0 when every snapshot had whole pairs and it saw some state
 * between none and all. */
static int pair_reader(const char *dir, uint32_t ca, int ready_fd, int stop_fd)
{
	int err, last_revoked = -1, saw_middle = 0;
	store *st = store_open(dir, STORE_RDONLY, 0, &err);
	struct pollfd pfd = { .fd = stop_fd, .events = POLLIN };

	if (st == NULL)
		return 10;
	write_byte(ready_fd, 'r');
	for (;;) {
		int stop = poll(&pfd, 1, 0) > 0;
		struct pair_scan p = { .n = 0 };
		int revoked = 0;
		if (store_cert_foreach(st, ca, 0, pair_collect, &p) != 0 || p.n != 2 * PAIRS)
			return 11;
		for (int i = 0; i < PAIRS; i++) {
			if (p.status[2 * i] != p.status[2 * i + 1]) {
				fprintf(stderr, "pair %d half-applied\n", i);
				return 12;
			}
			revoked += p.status[2 * i] == STORE_REVOKED;
		}
		if (revoked < last_revoked)
			return 13; /* snapshots never go back in time */
		/* The revoked index is written in the same transactions: through it, pairs are whole too. */
		struct pair_scan q = { .n = 0 };
		if (store_revoked_foreach(st, ca, pair_collect, &q) != 0)
			return 16;
		for (int i = 0; i < 2 * PAIRS; i += 2)
			if (q.status[i] != q.status[i + 1]) {
				fprintf(stderr, "pair %d half-listed in the revoked index\n", i / 2);
				return 17;
			}
		if (q.n < 2 * revoked)
			return 18; /* a later snapshot lists at least what an earlier one had revoked */
		last_revoked = revoked;
		if (revoked > 0 && revoked < PAIRS)
			saw_middle = 1;
		if (stop)
			break;
	}
	store_close(st);
	if (last_revoked != PAIRS)
		return 14;
	return saw_middle ? 0 : 15;
}

static void test_reader_sees_whole_pairs(void **state)
{
	struct fx *f = *state;
	int ready[2], stop[2], err;
	pid_t pid;
	store *st;
	store_batch *b;

	/* The certificates exist before the reader starts. */
	st = store_open(f->dir, STORE_RDWR, 0, &err);
	assert_non_null(st);
	b = store_batch_begin(st, &err);
	for (uint64_t i = 1; i <= 2 * PAIRS; i++) {
		struct store_serial s = tsl_serial(i);
		struct store_cert_rec r = tsl_good(1900000000);
		assert_int_equal(store_batch_put(b, f->ca, &s, &r), 0);
	}
	assert_int_equal(store_batch_end(b, 1), 0);
	store_close(st);

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(stop), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		close(stop[1]);
		_exit(pair_reader(f->dir, f->ca, ready[1], stop[0]));
	}
	close(ready[1]);
	close(stop[0]);
	assert_int_equal(read_byte(ready[0]), 'r');

	st = store_open(f->dir, STORE_RDWR, 0, &err);
	assert_non_null(st);
	for (uint64_t i = 0; i < PAIRS; i++) {
		/* Both revocations of a pair in one transaction. */
		struct store_serial a = tsl_serial(2 * i + 1), c = tsl_serial(2 * i + 2);
		struct store_cert_rec r = tsl_revoked(1900000000, STORE_REASON_KEY_COMPROMISE, 1700000000 + (int64_t)i);
		b = store_batch_begin(st, &err);
		assert_non_null(b);
		assert_int_equal(store_batch_put(b, f->ca, &a, &r), 0);
		assert_int_equal(store_batch_put(b, f->ca, &c, &r), 0);
		assert_int_equal(store_batch_end(b, 1), 0);
	}
	store_close(st);
	write_byte(stop[1], 's');
	int status = wait_child(pid);
	close(ready[0]);
	close(stop[1]);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- SIGKILL in the middle of an import ---- */

#define IMPORT_N 200000
#define KILL_AT (5 * LIM_STORE_BATCH + LIM_STORE_BATCH / 2)

static struct store_cert_rec import_rec(uint64_t i)
{
	if (i % 7 == 3)
		return tsl_revoked(1900000000 + (int64_t)(i % 1000), STORE_REASON_SUPERSEDED,
				   1700000000 + (int64_t)i);
	if (i % 101 == 5)
		return tsl_revoked(1900000000, STORE_REASON_CERTIFICATE_HOLD, 1700000000 + (int64_t)i);
	return tsl_good(1900000000 + (int64_t)(i % 1000));
}

static int count_listed(void *arg, const struct store_serial *s, const struct store_cert_rec *rec)
{
	(void)s;
	*(uint64_t *)arg += rec->status != STORE_GOOD;
	return 0;
}

/* Child: imports, and once KILL_AT records are in (5 batches committed, half of the 6th written in the open
 * transaction) it says so and waits to be killed. */
static int import_child(const char *dir, uint32_t ca, int ready_fd, int block_fd)
{
	int err;
	store *st = store_open(dir, STORE_RDWR, 0, &err);
	store_batch *b;

	if (st == NULL)
		return 10;
	b = store_batch_begin(st, &err);
	if (b == NULL)
		return 11;
	for (uint64_t i = 0; i < IMPORT_N; i++) {
		struct store_serial s = tsl_serial_rand(42, i);
		struct store_cert_rec r = import_rec(i);
		if (store_batch_put(b, ca, &s, &r) != 0)
			return 12;
		if (i + 1 == KILL_AT) {
			write_byte(ready_fd, 'k');
			(void)read_byte(block_fd); /* never returns: the parent kills us here */
			return 13;
		}
	}
	return 14;
}

static void test_sigkill_during_import(void **state)
{
	struct fx *f = *state;
	int ready[2], block[2], err, added = 0, existed = 0;
	pid_t pid;
	store *st;
	store_batch *b;
	struct store_stats stats;
	uint64_t last;
	uint64_t want_revoked = 0, want_hold = 0;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(block), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		close(block[1]);
		_exit(import_child(f->dir, f->ca, ready[1], block[0]));
	}
	close(ready[1]);
	close(block[0]);
	assert_int_equal(read_byte(ready[0]), 'k');
	assert_int_equal(kill(pid, SIGKILL), 0);
	int status = wait_child(pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	close(ready[0]);
	close(block[1]);

	/* The dead writer held LMDB's writer lock and a reader slot: opening recovers both. */
	st = store_open(f->dir, STORE_RDWR, 0, &err);
	assert_non_null(st);
	assert_int_equal(err, 0);
	assert_int_equal(store_check(st), 0);
	assert_int_equal(store_stats_get(st, &stats), 0);
	assert_int_equal(stats.certs, 5 * LIM_STORE_BATCH); /* whole batches only */
	uint64_t listed_killed = 0;
	assert_int_equal(store_revoked_foreach(st, f->ca, count_listed, &listed_killed), 0);
	assert_int_equal(listed_killed, stats.revoked + stats.hold); /* the index holds whole batches too */
	assert_int_equal(stats.changes, 5 * LIM_STORE_BATCH + 1);
	for (uint64_t i = 0; i < 5 * LIM_STORE_BATCH; i += 997) {
		struct store_serial s = tsl_serial_rand(42, i);
		struct store_cert_rec r, want = import_rec(i);
		assert_int_equal(store_cert_get(st, f->ca, &s, &r), 0);
		assert_int_equal(r.status, want.status);
	}
	struct store_serial unseen = tsl_serial_rand(42, KILL_AT - 1);
	struct store_cert_rec r;
	assert_int_equal(store_cert_get(st, f->ca, &unseen, &r), VA_ERR_NOTFOUND);

	/* Importing again completes it. */
	b = store_batch_begin(st, &err);
	assert_non_null(b);
	for (uint64_t i = 0; i < IMPORT_N; i++) {
		struct store_serial s = tsl_serial_rand(42, i);
		struct store_cert_rec rec = import_rec(i);
		int rc = store_batch_put(b, f->ca, &s, &rec);
		if (rc == 0)
			added++;
		else if (rc == VA_ERR_EXISTS)
			existed++;
		else
			fail_msg("put %llu: %d", (unsigned long long)i, rc);
		want_revoked += rec.status == STORE_REVOKED;
		want_hold += rec.status == STORE_HOLD;
	}
	assert_int_equal(store_batch_end(b, 1), 0);
	assert_int_equal(existed, 5 * LIM_STORE_BATCH);
	assert_int_equal(added, IMPORT_N - 5 * LIM_STORE_BATCH);

	/* Exact final content. */
	assert_int_equal(store_stats_get(st, &stats), 0);
	uint64_t listed = 0;
	assert_int_equal(store_revoked_foreach(st, f->ca, count_listed, &listed), 0);
	assert_int_equal(listed, want_revoked + want_hold);
	assert_int_equal(stats.certs, IMPORT_N);
	assert_int_equal(stats.revoked, want_revoked);
	assert_int_equal(stats.hold, want_hold);
	assert_int_equal(stats.good, IMPORT_N - want_revoked - want_hold);
	assert_int_equal(store_changes_last(st, &last), 0);
	assert_int_equal(last, IMPORT_N + 1);
	for (uint64_t i = 0; i < IMPORT_N; i++) {
		struct store_serial s = tsl_serial_rand(42, i);
		struct store_cert_rec want = import_rec(i);
		assert_int_equal(store_cert_get(st, f->ca, &s, &r), 0);
		if (r.status != want.status || r.reason != want.reason || r.revoked_at != want.revoked_at ||
		    r.not_after != want.not_after)
			fail_msg("record %llu differs", (unsigned long long)i);
	}
	assert_int_equal(store_check(st), 0);
	store_close(st);
}

/* ---- the index rebuilt under a reader process ---- */

#define REINDEX_N 3000
#define REINDEX_ROUNDS 20

struct reindex_scan {
	uint64_t n, last;
	int bad;
};

/* Every third serial is revoked, at 1700000000 + serial: a listed entry must be one of them, with its own
 * record, in ascending order. */
static int reindex_collect(void *arg, const struct store_serial *s, const struct store_cert_rec *rec)
{
	struct reindex_scan *q = arg;
	uint64_t v = 0;

	for (size_t i = 0; i < s->len; i++)
		v = (v << 8) | s->mag[i];
	if (v % 3 != 0 || v <= q->last || rec->status != STORE_REVOKED || rec->revoked_at != 1700000000 + (int64_t)v)
		q->bad = 1;
	q->last = v;
	q->n++;
	return 0;
}

/* Child: walks the index until told to stop, then exits 0 if every walk listed exactly the revoked
 * certificates; the count of walks made (at most 100) goes back through walks_fd. */
static int reindex_reader(const char *dir, uint32_t ca, int ready_fd, int stop_fd, int walks_fd)
{
	int err;
	store *st = store_open(dir, STORE_RDONLY, 0, &err);
	struct pollfd pfd = { .fd = stop_fd, .events = POLLIN };
	unsigned walks = 0;

	if (st == NULL)
		return 10;
	write_byte(ready_fd, 'r');
	for (;;) {
		int stop = poll(&pfd, 1, 0) > 0;
		struct reindex_scan q = { 0, 0, 0 };
		int rc = store_revoked_foreach(st, ca, reindex_collect, &q);
		if (rc != 0) {
			fprintf(stderr, "reader: walk: %s\n", va_strerror(rc));
			return 11;
		}
		if (q.bad || q.n != REINDEX_N / 3) {
			fprintf(stderr, "reader: walk %u listed %llu entries%s\n", walks, (unsigned long long)q.n,
				q.bad ? ", some wrong" : "");
			return 12;
		}
		walks++;
		if (stop)
			break;
	}
	store_close(st);
	write_byte(walks_fd, (char)(walks > 100 ? 100 : walks));
	return 0;
}

static void test_reindex_under_reader(void **state)
{
	struct fx *f = *state;
	int ready[2], stop[2], walks[2], err;
	pid_t pid;
	store *st;
	store_batch *b;

	st = store_open(f->dir, STORE_RDWR, 0, &err);
	assert_non_null(st);
	b = store_batch_begin(st, &err);
	assert_non_null(b);
	for (uint64_t i = 1; i <= REINDEX_N; i++) {
		struct store_serial s = tsl_serial(i);
		struct store_cert_rec r = i % 3 ? tsl_good(1900000000)
						: tsl_revoked(1900000000, STORE_REASON_SUPERSEDED, 1700000000 + (int64_t)i);
		assert_int_equal(store_batch_put(b, f->ca, &s, &r), 0);
	}
	assert_int_equal(store_batch_end(b, 1), 0);
	store_close(st);

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(stop), 0);
	assert_int_equal(pipe(walks), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		close(stop[1]);
		close(walks[0]);
		_exit(reindex_reader(f->dir, f->ca, ready[1], stop[0], walks[1]));
	}
	close(ready[1]);
	close(stop[0]);
	close(walks[1]);
	assert_int_equal(read_byte(ready[0]), 'r');
	/* Each open with STORE_REINDEX empties the index and fills it again, in one write transaction. */
	for (int round = 0; round < REINDEX_ROUNDS; round++) {
		st = store_open(f->dir, STORE_RDWR | STORE_REINDEX, 0, &err);
		assert_non_null(st);
		store_close(st);
	}
	write_byte(stop[1], 's');
	int n = read_byte(walks[0]);
	int status = wait_child(pid);
	close(ready[0]);
	close(stop[1]);
	close(walks[0]);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The reader walked while the rebuilds ran (each takes a commit to disk; a walk, a fraction of that). */
	assert_true(n >= 2);
	st = store_open(f->dir, STORE_RDONLY, 0, &err);
	assert_non_null(st);
	assert_int_equal(store_check(st), 0);
	store_close(st);
}

/* ---- map growth under a reader process ---- */

#define GROW_N 40000

static int grow_reader(const char *dir, uint32_t ca, int ready_fd, int done_fd)
{
	int err;
	/* Same tiny map as the writer: the reader must adopt the grown size to read the new data. */
	store *st = store_open(dir, STORE_RDONLY, 64 * 1024, &err);
	struct pollfd pfd = { .fd = done_fd, .events = POLLIN };
	struct store_serial s0 = tsl_serial(1);
	struct store_cert_rec r;
	struct store_stats stats;

	if (st == NULL)
		return 10;
	if (store_cert_get(st, ca, &s0, &r) != 0)
		return 11;
	write_byte(ready_fd, 'r');
	for (;;) {
		int done = poll(&pfd, 1, 0) > 0;
		int rc = store_cert_get(st, ca, &s0, &r);
		if (rc != 0) {
			fprintf(stderr, "reader: %s\n", va_strerror(rc));
			return 12;
		}
		if (done)
			break;
		usleep(200);
	}
	struct store_serial last = tsl_serial_rand(9, GROW_N - 1);
	if (store_cert_get(st, ca, &last, &r) != 0 || r.status != STORE_GOOD)
		return 13;
	if (store_stats_get(st, &stats) != 0 || stats.certs != GROW_N + 1 || stats.map_size < 4 * 1024 * 1024)
		return 14;
	if (store_check(st) != 0)
		return 15;
	store_close(st);
	return 0;
}

static void test_map_growth_with_reader(void **state)
{
	struct fx *f = *state;
	int ready[2], done[2], err;
	pid_t pid;
	store *st;
	store_batch *b;
	struct store_stats stats;

	st = store_open(f->dir, STORE_RDWR, 64 * 1024, &err);
	assert_non_null(st);
	struct store_serial s0 = tsl_serial(1);
	struct store_cert_rec g = tsl_good(1900000000);
	assert_int_equal(store_cert_add(st, f->ca, &s0, &g), 0);
	assert_int_equal(store_stats_get(st, &stats), 0);
	assert_true(stats.map_size <= 64 * 1024);
	store_close(st);

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(done), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		close(done[1]);
		_exit(grow_reader(f->dir, f->ca, ready[1], done[0]));
	}
	close(ready[1]);
	close(done[0]);
	assert_int_equal(read_byte(ready[0]), 'r');

	st = store_open(f->dir, STORE_RDWR, 64 * 1024, &err);
	assert_non_null(st);
	b = store_batch_begin(st, &err);
	for (uint64_t i = 0; i < GROW_N; i++) {
		struct store_serial s = tsl_serial_rand(9, i);
		assert_int_equal(store_batch_put(b, f->ca, &s, &g), 0);
	}
	assert_int_equal(store_batch_end(b, 1), 0);
	assert_int_equal(store_stats_get(st, &stats), 0);
	assert_true(stats.map_size >= 4 * 1024 * 1024);
	assert_int_equal(stats.certs, GROW_N + 1);
	store_close(st);

	write_byte(done[1], 'd');
	int status = wait_child(pid);
	close(ready[0]);
	close(done[1]);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* A later opener with the default map size sees everything too. */
	st = store_open(f->dir, STORE_RDONLY, 0, &err);
	assert_non_null(st);
	assert_int_equal(store_check(st), 0);
	store_close(st);
}

/* ---- trimming the map inside a walk while another process grows it ---- */

/* Child: waits for 'g', grows the map well past the parent's (GROW_N certificates), answers 'd'. */
static int map_grower(const char *dir, uint32_t ca, int go_fd, int done_fd)
{
	int err;
	store *st;
	store_batch *b;
	struct store_cert_rec g = tsl_good(1900000000);

	if (read_byte(go_fd) != 'g')
		return 10;
	st = store_open(dir, STORE_RDWR, 64 * 1024, &err);
	if (st == NULL)
		return 11;
	b = store_batch_begin(st, &err);
	for (uint64_t i = 0; b != NULL && i < GROW_N; i++) {
		struct store_serial s = tsl_serial_rand(11, i);
		if (store_batch_put(b, ca, &s, &g) != 0)
			return 12;
	}
	if (b == NULL || store_batch_end(b, 1) != 0)
		return 13;
	store_close(st);
	write_byte(done_fd, 'd');
	return 0;
}

struct trim_walk {
	store *st;
	int go_fd, done_fd;
	int visits, trims, trim_rc;
};

/* crlgen's callback does this: trims the map every so many records, inside the walk's read transaction. */
static int trim_walk_cb(void *arg, const struct store_serial *serial, const struct store_cert_rec *rec)
{
	struct trim_walk *w = arg;

	(void)serial;
	(void)rec;
	if (w->visits++ == 0) {
		write_byte(w->go_fd, 'g');
		if (read_byte(w->done_fd) != 'd')
			return VA_ERR_IO;
		w->trim_rc = store_map_trim(w->st);
		w->trims++;
	}
	return 0;
}

/* The map grown by another process while a walk holds this one's read transaction: store_map_trim inside the walk
 * used to try to adopt the new size, waiting for the walk's own map_lock for ever (alarm turns that into a
 * failure). It must return (the trim is skipped), and the walk must finish with every entry. */
static void test_trim_inside_walk_map_grown(void **state)
{
	struct fx *f = *state;
	int go[2], done[2], err;
	pid_t pid;
	store *st;
	struct trim_walk w = { 0 };
	struct store_cert_rec rv = tsl_revoked(1900000000, 1, 1700000000);

	st = store_open(f->dir, STORE_RDWR, 64 * 1024, &err);
	assert_non_null(st);
	for (uint64_t i = 1; i <= 20; i++) {
		struct store_serial s = tsl_serial(i);
		assert_int_equal(store_cert_add(st, f->ca, &s, &rv), 0);
	}
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(done), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(go[1]);
		close(done[0]);
		_exit(map_grower(f->dir, f->ca, go[0], done[1]));
	}
	close(go[0]);
	close(done[1]);
	w.st = st;
	w.go_fd = go[1];
	w.done_fd = done[0];
	alarm(60);
	assert_int_equal(store_revoked_foreach(st, f->ca, trim_walk_cb, &w), 0);
	alarm(0);
	assert_int_equal(w.visits, 20);
	assert_int_equal(w.trims, 1);
	assert_int_not_equal(w.trim_rc, 0); /* skipped: the map was resized under the walk */
	/* After the walk, the next read adopts the grown map and a trim works again. */
	struct store_serial s1 = tsl_serial(1);
	struct store_cert_rec r;
	assert_int_equal(store_cert_get(st, f->ca, &s1, &r), 0);
	assert_int_equal(store_map_trim(st), 0);
	int status = wait_child(pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(go[1]);
	close(done[0]);
	store_close(st);
}

/* ---- stale reader slots ---- */

/* Child: opens, reads (taking a reader slot, kept by its cached transaction), says so, then waits. */
static int slot_holder(const char *dir, uint32_t ca, int ready_fd, int block_fd)
{
	int err;
	store *st = store_open(dir, STORE_RDONLY, 0, &err);
	struct store_serial s = tsl_serial(1);
	struct store_cert_rec r;

	if (st == NULL || store_cert_get(st, ca, &s, &r) != VA_ERR_NOTFOUND)
		return 10;
	write_byte(ready_fd, 'r');
	(void)read_byte(block_fd); /* until the parent closes the pipe */
	store_close(st);
	return 0;
}

struct reader_pids {
	pid_t pids[16];
	int n;
};

static int reader_line(const char *msg, void *ctx)
{
	struct reader_pids *r = ctx;
	int pid;

	if (sscanf(msg, "%d", &pid) == 1 && r->n < 16)
		r->pids[r->n++] = pid;
	return 0;
}

static int has_pid(const struct reader_pids *r, pid_t pid)
{
	for (int i = 0; i < r->n; i++)
		if (r->pids[i] == pid)
			return 1;
	return 0;
}

static pid_t spawn_holder(struct fx *f, int *block_w)
{
	int ready[2], block[2];
	pid_t pid;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(block), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		close(block[1]);
		_exit(slot_holder(f->dir, f->ca, ready[1], block[0]));
	}
	close(ready[1]);
	close(block[0]);
	assert_int_equal(read_byte(ready[0]), 'r');
	close(ready[0]);
	*block_w = block[1];
	return pid;
}

static void test_stale_reader_cleared(void **state)
{
	struct fx *f = *state;
	int alive_w, dead_w, err;
	pid_t alive, dead;
	store *st;
	MDB_env *env;
	struct reader_pids r = { .n = 0 };

	/* One process keeps the environment open (so nobody re-initialises the lock file), one dies holding a
	 * reader slot. */
	alive = spawn_holder(f, &alive_w);
	dead = spawn_holder(f, &dead_w);
	assert_int_equal(kill(dead, SIGKILL), 0);
	int status = wait_child(dead);
	assert_true(WIFSIGNALED(status));
	close(dead_w);

	st = store_open(f->dir, STORE_RDWR, 0, &err); /* runs mdb_reader_check */
	assert_non_null(st);
	store_close(st);

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, f->dir, MDB_RDONLY, 0), 0);
	assert_int_equal(mdb_reader_list(env, reader_line, &r), 0);
	mdb_env_close(env);
	assert_true(has_pid(&r, alive));
	assert_false(has_pid(&r, dead));

	close(alive_w);
	status = wait_child(alive);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reader_sees_whole_pairs),
		T(test_sigkill_during_import),
		T(test_map_growth_with_reader),
		T(test_reindex_under_reader),
		T(test_trim_inside_walk_map_grown),
		T(test_stale_reader_cleared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
