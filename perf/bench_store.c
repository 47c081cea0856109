/*
 * bench_store: figures of the LMDB revocation store.
 *
 *   bench_store [-k] [-l LOOKUPS] [-t THREADS] [-d DIR] N
 *
 * 1. import rate: N certificates (random 16-octet serials, 1% revoked) through store_batch_put, one durable
 *    commit per LIM_STORE_BATCH records. This measures the store, not the index.txt parser (that is vactl's);
 *    then the same N again (the idempotent re-import: every record found unchanged);
 * 2. status lookup latency of store_cert_get, p50/p99/mean, for random hits and random misses (LOOKUPS of each,
 *    default 100000), single thread, warm page cache (right after the import); then the aggregate rate of
 *    THREADS threads (default 2) doing LOOKUPS random hits each, which shows what the shared map lock costs;
 * 3. bytes of store per certificate: pages in use after the import, and the size of a compacting backup.
 *
 * The store lives in a fresh directory under $TMPDIR (or -d DIR, which must not exist), removed at the end
 * unless -k. The last line is a Markdown table row for perf/RESULTS.md.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "../tests/unit/test_store_lib.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

struct lat {
	double p50, p99, mean;
};

static struct lat lat_summary(uint32_t *ns, size_t n)
{
	struct lat l = { 0, 0, 0 };
	double sum = 0;

	if (n == 0)
		return l;
	for (size_t i = 0; i < n; i++)
		sum += ns[i];
	qsort(ns, n, sizeof(*ns), cmp_u32);
	l.p50 = ns[n / 2] / 1000.0;
	l.p99 = ns[(n * 99) / 100] / 1000.0;
	l.mean = sum / (double)n / 1000.0;
	return l;
}

static struct store_cert_rec bench_rec(uint64_t i)
{
	return i % 100 == 0 ? tsl_revoked(1900000000, STORE_REASON_KEY_COMPROMISE, 1700000000) : tsl_good(1900000000);
}

static long long file_size(const char *dir)
{
	char p[600];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	return stat(p, &sb) == 0 ? (long long)sb.st_size : -1;
}

struct tput {
	store *st;
	uint32_t ca;
	uint64_t n, lookups, seed;
	int errors;
};

static void *tput_thread(void *p)
{
	struct tput *t = p;
	uint64_t x = t->seed;

	for (uint64_t j = 0; j < t->lookups; j++) {
		struct store_cert_rec r;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		struct store_serial s = tsl_serial_rand(1, x % t->n);
		t->errors += store_cert_get(t->st, t->ca, &s, &r) != 0;
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_store [-k] [-l LOOKUPS] [-t THREADS] [-d DIR] N\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char top[300], dir[400], bdir[400];
	int keep = 0, err, rc = 1, opt;
	uint64_t n, lookups = 100000, existed = 0, nthreads = 2;
	const char *user_dir = NULL;
	store *st = NULL;
	store_batch *b = NULL;
	uint8_t *der = NULL;
	size_t der_len;
	uint32_t ca;
	uint32_t *hit_ns = NULL, *miss_ns = NULL;
	struct store_stats stats;

	while ((opt = getopt(argc, argv, "kl:t:d:")) != -1) {
		switch (opt) {
		case 'k': keep = 1; break;
		case 'l': lookups = strtoull(optarg, NULL, 10); break;
		case 't': nthreads = strtoull(optarg, NULL, 10); break;
		case 'd': user_dir = optarg; break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	n = strtoull(argv[optind], NULL, 10);
	if (n == 0 || n > 100000000ULL || lookups == 0 || lookups > 10000000ULL || nthreads == 0 || nthreads > 64)
		usage();
	log_init("bench_store", 0, LOG_LVL_WARN);

	if (user_dir) {
		snprintf(top, sizeof(top), "%s", user_dir);
		if (mkdir(top, 0700) != 0) {
			fprintf(stderr, "mkdir %s: %s\n", top, strerror(errno));
			return 1;
		}
	} else {
		tsl_mkdtemp(top, sizeof(top));
	}
	snprintf(dir, sizeof(dir), "%s/store", top);
	snprintf(bdir, sizeof(bdir), "%s/backup", top);

	st = store_open(dir, STORE_RDWR | STORE_CREATE, 0, &err);
	if (st == NULL) {
		fprintf(stderr, "store_open: %s\n", va_strerror(err));
		goto out;
	}
	if (tsl_make_ca("Bench CA", &der, &der_len) != 0 || store_issuer_add(st, "bench", der, der_len, &ca) != 0) {
		fprintf(stderr, "issuer setup failed\n");
		goto out;
	}

	/* 1. import */
	double t0 = now_s();
	b = store_batch_begin(st, &err);
	if (b == NULL)
		goto out;
	for (uint64_t i = 0; i < n; i++) {
		struct store_serial s = tsl_serial_rand(1, i);
		struct store_cert_rec r = bench_rec(i);
		if ((err = store_batch_put(b, ca, &s, &r)) != 0) {
			fprintf(stderr, "put %llu: %s\n", (unsigned long long)i, va_strerror(err));
			goto out;
		}
	}
	err = store_batch_end(b, 1);
	b = NULL;
	if (err)
		goto out;
	double t_import = now_s() - t0;

	t0 = now_s();
	b = store_batch_begin(st, &err);
	for (uint64_t i = 0; b && i < n; i++) {
		struct store_serial s = tsl_serial_rand(1, i);
		struct store_cert_rec r = bench_rec(i);
		existed += store_batch_put(b, ca, &s, &r) == VA_ERR_EXISTS;
	}
	err = store_batch_end(b, 1);
	b = NULL;
	double t_reimport = now_s() - t0;
	if (err || existed != n) {
		fprintf(stderr, "re-import: %llu of %llu unchanged\n", (unsigned long long)existed,
			(unsigned long long)n);
		goto out;
	}

	/* 2. lookups: random hits (indices spread over the whole set) and misses (another seed). */
	hit_ns = malloc(lookups * sizeof(*hit_ns));
	miss_ns = malloc(lookups * sizeof(*miss_ns));
	if (hit_ns == NULL || miss_ns == NULL)
		goto out;
	uint64_t x = 88172645463325252ULL;
	for (uint64_t j = 0; j < lookups; j++) {
		struct store_cert_rec r;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		struct store_serial hs = tsl_serial_rand(1, x % n), ms = tsl_serial_rand(2, j);
		uint64_t a = now_ns();
		int h = store_cert_get(st, ca, &hs, &r);
		uint64_t m = now_ns();
		int mi = store_cert_get(st, ca, &ms, &r);
		uint64_t e = now_ns();
		if (h != 0 || mi != VA_ERR_NOTFOUND) {
			fprintf(stderr, "lookup %llu: hit %d miss %d\n", (unsigned long long)j, h, mi);
			goto out;
		}
		hit_ns[j] = (uint32_t)(m - a > UINT32_MAX ? UINT32_MAX : m - a);
		miss_ns[j] = (uint32_t)(e - m > UINT32_MAX ? UINT32_MAX : e - m);
	}
	struct lat lh = lat_summary(hit_ns, lookups), lm = lat_summary(miss_ns, lookups);

	/* Aggregate rate of several threads. */
	pthread_t th[64];
	struct tput tp[64];
	t0 = now_s();
	for (uint64_t i = 0; i < nthreads; i++) {
		tp[i] = (struct tput){ .st = st, .ca = ca, .n = n, .lookups = lookups, .seed = 0x9E3779B97F4A7C15ULL + i };
		if (pthread_create(&th[i], NULL, tput_thread, &tp[i]) != 0) {
			fprintf(stderr, "pthread_create failed: %llu threads\n", (unsigned long long)i);
			nthreads = i; /* join the ones that run */
			break;
		}
	}
	int tput_errors = 0;
	for (uint64_t i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		tput_errors += tp[i].errors;
	}
	double t_tput = now_s() - t0;
	if (tput_errors || nthreads == 0) {
		fprintf(stderr, "%d lookups failed in threads\n", tput_errors);
		goto out;
	}

	/* 3. size */
	if (store_stats_get(st, &stats) != 0)
		goto out;
	if (mkdir(bdir, 0700) != 0 || store_backup(st, bdir) != 0)
		goto out;
	long long compact = file_size(bdir);

	printf("store benchmark, N=%llu certificates (1%% revoked, 16-octet random serials)\n",
	       (unsigned long long)n);
	printf("import (store_batch_put, %d per txn, durable commits): %.0f records/s (%.2f s)\n", LIM_STORE_BATCH,
	       (double)n / t_import, t_import);
	printf("re-import, all unchanged: %.0f records/s (%.2f s)\n", (double)n / t_reimport, t_reimport);
	printf("store_cert_get hit:  p50 %.2f us  p99 %.2f us  mean %.2f us (%llu lookups)\n", lh.p50, lh.p99, lh.mean,
	       (unsigned long long)lookups);
	printf("store_cert_get miss: p50 %.2f us  p99 %.2f us  mean %.2f us\n", lm.p50, lm.p99, lm.mean);
	printf("%llu threads: %.0f lookups/s in all\n", (unsigned long long)nthreads,
	       (double)(nthreads * lookups) / t_tput);
	printf("size: %.1f bytes/cert in use (%llu of %llu map bytes, file %lld), %.1f bytes/cert compacted\n",
	       (double)stats.map_used / (double)n, (unsigned long long)stats.map_used,
	       (unsigned long long)stats.map_size, file_size(dir), (double)compact / (double)n);
	printf("| %llu | %.0f | %.2f / %.2f | %.2f / %.2f | %.0f | %.0f |\n", (unsigned long long)n,
	       (double)n / t_import, lh.p50, lh.p99, lm.p50, lm.p99, (double)stats.map_used / (double)n,
	       (double)compact / (double)n);
	rc = 0;
out:
	store_batch_end(b, 0);
	store_close(st);
	free(der);
	free(hit_ns);
	free(miss_ns);
	if (!keep)
		tsl_rmtree(top);
	else
		fprintf(stderr, "kept %s\n", top);
	return rc;
}
