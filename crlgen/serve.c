/*
 * serve.c: GET /crl/<name>.crl and /crl/<name>-delta.crl from the publish directory.
 *
 * Each published file is mapped read-only once (a 10^6-entry CRL is ~32 MB: never copied per request) and
 * handed to the HTTP wrapper by reference: a request holds a reference until its body has been sent, so a new
 * publication (a rename over the name; the old inode stays valid while mapped) never pulls the bytes from
 * under a transfer. Caching headers follow the CRL itself: ETag from its number, Last-Modified its thisUpdate,
 * Cache-Control max-age no later than its nextUpdate; If-None-Match / If-Modified-Since give 304 (RFC 9110
 * 13.1.2: If-Modified-Since is ignored when If-None-Match is present).
 */
#include "crlgen.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

#define CRL_SERVE_MAX_FILE (4ULL << 30) /* the DER lengths we write stop at 4 GiB */

struct crl_file {
	atomic_int refs;
	uint8_t *map;
	size_t len;
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	char etag[64];
	struct crl_info info;
};

struct slot {
	pthread_mutex_t mu;
	struct crl_file *cur;
	char fname[CRL_NAME_MAX + 16];
	char path[PATH_MAX];
};

struct served_crl {
	char name[CRL_NAME_MAX];
	_Atomic int64_t margin; /* changed by a reload while pool threads read it */
	int delta;
	struct slot full, dl;
};

struct crl_served {
	_Atomic int64_t max_age;
	size_t n;
	struct served_crl v[];
};

static void file_unref(void *arg)
{
	struct crl_file *f = arg;

	if (f == NULL || atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	munmap(f->map, f->len);
	free(f);
}

/* Maps and parses a published CRL (the signature was checked before publication; this reads its number and
 * times for the headers and refuses anything malformed). NULL when absent or bad. */
static struct crl_file *file_load(const char *path)
{
	struct crl_file *f = NULL;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || st.st_size <= 0 || (unsigned long long)st.st_size >= CRL_SERVE_MAX_FILE)
		goto out;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		goto out;
	if (crl_verify_fd(fd, NULL, NULL, 0, &f->info) != 0 || f->info.file_len != (uint64_t)st.st_size) {
		log_warn("crlgen: %s is not a well-formed CRL; not served", path);
		goto bad;
	}
	f->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f->map == MAP_FAILED)
		goto bad;
	f->len = (size_t)st.st_size;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->mtime = st.st_mtim;
	atomic_init(&f->refs, 1);
	snprintf(f->etag, sizeof(f->etag), "\"%llx-%llx\"", (unsigned long long)f->info.number,
		 (unsigned long long)f->info.this_update);
	goto out;
bad:
	free(f);
	f = NULL;
out:
	close(fd);
	return f;
}

static void slot_init(struct slot *s, const char *dir, const char *name, const char *suffix)
{
	pthread_mutex_init(&s->mu, NULL);
	snprintf(s->fname, sizeof(s->fname), "%s%s", name, suffix);
	snprintf(s->path, sizeof(s->path), "%s/%s", dir, s->fname);
	s->cur = NULL;
}

static void slot_refresh(struct slot *s)
{
	struct stat st;
	struct crl_file *old = NULL, *nf;

	if (stat(s->path, &st) != 0)
		return; /* gone: keep serving what we have (the last good CRL) */
	pthread_mutex_lock(&s->mu);
	old = s->cur;
	int same = old != NULL && old->dev == st.st_dev && old->ino == st.st_ino && old->len == (size_t)st.st_size &&
		   old->mtime.tv_sec == st.st_mtim.tv_sec && old->mtime.tv_nsec == st.st_mtim.tv_nsec;
	pthread_mutex_unlock(&s->mu);
	if (same)
		return;
	nf = file_load(s->path);
	if (nf == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	old = s->cur;
	s->cur = nf;
	pthread_mutex_unlock(&s->mu);
	file_unref(old);
}

static struct crl_file *slot_get(struct slot *s)
{
	struct crl_file *f;

	pthread_mutex_lock(&s->mu);
	f = s->cur;
	if (f != NULL)
		atomic_fetch_add(&f->refs, 1);
	pthread_mutex_unlock(&s->mu);
	return f;
}

crl_served *crl_served_new(const char *dir, const struct crl_conf *crls, size_t n, int64_t max_age)
{
	crl_served *cs = calloc(1, sizeof(*cs) + n * sizeof(cs->v[0]));

	if (cs == NULL)
		return NULL;
	cs->n = n;
	atomic_init(&cs->max_age, max_age);
	for (size_t i = 0; i < n; i++) {
		struct served_crl *c = &cs->v[i];
		snprintf(c->name, sizeof(c->name), "%s", crls[i].name);
		atomic_init(&c->margin, crls[i].ready_margin);
		c->delta = crls[i].delta;
		slot_init(&c->full, dir, crls[i].name, ".crl");
		slot_init(&c->dl, dir, crls[i].name, "-delta.crl");
	}
	crl_served_refresh(cs);
	return cs;
}

void crl_served_free(crl_served *cs)
{
	if (cs == NULL)
		return;
	for (size_t i = 0; i < cs->n; i++) {
		file_unref(cs->v[i].full.cur);
		file_unref(cs->v[i].dl.cur);
		pthread_mutex_destroy(&cs->v[i].full.mu);
		pthread_mutex_destroy(&cs->v[i].dl.mu);
	}
	free(cs);
}

void crl_served_update(crl_served *cs, const struct crl_conf *crls, size_t n, int64_t max_age)
{
	atomic_store(&cs->max_age, max_age);
	for (size_t i = 0; i < n && i < cs->n; i++)
		atomic_store(&cs->v[i].margin, crls[i].ready_margin);
}

void crl_served_refresh(crl_served *cs)
{
	for (size_t i = 0; i < cs->n; i++) {
		slot_refresh(&cs->v[i].full);
		if (cs->v[i].delta)
			slot_refresh(&cs->v[i].dl);
	}
}

int crl_served_ready(crl_served *cs, time_t now, char *why, size_t whylen)
{
	for (size_t i = 0; i < cs->n; i++) {
		struct crl_file *f = slot_get(&cs->v[i].full);
		if (f == NULL) {
			snprintf(why, whylen, "%s: no CRL published", cs->v[i].name);
			return 1;
		}
		int64_t left = f->info.next_update - (int64_t)now;
		int64_t margin = atomic_load(&cs->v[i].margin);
		int stale = f->info.next_update == 0 || left <= margin;
		file_unref(f);
		if (stale) {
			snprintf(why, whylen, "%s: CRL nextUpdate in %lld s (margin %lld s)", cs->v[i].name,
				 (long long)left, (long long)margin);
			return 1;
		}
	}
	return 0;
}

static void http_date(time_t t, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* RFC 9110 8.8.3.2 / 13.1.2: a comma-separated list of entity tags or "*"; weak comparison. */
static int etag_match(const char *hdr, const char *etag)
{
	const char *p = hdr;
	size_t el = strlen(etag);

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		const char *e = strchr(p, ',');
		size_t l = e != NULL ? (size_t)(e - p) : strlen(p);
		while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t'))
			l--;
		if (l == el && memcmp(p, etag, el) == 0)
			return 1;
		p += l;
		while (*p && *p != ',')
			p++;
	}
	return 0;
}

static int not_modified(const struct http_request *req, const struct crl_file *f)
{
	const char *inm = http_request_header(req, "If-None-Match");
	const char *ims;
	struct tm tm;

	if (inm != NULL)
		return etag_match(inm, f->etag);
	ims = http_request_header(req, "If-Modified-Since");
	if (ims == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(ims, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return 0; /* RFC 9110 13.1.3: an invalid date is ignored */
	return (int64_t)timegm(&tm) >= f->info.this_update;
}

void crl_served_handle(void *arg, const struct http_request *req, struct http_response *resp)
{
	crl_served *cs = arg;
	const char *fname = req->path + 5; /* after "/crl/" (the route prefix) */
	struct slot *s = NULL;
	struct crl_file *f;
	char date[64];

	if (strncmp(req->path, "/crl/", 5) != 0 || strlen(fname) >= CRL_NAME_MAX + 16) {
		http_response_text(resp, 404, "no such CRL\n");
		return;
	}
	for (size_t i = 0; i < cs->n && s == NULL; i++) {
		if (strcmp(fname, cs->v[i].full.fname) == 0)
			s = &cs->v[i].full;
		else if (cs->v[i].delta && strcmp(fname, cs->v[i].dl.fname) == 0)
			s = &cs->v[i].dl;
	}
	if (s == NULL) {
		http_response_text(resp, 404, "no such CRL\n");
		return;
	}
	f = slot_get(s);
	if (f == NULL) {
		http_response_text(resp, 404, "not published yet\n");
		resp->result = "unpublished";
		return;
	}
	int64_t maxage = f->info.next_update - (int64_t)clock_now_sec();
	if (maxage < 0)
		maxage = 0;
	int64_t cap = atomic_load(&cs->max_age);
	if (maxage > cap)
		maxage = cap;
	http_response_header(resp, "ETag", "%s", f->etag);
	http_date((time_t)f->info.this_update, date, sizeof(date));
	http_response_header(resp, "Last-Modified", "%s", date);
	http_date((time_t)f->info.next_update, date, sizeof(date));
	http_response_header(resp, "Expires", "%s", date);
	/* Caches must not keep it past its nextUpdate. */
	http_response_header(resp, "Cache-Control", "public, max-age=%lld, no-transform", (long long)maxage);
	if (not_modified(req, f)) {
		resp->status = 304;
		resp->result = "not_modified";
		file_unref(f);
		return;
	}
	resp->status = 200;
	resp->content_type = "application/pkix-crl"; /* RFC 2585 4.2 */
	resp->body = f->map;
	resp->body_len = f->len;
	resp->body_free = file_unref;
	resp->body_free_arg = f;
}
