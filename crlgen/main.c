/*
 * crlgen: builds, signs, verifies and publishes full and delta CRLs from the store; serves them over HTTP.
 *
 *   crlgen -c FILE          daemon: republish every `interval`, and within `change_delay` of a change
 *   crlgen -c FILE --once   publish every configured CRL once and exit (cron); non-zero if any failed
 *   crlgen -c FILE --once --delta   only delta CRLs against the current full CRLs (e.g. hourly from cron)
 *   crlgen -c FILE -n       check the configuration and exit
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "crlgen.h"
#include "log.h"
#include "shutdown.h"

struct ctx {
	const char *file;
	struct crlgen_conf *conf;
	store *st;
	signer *signers[CRLGEN_CRLS_MAX];
	size_t nsigners;
	struct crl_job jobs[CRLGEN_CRLS_MAX];
	size_t njobs;
	crl_served *served;
	metrics *m;
	metrics_counter *pub_ok[CRLGEN_CRLS_MAX], *pub_fail[CRLGEN_CRLS_MAX];
	metrics_gauge *number[CRLGEN_CRLS_MAX];
};

static void usage(void)
{
	fprintf(stderr, "usage: crlgen -c FILE [-n] [--once [--delta]]\n");
}

static signer *signer_for(struct ctx *c, const char *name)
{
	for (size_t i = 0; i < c->nsigners; i++)
		if (strcmp(signer_name(c->signers[i]), name) == 0)
			return c->signers[i];
	const struct signer_conf *sc = config_find_signer(c->conf->signers, c->conf->nsigners, name);
	int err = 0;
	signer *s = sc != NULL ? signer_open(sc, &err) : NULL;
	if (s == NULL) {
		log_err("crlgen: signer '%s' cannot be opened: %s", name, va_strerror(err));
		return NULL;
	}
	if (err == VA_ERR_SIGNER_DOWN)
		log_warn("crlgen: signer '%s' is down for now; it will be retried", name);
	c->signers[c->nsigners++] = s;
	return s;
}

static int ctx_open(struct ctx *c)
{
	int err = 0;

	if (mkdir(c->conf->publish_dir, 0755) != 0 && errno != EEXIST) {
		log_err("crlgen: cannot create %s: %s", c->conf->publish_dir, strerror(errno));
		return VA_ERR_IO;
	}
	/* Read-write: crlgen reserves CRL numbers and records its publication state in the store. */
	c->st = store_open(c->conf->store.path, STORE_RDWR, c->conf->store.map_size, &err);
	if (c->st == NULL) {
		log_err("crlgen: store %s: %s", c->conf->store.path, va_strerror(err));
		return err;
	}
	store_set_actor(c->st, "crlgen");
	for (size_t i = 0; i < c->conf->ncrls; i++) {
		signer *s = signer_for(c, c->conf->crls[i].signer);
		if (s == NULL)
			return VA_ERR_SIGNER;
		if ((err = crl_job_init(&c->jobs[i], c->st, &c->conf->crls[i], s)) != 0)
			return err;
		c->njobs++;
	}
	return 0;
}

static void ctx_close(struct ctx *c)
{
	for (size_t i = 0; i < c->njobs; i++)
		crl_job_clear(&c->jobs[i]);
	for (size_t i = 0; i < c->nsigners; i++)
		signer_free(c->signers[i]);
	crl_served_free(c->served);
	store_close(c->st);
	metrics_free(c->m);
}

static int run_once(struct ctx *c, int delta_only)
{
	int failed = 0;

	for (size_t i = 0; i < c->njobs; i++) {
		int rc = delta_only ? crl_job_delta(&c->jobs[i], c->st, c->conf->publish_dir)
				    : crl_job_full(&c->jobs[i], c->st, c->conf->publish_dir);
		if (rc != 0)
			failed++;
	}
	return failed ? 1 : 0;
}

static int file_present(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s.crl", dir, name);
	return stat(path, &st) == 0;
}

/* One job's timers: a full CRL when due (interval elapsed, none yet, file missing, forced); after a change,
 * within change_delay, a full CRL with its delta or only a delta (full_on_change). */
static void job_tick(struct ctx *c, size_t i, time_t now)
{
	struct crl_job *j = &c->jobs[i];
	const struct crlgen_conf *cf = c->conf;
	int changed = 0, rc, due;

	if (now < j->retry_at)
		return;
	if (crl_job_changed(j, c->st, &changed) != 0) {
		j->retry_at = now + CRLGEN_RETRY_SECONDS;
		return;
	}
	if (changed && j->change_seen == 0)
		j->change_seen = now;
	due = j->force || j->state.full_number == 0 || now >= j->state.full_this + cf->interval ||
	      !file_present(cf->publish_dir, j->cc->name);
	if (!due && !(j->change_seen != 0 && now >= j->change_seen + cf->change_delay))
		return;
	if (due || cf->full_on_change)
		rc = crl_job_full(j, c->st, cf->publish_dir);
	else
		rc = crl_job_delta(j, c->st, cf->publish_dir);
	if (rc != 0) {
		j->failures++;
		j->retry_at = now + CRLGEN_RETRY_SECONDS;
		metrics_counter_inc(c->pub_fail[i]);
		return;
	}
	j->force = 0;
	j->change_seen = 0;
	metrics_counter_inc(c->pub_ok[i]);
	metrics_gauge_set(c->number[i], (int64_t)(j->state.delta_number > j->state.full_number ? j->state.delta_number
												: j->state.full_number));
}

static void tick(void *arg)
{
	struct ctx *c = arg;
	time_t now = clock_now_sec();

	/* A publication signs in the HSM, on this thread: named for the shutdown watchdog's report. After SIGTERM the
	 * CRL being built is finished (within the bound) and the next ones wait for the next start. */
	shutdown_phase_set("tick: CRL publication");
	for (size_t i = 0; i < c->njobs && !shutdown_requested(); i++)
		job_tick(c, i, now);
	/* Also picks up what `crlgen --once` or another node put in the directory. */
	crl_served_refresh(c->served);
}

/* SIGHUP: re-reads the configuration file. What a running daemon can apply (log level, interval, change_delay,
 * full_on_change, each CRL's validity, retention, margins, URIs and partition bounds) is applied in place and
 * every CRL is republished at once; other changes (names, issuers, signers, store, HTTP) are refused with a
 * message and need a restart. Runs in the main thread, like the publications; pool threads only read the
 * served files and the margins (atomics). */
static int reload(void *arg)
{
	struct ctx *c = arg;
	struct crlgen_conf *nc = calloc(1, sizeof(*nc));
	va_config *cfg;
	int err = 0, rc = VA_ERR_CONFIG;

	cfg = config_load(c->file, &err);
	if (nc == NULL || cfg == NULL || crlgen_conf_read(cfg, nc) != 0 || crlgen_conf_reloadable(c->conf, nc) != 0)
		goto out;
	for (size_t i = 0; i < c->conf->ncrls; i++)
		c->conf->crls[i] = nc->crls[i]; /* the jobs point at these */
	c->conf->interval = nc->interval;
	c->conf->change_delay = nc->change_delay;
	c->conf->full_on_change = nc->full_on_change;
	crl_served_update(c->served, c->conf->crls, c->conf->ncrls, c->conf->interval);
	for (size_t i = 0; i < c->njobs; i++) {
		c->jobs[i].force = 1;
		c->jobs[i].retry_at = 0;
	}
	log_info("crlgen: SIGHUP: configuration reloaded; republishing every CRL");
	rc = 0;
out:
	config_free(cfg);
	free(nc);
	return rc;
}

static int ready(void *arg, char *why, size_t whylen)
{
	struct ctx *c = arg;

	if (store_ping(c->st) != 0) {
		snprintf(why, whylen, "store not readable");
		return 1;
	}
	return crl_served_ready(c->served, clock_now_sec(), why, whylen);
}

static int metrics_setup(struct ctx *c)
{
	char labels[160];

	c->m = metrics_new("crlgen_");
	if (c->m == NULL)
		return VA_ERR_NOMEM;
	for (size_t i = 0; i < c->njobs; i++) {
		snprintf(labels, sizeof(labels), "crl=\"%s\",result=\"ok\"", c->jobs[i].cc->name);
		c->pub_ok[i] = metrics_counter_new(c->m, "publications_total", "CRL publications", labels);
		snprintf(labels, sizeof(labels), "crl=\"%s\",result=\"error\"", c->jobs[i].cc->name);
		c->pub_fail[i] = metrics_counter_new(c->m, "publications_total", "CRL publications", labels);
		snprintf(labels, sizeof(labels), "crl=\"%s\"", c->jobs[i].cc->name);
		c->number[i] = metrics_gauge_new(c->m, "crl_number", "Newest published CRL number", labels);
		if (c->pub_ok[i] == NULL || c->pub_fail[i] == NULL || c->number[i] == NULL)
			return VA_ERR_NOMEM;
	}
	return 0;
}

static int run_daemon(struct ctx *c)
{
	struct http_route route = { .prefix = "/crl/", .methods = HTTP_GET, .fn = crl_served_handle };
	http_server *srv;
	int rc;

	c->served = crl_served_new(c->conf->publish_dir, c->conf->crls, c->conf->ncrls, c->conf->interval);
	if (c->served == NULL || metrics_setup(c) != 0)
		return 1;
	route.arg = c->served;
	/* First publications before listening, so /readyz is true as soon as it can be. */
	tick(c);
	shutdown_phase_set("start");
	srv = http_start(&c->conf->http, &route, 1, ready, c, c->m);
	if (srv == NULL)
		return 1;
	rc = shutdown_loop(reload, tick, 1000, c);
	shutdown_phase_set("drain");
	/* Past http.drain_timeout a request still runs and uses c: end the process without freeing anything under
	 * it (exit() would also run library cleanups). */
	if (http_stop(srv) != VA_OK) {
		log_err("crlgen: exiting with a request still running");
		_exit(1);
	}
	shutdown_phase_set("freeing");
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "once", no_argument, NULL, 'o' },
					      { "delta", no_argument, NULL, 'd' }, { NULL, 0, NULL, 0 } };
	struct crlgen_conf *conf = NULL;
	struct ctx c;
	va_config *cfg = NULL;
	const char *file = NULL;
	int check = 0, once = 0, delta_only = 0, opt, err = 0, rc = 1;

	memset(&c, 0, sizeof(c));
	log_init("crlgen", 0, LOG_LVL_INFO);
	/* A file size limit reached while writing a CRL is a failed publication (EFBIG), not a reason to die. */
	signal(SIGXFSZ, SIG_IGN);
	while ((opt = getopt_long(argc, argv, "c:n", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': file = optarg; break;
		case 'n': check = 1; break;
		case 'o': once = 1; break;
		case 'd': delta_only = 1; break;
		default: usage(); return 2;
		}
	}
	if (file == NULL || optind != argc || (delta_only && !once)) {
		usage();
		return 2;
	}
	cfg = config_load(file, &err);
	conf = calloc(1, sizeof(*conf));
	if (cfg == NULL || conf == NULL)
		goto out;
	if (crlgen_conf_read(cfg, conf) != 0)
		goto out;
	if (check) {
		printf("%s: crlgen configuration ok (%zu CRLs)\n", file, conf->ncrls);
		rc = 0;
		goto out;
	}
	c.conf = conf;
	c.file = file;
	/* The daemon, before any thread (the HTTP server's, a PKCS#11 module's started by ctx_open): they all block
	 * the signals. --once keeps the default dispositions: SIGTERM ends it at once, as any command. */
	if (!once) {
		if (shutdown_start() != VA_OK)
			goto out;
		/* http settings change only with a restart: the bound stays that of the start. */
		shutdown_set_drain_timeout(conf->http.drain_timeout);
		shutdown_phase_set("start: opening signers");
	}
	if (ctx_open(&c) != 0)
		goto out;
	rc = once ? run_once(&c, delta_only) : run_daemon(&c);
out:
	ctx_close(&c);
	free(conf);
	config_free(cfg);
	shutdown_phase_set("exiting (library cleanups)");
	return rc;
}
