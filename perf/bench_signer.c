/*
 * bench_signer: the signer's raw rate, the ceiling the OCSP and TSA benchmarks compare against.
 *
 *   bench_signer -c CONF -s SIGNER [-t THREADS] [-d SECONDS] [-m sha256|sha384|sha512]
 *
 * Opens SIGNER from the config's signers list and signs distinct SHA-256 digests with signer_sign_digest() from
 * THREADS threads for SECONDS. Prints one human line and one "key=value" line for scripts. Every 64th signature
 * is verified with the certificate's key, so a broken signer cannot post a rate.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "config.h"
#include "err.h"
#include "va_limits.h"
#include "log.h"
#include "signer.h"

#define BENCH_THREADS_MAX 256
#define BENCH_SECONDS_MAX 3600

struct bench_worker {
	pthread_t tid;
	signer *s;
	const EVP_MD *md;
	unsigned id;
	uint64_t ok, down, failed, bad;
};

static atomic_int bench_stop;

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sig_verifies(signer *s, const EVP_MD *md, const uint8_t *d, size_t dl, const uint8_t *sig, size_t sl)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(X509_get0_pubkey(signer_cert(s)), NULL);
	int ok = c != NULL && EVP_PKEY_verify_init(c) == 1 && EVP_PKEY_CTX_set_signature_md(c, md) > 0 &&
		 EVP_PKEY_verify(c, sig, sl, d, dl) == 1;

	EVP_PKEY_CTX_free(c);
	return ok;
}

static void *bench_run(void *arg)
{
	struct bench_worker *w = arg;
	uint8_t sig[1024], d[EVP_MAX_MD_SIZE];
	size_t dl = (size_t)EVP_MD_get_size(w->md);
	uint64_t n = 0;

	memset(d, 0, sizeof(d));
	while (!atomic_load_explicit(&bench_stop, memory_order_relaxed)) {
		size_t sl = 0;
		int rc;

		/* a distinct digest per signature: thread id and counter */
		memcpy(d, &w->id, sizeof(w->id));
		memcpy(d + sizeof(w->id), &n, sizeof(n));
		n++;
		rc = signer_sign_digest(w->s, w->md, d, dl, sig, &sl);
		if (rc == VA_OK) {
			w->ok++;
			if ((n & 63) == 1 && !sig_verifies(w->s, w->md, d, dl, sig, sl))
				w->bad++;
		} else if (rc == VA_ERR_SIGNER_DOWN) {
			struct timespec ms = { 0, 1000000 };

			w->down++;
			nanosleep(&ms, NULL);
		} else {
			w->failed++;
		}
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_signer -c CONF -s SIGNER [-t THREADS] [-d SECONDS] [-m sha256|sha384|sha512]\n");
}

int main(int argc, char **argv)
{
	static struct signer_conf confs[LIM_SIGNERS_MAX];
	static struct bench_worker w[BENCH_THREADS_MAX];
	const char *cfile = NULL, *name = NULL;
	const struct signer_conf *sc;
	const EVP_MD *md = EVP_sha256();
	va_config *cfg = NULL;
	signer *s = NULL;
	long threads = 1, secs = 5;
	size_t n = 0;
	uint64_t ok = 0, down = 0, failed = 0, bad = 0;
	double t0, el;
	int c, err = 0, rc = 2, started = 0;

	log_init("bench_signer", 0, LOG_LVL_WARN);
	while ((c = getopt(argc, argv, "c:s:t:d:m:h")) != -1) {
		switch (c) {
		case 'c': cfile = optarg; break;
		case 's': name = optarg; break;
		case 't': threads = strtol(optarg, NULL, 10); break;
		case 'd': secs = strtol(optarg, NULL, 10); break;
		case 'm':
			md = EVP_get_digestbyname(optarg);
			break;
		default: usage(); return 2;
		}
	}
	if (cfile == NULL || name == NULL || threads < 1 || threads > BENCH_THREADS_MAX || secs < 1 ||
	    secs > BENCH_SECONDS_MAX || md == NULL) {
		usage();
		return 2;
	}
	cfg = config_load(cfile, &err);
	if (cfg == NULL)
		goto out;
	if (config_read_signers(cfg, confs, LIM_SIGNERS_MAX, &n) != VA_OK)
		goto out;
	sc = config_find_signer(confs, n, name);
	if (sc == NULL) {
		fprintf(stderr, "bench_signer: no signer \"%s\" in %s\n", name, cfile);
		goto out;
	}
	s = signer_open(sc, &err);
	if (s == NULL || err != VA_OK) {
		fprintf(stderr, "bench_signer: signer %s: %s\n", name, va_strerror(err));
		goto out;
	}
	atomic_store(&bench_stop, 0);
	t0 = mono_now();
	for (long i = 0; i < threads; i++) {
		w[i].s = s;
		w[i].md = md;
		w[i].id = (unsigned)i;
		if (pthread_create(&w[i].tid, NULL, bench_run, &w[i]) != 0)
			break;
		started++;
	}
	{
		struct timespec d = { .tv_sec = secs, .tv_nsec = 0 };

		while (nanosleep(&d, &d) != 0)
			;
	}
	atomic_store(&bench_stop, 1);
	for (int i = 0; i < started; i++) {
		pthread_join(w[i].tid, NULL);
		ok += w[i].ok;
		down += w[i].down;
		failed += w[i].failed;
		bad += w[i].bad;
	}
	el = mono_now() - t0;
	printf("signer %s (%s %s, %s): %d thread(s), %.1f s: %llu signatures, %.0f signatures/s "
	       "(down %llu, failed %llu, bad %llu)\n",
	       name, sc->type == SIGNER_PKCS11 ? "pkcs11" : "file",
	       signer_key_type(s) == EVP_PKEY_RSA ? "RSA" : "EC", EVP_MD_get0_name(md), started, el,
	       (unsigned long long)ok, (double)ok / el, (unsigned long long)down, (unsigned long long)failed,
	       (unsigned long long)bad);
	printf("bench=signer signer=%s threads=%d seconds=%.1f signatures=%llu sigs_per_sec=%.1f errors=%llu\n", name,
	       started, el, (unsigned long long)ok, (double)ok / el, (unsigned long long)(down + failed + bad));
	rc = (started == threads && bad == 0 && failed == 0) ? 0 : 1;
out:
	signer_free(s);
	config_free(cfg);
	return rc;
}
