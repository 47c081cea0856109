/* cmd_query.c: `vactl list`, `vactl stats`, `vactl export`, `vactl changes` (read-only). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "index.h"
#include "vactl.h"
#include "vtime.h"

struct list_walk {
	const char *label;
	int status;   /* -1: every status */
	uint64_t shown;
};

static int list_one(void *arg, const struct store_serial *s, const struct store_cert_rec *rec)
{
	struct list_walk *w = arg;

	if (w->status >= 0 && rec->status != w->status)
		return 0;
	vactl_cert_print(w->label, s, rec);
	w->shown++;
	return ferror(stdout) ? VA_ERR_IO : 0;
}

int cmd_list(struct vactl *v, int argc, char **argv)
{
	static const struct option opts[] = { { "status", required_argument, NULL, 's' }, { NULL, 0, NULL, 0 } };
	struct vactl_issuers *iss = NULL;
	struct list_walk w = { NULL, -1, 0 };
	const char *only = NULL;
	int c, rc, ret = VACTL_ERROR, found = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 's')
			return vactl_usage("list [LABEL] [--status good|revoked|hold]");
		if (strcmp(optarg, "good") == 0)
			w.status = STORE_GOOD;
		else if (strcmp(optarg, "revoked") == 0)
			w.status = STORE_REVOKED;
		else if (strcmp(optarg, "hold") == 0)
			w.status = STORE_HOLD;
		else
			return vactl_usage("list: --status is good, revoked or hold, not '%s'", optarg);
	}
	if (argc - optind > 1)
		return vactl_usage("list [LABEL] [--status good|revoked|hold]");
	if (optind < argc)
		only = argv[optind];
	if (vactl_store_open(v, STORE_RDONLY) != VA_OK)
		return VACTL_ERROR;
	iss = calloc(1, sizeof(*iss));
	if (iss == NULL || vactl_issuers_collect(v, iss) != VA_OK)
		goto out;
	for (size_t i = 0; i < iss->n; i++) {
		if (only != NULL && strcmp(only, iss->r[i].label) != 0)
			continue;
		found = 1;
		w.label = iss->r[i].label;
		/* Revoked or held ones only: through the store's revoked index, without walking the good ones. */
		if (w.status == STORE_REVOKED || w.status == STORE_HOLD)
			rc = store_revoked_foreach(v->st, iss->r[i].id, list_one, &w);
		else
			rc = store_cert_foreach(v->st, iss->r[i].id, 0, list_one, &w);
		if (rc != VA_OK) {
			vactl_err("listing '%s' failed: %s", w.label, va_strerror(rc));
			goto out;
		}
	}
	if (only != NULL && !found) {
		vactl_err("unknown issuer label '%s' (see `vactl ca list`)", only);
		goto out;
	}
	ret = VACTL_OK;
out:
	free(iss);
	return ret;
}

int cmd_stats(struct vactl *v, int argc, char **argv)
{
	struct store_stats s;
	uint64_t last = 0;
	int rc;

	if (argc != 1)
		return vactl_usage("stats");
	if (vactl_store_open(v, STORE_RDONLY) != VA_OK)
		return VACTL_ERROR;
	rc = store_stats_get(v->st, &s);
	if (rc == VA_OK)
		rc = store_changes_last(v->st, &last);
	if (rc != VA_OK) {
		vactl_err("stats: %s", va_strerror(rc));
		return VACTL_ERROR;
	}
	printf("store\t%s\nissuers\t%llu\ncertificates\t%llu\ngood\t%llu\nrevoked\t%llu\nhold\t%llu\n"
	       "changes\t%llu\nlast_change\t%llu\nmap_size\t%llu\nmap_used\t%llu\n",
	       v->store_path, (unsigned long long)s.issuers, (unsigned long long)s.certs,
	       (unsigned long long)s.good, (unsigned long long)s.revoked, (unsigned long long)s.hold,
	       (unsigned long long)s.changes, (unsigned long long)last, (unsigned long long)s.map_size,
	       (unsigned long long)s.map_used);
	return VACTL_OK;
}

struct export_walk {
	const char *label;
	int64_t now;
	uint64_t lines;
	int failed;
};

static int export_one(void *arg, const struct store_serial *s, const struct store_cert_rec *rec)
{
	struct export_walk *w = arg;
	struct index_entry e;
	char subject[LIM_ISSUER_LABEL_MAX + 2 * LIM_SERIAL_MAX + 32], hex[2 * LIM_SERIAL_MAX + 3], line[512];

	index_entry_from_rec(s, rec, w->now, &e);
	/* The store keeps no subject names. `openssl ca` (unique_subject = yes, its default) refuses two valid
	 * entries with one subject, so each line gets a distinct placeholder. */
	index_serial_format(s, hex, sizeof(hex));
	snprintf(subject, sizeof(subject), "/CN=%s serial %s", w->label, hex);
	e.subject = subject;
	if (index_line_format(&e, line, sizeof(line)) != VA_OK) {
		vactl_err("serial %s: a date is out of the index.txt range", hex);
		w->failed = 1;
		return VA_ERR_RANGE;
	}
	fputs(line, stdout);
	w->lines++;
	return ferror(stdout) ? VA_ERR_IO : 0;
}

int cmd_export(struct vactl *v, int argc, char **argv)
{
	struct export_walk w = { NULL, 0, 0, 0 };
	uint32_t id;
	int rc;

	if (argc != 2)
		return vactl_usage("export LABEL > index.txt");
	w.label = argv[1];
	w.now = clock_now_sec();
	if (vactl_store_open(v, STORE_RDONLY) != VA_OK)
		return VACTL_ERROR;
	if (vactl_issuer_find(v, w.label, &id, NULL) != VA_OK)
		return VACTL_ERROR;
	rc = store_cert_foreach(v->st, id, 0, export_one, &w);
	if (rc == VA_OK && fflush(stdout) != 0)
		rc = VA_ERR_IO;
	if (rc != VA_OK) {
		if (!w.failed)
			vactl_err("export of '%s' failed: %s", w.label, va_strerror(rc));
		return VACTL_ERROR;
	}
	vactl_info(v, "exported %llu entries of '%s'", (unsigned long long)w.lines, w.label);
	return VACTL_OK;
}

struct changes_walk {
	const struct vactl_issuers *iss;
};

static const char *change_op_name(int op)
{
	switch (op) {
	case STORE_OP_ISSUE: return "issue";
	case STORE_OP_REVOKE: return "revoke";
	case STORE_OP_HOLD: return "hold";
	case STORE_OP_RELEASE: return "release";
	case STORE_OP_ISSUER_ADD: return "issuer-add";
	default: return "unknown";
	}
}

static int changes_one(void *arg, const struct store_change *ch)
{
	const struct changes_walk *w = arg;
	const char *label = "?";
	char when[VTIME_STR_MAX] = "?", hex[2 * LIM_SERIAL_MAX + 3] = "-";

	for (size_t i = 0; i < w->iss->n; i++)
		if (w->iss->r[i].id == ch->issuer_id)
			label = w->iss->r[i].label;
	if (vtime_format_iso(ch->when, when, sizeof(when)) != VA_OK)
		snprintf(when, sizeof(when), "?");
	if (ch->op != STORE_OP_ISSUER_ADD)
		store_serial_to_hex(&ch->serial, hex, sizeof(hex));
	printf("%llu\t%s\t%s\t%s\t%s\t%s\t%.*s\n", (unsigned long long)ch->seq, when, change_op_name(ch->op), label,
	       hex, ch->op == STORE_OP_ISSUER_ADD ? "-" : store_status_name(ch->rec.status), LIM_ACTOR_MAX,
	       ch->actor);
	return ferror(stdout) ? VA_ERR_IO : 0;
}

int cmd_changes(struct vactl *v, int argc, char **argv)
{
	static const struct option opts[] = { { "since", required_argument, NULL, 's' }, { NULL, 0, NULL, 0 } };
	struct vactl_issuers *iss = NULL;
	struct changes_walk w;
	unsigned long long since = 0;
	char *end;
	int c, rc, ret = VACTL_ERROR;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 's')
			return vactl_usage("changes [--since SEQ]");
		errno = 0;
		since = strtoull(optarg, &end, 10);
		if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-')
			return vactl_usage("changes: --since takes a sequence number, not '%s'", optarg);
	}
	if (optind != argc)
		return vactl_usage("changes [--since SEQ]");
	if (vactl_store_open(v, STORE_RDONLY) != VA_OK)
		return VACTL_ERROR;
	iss = calloc(1, sizeof(*iss));
	if (iss == NULL || vactl_issuers_collect(v, iss) != VA_OK)
		goto out;
	w.iss = iss;
	rc = store_changes_since(v->st, (uint64_t)since, 0, changes_one, &w);
	if (rc != VA_OK) {
		vactl_err("reading the change log: %s", va_strerror(rc));
		goto out;
	}
	ret = VACTL_OK;
out:
	free(iss);
	return ret;
}
