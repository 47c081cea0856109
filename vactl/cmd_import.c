/*
 * cmd_import.c: `vactl import LABEL FILE|DIR...` and `vactl import LABEL --index index.txt`.
 *
 * All or nothing per input: every line or certificate is parsed and checked (format, issuer, duplicates) before
 * anything is written; only then are the changes written in batches (store_batch_*, LIM_STORE_BATCH records per
 * transaction). An import killed during the writes leaves whole batches; running it again completes it, since
 * records already present unchanged are skipped. Entries are written in serial order, which is also LMDB's key
 * order (fewer page splits on large imports).
 *
 * What an entry does to a record already in the store:
 *   absent                         -> added
 *   same status, dates and reason  -> unchanged (re-import is a no-op)
 *   store good                     -> updated to the entry (revocation, hold, notAfter)
 *   store on hold, entry revoked   -> updated (the hold becomes a revocation)
 *   store revoked, entry good/hold -> kept, with a warning: a revocation is never undone by an import
 *   store on hold, entry good      -> kept, with a warning: a hold is lifted by `vactl release`, not by an
 *                                     index that may simply predate it
 *   store revoked, entry revoked   -> updated (the CA's database is the authority on its revocation details)
 * Certificate files carry no status: they add good records or update notAfter, never touch a revocation.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index.h"
#include "vactl.h"

/* Problems listed before the rest are only counted. */
#define IMPORT_ERRORS_SHOWN 20
/* Progress line every this many records, on a terminal. */
#define IMPORT_PROGRESS_STEP 10000

enum import_action { ACT_ADD = 0, ACT_UPDATE, ACT_UNCHANGED, ACT_KEEP };

struct import_entry {
	struct store_serial serial;
	struct store_cert_rec rec;
	uint32_t where;   /* line number (index) or input file number (certificates) */
	uint8_t action;   /* enum import_action */
};

struct import {
	struct vactl *v;
	const char *label;
	const char *index_path;   /* for messages */
	uint32_t issuer;
	int from_index;           /* entries carry a status (index.txt) or only notAfter (certificates) */
	struct import_entry *e;
	size_t n, cap;
	char **files;             /* certificate inputs, for messages; where indexes them */
	size_t nfiles, files_cap;
	unsigned errors;
};

static void import_problem(struct import *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void import_problem(struct import *im, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	if (im->errors++ >= IMPORT_ERRORS_SHOWN)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	vactl_err("%s", text);
}

static struct import_entry *import_push(struct import *im)
{
	if (im->n == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 1024;
		struct import_entry *e = reallocarray(im->e, cap, sizeof(*e));

		if (e == NULL)
			return NULL;
		im->e = e;
		im->cap = cap;
	}
	memset(&im->e[im->n], 0, sizeof(im->e[0]));
	return &im->e[im->n++];
}

static int serial_cmp(const struct store_serial *a, const struct store_serial *b)
{
	/* Negative serials first, then by magnitude: numeric order for the positive ones. */
	if (a->negative != b->negative)
		return a->negative ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(a->mag, b->mag, a->len);
}

static int entry_cmp(const void *pa, const void *pb)
{
	const struct import_entry *a = pa, *b = pb;
	int c = serial_cmp(&a->serial, &b->serial);

	if (c != 0)
		return c;
	return a->where < b->where ? -1 : a->where > b->where;
}

static void progress(const struct import *im, const char *what, size_t done, size_t total, int last)
{
	if (im->v->quiet || !isatty(STDERR_FILENO))
		return;
	fprintf(stderr, "\rvactl: %s %zu/%zu (%zu%%)%s", what, done, total, total ? done * 100 / total : 100,
		last ? "\n" : "");
}

/* Pass 1 for index.txt: parse every line; nothing is kept from a file with a bad line. */
static int import_index_parse(struct import *im, const char *path)
{
	struct stat sb;
	const char *data = NULL, *p, *end;
	char *line = NULL;
	uint32_t lineno = 0;
	int fd, rc = VA_ERR_IO;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		vactl_err("%s: %s", path, strerror(errno));
		return VA_ERR_IO;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		vactl_err("%s: not a regular file", path);
		goto out;
	}
	line = malloc(INDEX_LINE_MAX + 1);
	if (line == NULL) {
		rc = VA_ERR_NOMEM;
		goto out;
	}
	if (sb.st_size > 0) {
		data = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (data == MAP_FAILED) {
			data = NULL;
			vactl_err("%s: %s", path, strerror(errno));
			goto out;
		}
	}
	/* An empty file has no mapping: no lines, an import of nothing. */
	p = data;
	end = data != NULL ? data + sb.st_size : NULL;
	while (p != NULL && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl != NULL ? nl : end) - p);
		struct index_entry ie;
		struct import_entry *e;
		const char *why;
		int prc;

		if (++lineno == UINT32_MAX) {
			vactl_err("%s: too many lines", path);
			rc = VA_ERR_RANGE;
			goto out;
		}
		if (len > INDEX_LINE_MAX) {
			import_problem(im, "%s:%u: line too long (over %d bytes)", path, lineno, INDEX_LINE_MAX);
		} else {
			memcpy(line, p, len);
			prc = index_line_parse(line, len, &ie, &why);
			if (prc < 0) {
				import_problem(im, "%s:%u: %s", path, lineno, why);
			} else if (prc == VA_OK && im->errors == 0) {
				e = import_push(im);
				if (e == NULL) {
					rc = VA_ERR_NOMEM;
					goto out;
				}
				e->serial = ie.serial;
				index_entry_to_rec(&ie, &e->rec);
				e->where = lineno;
			}
		}
		p = nl != NULL ? nl + 1 : end;
		if (lineno % (10 * IMPORT_PROGRESS_STEP) == 0)
			progress(im, "reading (bytes)", (size_t)(p - data), (size_t)sb.st_size, 0);
	}
	if (lineno >= 10 * IMPORT_PROGRESS_STEP)
		progress(im, "reading (bytes)", (size_t)sb.st_size, (size_t)sb.st_size, 1);
	rc = VA_OK;
out:
	if (data != NULL)
		munmap((void *)data, (size_t)sb.st_size);
	free(line);
	close(fd);
	return rc;
}

static int import_add_file(struct import *im, const char *path)
{
	if (im->nfiles == im->files_cap) {
		size_t cap = im->files_cap ? im->files_cap * 2 : 64;
		char **f = reallocarray(im->files, cap, sizeof(*f));

		if (f == NULL)
			return VA_ERR_NOMEM;
		im->files = f;
		im->files_cap = cap;
	}
	im->files[im->nfiles] = strdup(path);
	if (im->files[im->nfiles] == NULL)
		return VA_ERR_NOMEM;
	im->nfiles++;
	return VA_OK;
}

/* Pass 1 for certificates: every certificate of the file must be issued by the CA. */
static int import_cert_file(struct import *im, X509 *ca, const char *path)
{
	STACK_OF(X509) *sk = NULL;
	char hex[2 * LIM_SERIAL_MAX + 3];
	int rc;

	rc = import_add_file(im, path);
	if (rc != VA_OK)
		return rc;
	if (vactl_certs_load(path, &sk) != VA_OK) {
		im->errors++;
		return VA_OK;
	}
	for (int i = 0; i < sk_X509_num(sk); i++) {
		X509 *x = sk_X509_value(sk, i);
		struct import_entry *e;
		struct store_serial s;
		const char *why = "";
		int64_t na;

		if (vactl_cert_serial(x, &s) != VA_OK || vactl_cert_not_after(x, &na) != VA_OK) {
			import_problem(im, "%s: certificate %d: serial longer than %d octets or bad notAfter", path,
				       i + 1, LIM_SERIAL_MAX);
			continue;
		}
		store_serial_to_hex(&s, hex, sizeof(hex));
		if (vactl_cert_issued_by(ca, x, &why) != VA_OK) {
			import_problem(im, "%s: certificate serial %s was not issued by '%s': %s", path, hex, im->label,
				       why);
			continue;
		}
		e = import_push(im);
		if (e == NULL) {
			rc = VA_ERR_NOMEM;
			break;
		}
		e->serial = s;
		e->rec.status = STORE_GOOD;
		e->rec.not_after = na;
		e->where = (uint32_t)(im->nfiles - 1);
	}
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory: its regular files in name order (hidden files skipped), not recursive. */
static int import_cert_dir(struct import *im, X509 *ca, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = VA_OK;

	if (d == NULL) {
		vactl_err("%s: %s", dir, strerror(errno));
		return VA_ERR_IO;
	}
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		struct stat sb;

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if (n == cap) {
			char **nn = reallocarray(names, cap ? cap * 2 : 64, sizeof(*nn));

			if (nn == NULL) {
				rc = VA_ERR_NOMEM;
				goto out;
			}
			names = nn;
			cap = cap ? cap * 2 : 64;
		}
		names[n] = strdup(path);
		if (names[n] == NULL) {
			rc = VA_ERR_NOMEM;
			goto out;
		}
		n++;
	}
	if (n == 0) {
		import_problem(im, "%s: no certificate files in the directory", dir);
		goto out;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n && rc == VA_OK; i++)
		rc = import_cert_file(im, ca, names[i]);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

/* After sorting: the same serial twice is an error in an index (TXT_DB's serial index is unique) and, with two
 * different notAfter values, in certificate files (one CA, one serial, two certificates: RFC 5280 4.1.2.2
 * forbids it). Identical certificates given twice collapse into one. */
static void import_dups(struct import *im, const char *index_path)
{
	size_t w = 0;
	char hex[2 * LIM_SERIAL_MAX + 3];

	for (size_t r = 0; r < im->n; r++) {
		if (w > 0 && serial_cmp(&im->e[w - 1].serial, &im->e[r].serial) == 0) {
			store_serial_to_hex(&im->e[r].serial, hex, sizeof(hex));
			if (im->from_index)
				import_problem(im, "%s:%u: serial %s already on line %u", index_path, im->e[r].where,
					       hex, im->e[w - 1].where);
			else if (im->e[w - 1].rec.not_after != im->e[r].rec.not_after)
				import_problem(im, "%s: serial %s also in %s with another notAfter: two certificates "
					       "with one serial", im->files[im->e[r].where], hex,
					       im->files[im->e[w - 1].where]);
			continue;
		}
		im->e[w++] = im->e[r];
	}
	im->n = w;
}

static int rec_same(const struct store_cert_rec *a, const struct store_cert_rec *b)
{
	if (a->status != b->status || a->not_after != b->not_after)
		return 0;
	if (a->status == STORE_GOOD)
		return 1;
	return a->reason == b->reason && a->revoked_at == b->revoked_at && a->has_invalidity == b->has_invalidity &&
	       (!a->has_invalidity || a->invalidity == b->invalidity);
}

/* What an index entry does to the record the store has: the rules of the header comment, which are the store's
 * own (store_batch_put) plus "an index never lifts a hold". *warn: why an entry that differs is not applied. */
static int classify_index(const struct store_cert_rec *cur, const struct store_cert_rec *in, const char **warn)
{
	*warn = NULL;
	if (rec_same(cur, in))
		return ACT_UNCHANGED;
	switch (cur->status) {
	case STORE_GOOD:
		return ACT_UPDATE;
	case STORE_HOLD:
		if (in->status == STORE_GOOD) {
			*warn = "on hold in the store but valid in the index: kept on hold (`vactl release` lifts it)";
			return ACT_KEEP;
		}
		/* A hold becomes a revocation; between two holds only notAfter is updated. */
		if (in->status == STORE_REVOKED || in->not_after != cur->not_after)
			return ACT_UPDATE;
		*warn = "on hold in the store since another date: the store's hold is kept";
		return ACT_KEEP;
	default:
		if (in->status == STORE_GOOD) {
			*warn = "revoked in the store but valid in the index: kept revoked";
			return ACT_KEEP;
		}
		if (in->status == STORE_HOLD) {
			*warn = "revoked in the store but on hold in the index: kept revoked";
			return ACT_KEEP;
		}
		/* RFC 5280 5.3.1: a revocation's reason may later become keyCompromise; nothing else is rewritten. */
		if ((in->reason == STORE_REASON_KEY_COMPROMISE && cur->reason != STORE_REASON_KEY_COMPROMISE) ||
		    in->not_after != cur->not_after)
			return ACT_UPDATE;
		*warn = "revoked in the store with another date or reason: the store's revocation is kept";
		return ACT_KEEP;
	}
}

/* Pass 2: what each entry would do, from the store's current records (read transactions only). */
static int import_classify(struct import *im, size_t counts[4])
{
	char hex[2 * LIM_SERIAL_MAX + 3];

	for (size_t i = 0; i < im->n; i++) {
		struct import_entry *e = &im->e[i];
		struct store_cert_rec cur;
		int rc = store_cert_get(im->v->st, im->issuer, &e->serial, &cur);

		if (rc == VA_ERR_NOTFOUND) {
			e->action = ACT_ADD;
		} else if (rc != VA_OK) {
			vactl_err("store read failed: %s", va_strerror(rc));
			return rc;
		} else if (!im->from_index) {
			/* A certificate file says nothing about revocation: keep the status, refresh notAfter. */
			if (cur.not_after == e->rec.not_after) {
				e->action = ACT_UNCHANGED;
			} else {
				int64_t na = e->rec.not_after;

				e->rec = cur;
				e->rec.not_after = na;
				e->action = ACT_UPDATE;
			}
		} else {
			const char *warn = NULL;

			e->action = (uint8_t)classify_index(&cur, &e->rec, &warn);
			if (warn != NULL && !im->v->quiet) {
				store_serial_to_hex(&e->serial, hex, sizeof(hex));
				fprintf(stderr, "vactl: warning: %s:%u: serial %s is %s\n", im->index_path, e->where, hex,
					warn);
			}
		}
		counts[e->action]++;
		if (i % IMPORT_PROGRESS_STEP == 0)
			progress(im, "checking", i, im->n, 0);
	}
	progress(im, "checking", im->n, im->n, 1);
	return VA_OK;
}

static int import_apply(struct import *im, size_t counts[4])
{
	store_batch *b;
	size_t done = 0, todo = 0;
	int err = 0, rc = VA_OK;

	for (size_t i = 0; i < im->n; i++)
		todo += im->e[i].action == ACT_ADD || im->e[i].action == ACT_UPDATE;
	if (todo == 0)
		return VA_OK;
	b = store_batch_begin(im->v->st, &err);
	if (b == NULL) {
		vactl_err("cannot start writing: %s", va_strerror(err));
		return err ? err : VA_ERR_STORE;
	}
	for (size_t i = 0; i < im->n; i++) {
		struct import_entry *e = &im->e[i];

		if (e->action != ACT_ADD && e->action != ACT_UPDATE)
			continue;
		rc = store_batch_put(b, im->issuer, &e->serial, &e->rec);
		/* Counts follow what the store did: another writer may have changed the record since pass 2. */
		if (rc == VA_ERR_EXISTS || rc == VA_ERR_CONFLICT) {
			counts[e->action]--;
			counts[rc == VA_ERR_EXISTS ? ACT_UNCHANGED : ACT_KEEP]++;
			rc = VA_OK;
		}
		if (rc != VA_OK) {
			char hex[2 * LIM_SERIAL_MAX + 3];

			store_serial_to_hex(&e->serial, hex, sizeof(hex));
			vactl_err("writing serial %s failed: %s (earlier batches are committed; run the import again "
				  "to complete it)", hex, va_strerror(rc));
			break;
		}
		if (++done % IMPORT_PROGRESS_STEP == 0)
			progress(im, "writing", done, todo, 0);
	}
	if (rc == VA_OK) {
		rc = store_batch_end(b, 1);
		if (rc != VA_OK)
			vactl_err("commit failed: %s", va_strerror(rc));
		else
			progress(im, "writing", done, todo, 1);
	} else {
		store_batch_end(b, 0);
	}
	return rc;
}

static void import_free(struct import *im)
{
	free(im->e);
	for (size_t i = 0; i < im->nfiles; i++)
		free(im->files[i]);
	free(im->files);
}

int cmd_import(struct vactl *v, int argc, char **argv)
{
	static const struct option opts[] = { { "index", required_argument, NULL, 'i' }, { NULL, 0, NULL, 0 } };
	struct import im;
	const char *index_path = NULL;
	size_t counts[4] = { 0, 0, 0, 0 };
	X509 *ca = NULL;
	int c, rc, ret = VACTL_ERROR;

	memset(&im, 0, sizeof(im));
	optind = 0;
	while ((c = getopt_long(argc, argv, "i:", opts, NULL)) != -1) {
		if (c != 'i')
			return vactl_usage("import LABEL FILE|DIR... | import LABEL --index index.txt");
		index_path = optarg;
	}
	if (optind >= argc)
		return vactl_usage("import LABEL FILE|DIR... | import LABEL --index index.txt");
	im.label = argv[optind++];
	if (index_path != NULL && optind != argc)
		return vactl_usage("import LABEL --index index.txt takes no other files");
	if (index_path == NULL && optind == argc)
		return vactl_usage("import LABEL FILE|DIR...: no files given");
	im.v = v;
	im.from_index = index_path != NULL;
	im.index_path = index_path;
	if (vactl_store_open(v, STORE_RDWR) != VA_OK)
		goto out;
	if (vactl_issuer_find(v, im.label, &im.issuer, im.from_index ? NULL : &ca) != VA_OK)
		goto out;

	/* Pass 1: parse and check everything. */
	if (im.from_index) {
		rc = import_index_parse(&im, index_path);
	} else {
		rc = VA_OK;
		for (int i = optind; i < argc && rc == VA_OK; i++) {
			struct stat sb;

			if (stat(argv[i], &sb) != 0) {
				import_problem(&im, "%s: %s", argv[i], strerror(errno));
				continue;
			}
			rc = S_ISDIR(sb.st_mode) ? import_cert_dir(&im, ca, argv[i]) : import_cert_file(&im, ca, argv[i]);
		}
	}
	if (rc != VA_OK) {
		vactl_err("import failed: %s", va_strerror(rc));
		goto out;
	}
	qsort(im.e, im.n, sizeof(im.e[0]), entry_cmp);
	import_dups(&im, index_path);
	if (im.errors > 0) {
		if (im.errors > IMPORT_ERRORS_SHOWN)
			vactl_err("... %u problems in all", im.errors);
		vactl_err("nothing imported: fix the input and run the import again");
		goto out;
	}

	/* Pass 2: compare with the store; pass 3: write. */
	if (import_classify(&im, counts) != VA_OK)
		goto out;
	if (import_apply(&im, counts) != VA_OK)
		goto out;
	if (!v->quiet)
		printf("%s: %zu entries: %zu added, %zu updated, %zu unchanged, %zu kept\n",
		       im.from_index ? index_path : "certificates", im.n, counts[ACT_ADD], counts[ACT_UPDATE],
		       counts[ACT_UNCHANGED], counts[ACT_KEEP]);
	if (counts[ACT_ADD] + counts[ACT_UPDATE] == 0)
		vactl_info(v, "nothing to do: the store already holds all of it");
	ret = VACTL_OK;
out:
	X509_free(ca);
	import_free(&im);
	return ret;
}
