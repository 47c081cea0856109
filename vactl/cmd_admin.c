/* cmd_admin.c: `vactl init`, `vactl backup DIR`, `vactl check`, `vactl reindex`. */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vactl.h"

int cmd_init(struct vactl *v, int argc, char **argv)
{
	char data[4200];
	int existed;

	if (argc != 1)
		return vactl_usage("init");
	snprintf(data, sizeof(data), "%s/data.mdb", v->store_path);
	existed = access(data, F_OK) == 0;
	if (vactl_store_open(v, STORE_RDWR | STORE_CREATE) != VA_OK)
		return VACTL_ERROR;
	vactl_info(v, "%s store %s (schema %d)", existed ? "existing" : "initialised", v->store_path,
		   STORE_SCHEMA_VERSION);
	return VACTL_OK;
}

/* 1 if dir exists and is empty, 0 if it does not exist, -1 otherwise (message printed). */
static int dir_state(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int empty = 1;

	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		vactl_err("%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	if (!empty) {
		vactl_err("%s: not empty; a backup goes into a new or empty directory", dir);
		return -1;
	}
	return 1;
}

int cmd_backup(struct vactl *v, int argc, char **argv)
{
	struct store_stats s;
	store *copy = NULL;
	int st, rc, err = 0, problems, ret = VACTL_ERROR;

	if (argc != 2)
		return vactl_usage("backup DIR");
	st = dir_state(argv[1]);
	if (st < 0)
		return VACTL_ERROR;
	if (st == 0 && mkdir(argv[1], 0700) != 0) {
		vactl_err("%s: %s", argv[1], strerror(errno));
		return VACTL_ERROR;
	}
	if (vactl_store_open(v, STORE_RDONLY) != VA_OK)
		return VACTL_ERROR;
	rc = store_backup(v->st, argv[1]);
	if (rc != VA_OK) {
		vactl_err("backup to %s failed: %s", argv[1], va_strerror(rc));
		return VACTL_ERROR;
	}
	/* A backup is only one if it opens and checks clean. */
	copy = store_open(argv[1], STORE_RDONLY, 0, &err);
	if (copy == NULL) {
		vactl_err("the backup in %s does not open: %s", argv[1], va_strerror(err));
		return VACTL_ERROR;
	}
	problems = store_check(copy);
	if (problems != 0) {
		vactl_err("the backup in %s fails its check (%d)", argv[1], problems);
		goto out;
	}
	if (store_stats_get(copy, &s) != VA_OK) {
		vactl_err("the backup in %s: cannot read its statistics", argv[1]);
		goto out;
	}
	vactl_info(v, "backup in %s: %llu issuers, %llu certificates, %llu changes; check passed", argv[1],
		   (unsigned long long)s.issuers, (unsigned long long)s.certs, (unsigned long long)s.changes);
	ret = VACTL_OK;
out:
	store_close(copy);
	return ret;
}

int cmd_check(struct vactl *v, int argc, char **argv)
{
	int problems;

	if (argc != 1)
		return vactl_usage("check");
	if (vactl_store_open(v, STORE_RDONLY) != VA_OK)
		return VACTL_ERROR;
	problems = store_check(v->st);
	if (problems < 0) {
		vactl_err("check could not run: %s", va_strerror(problems));
		return VACTL_ERROR;
	}
	if (problems > 0) {
		vactl_err("store %s: %d problems (listed above)", v->store_path, problems);
		return VACTL_ERROR;
	}
	vactl_info(v, "store %s: consistent", v->store_path);
	return VACTL_OK;
}

/* The repair for what `check` reports about the revoked index (missing, extra, differing or undecodable entries,
 * or no index at all): CRLs are built from the index alone, so it is rebuilt from the certificates, which stay
 * the reference. The store does it inside the open, in one write transaction, so ocspd and crlgen may keep
 * running: their readers see the old index or the new one. Then the whole store is checked again, since damage
 * elsewhere (a certificate record, the change log) is not the index's to repair. */
int cmd_reindex(struct vactl *v, int argc, char **argv)
{
	struct store_stats s;
	int problems;

	if (argc != 1)
		return vactl_usage("reindex");
	if (vactl_store_open(v, STORE_RDWR | STORE_REINDEX) != VA_OK)
		return VACTL_ERROR;
	if (store_stats_get(v->st, &s) != VA_OK) {
		vactl_err("store %s: revoked index rebuilt, but its counts cannot be read", v->store_path);
		return VACTL_ERROR;
	}
	vactl_info(v, "store %s: revoked index rebuilt from the certificates: %llu revoked, %llu on hold",
		   v->store_path, (unsigned long long)s.revoked, (unsigned long long)s.hold);
	problems = store_check(v->st);
	if (problems < 0) {
		vactl_err("check could not run: %s", va_strerror(problems));
		return VACTL_ERROR;
	}
	if (problems > 0) {
		vactl_err("store %s: still %d problems after the rebuild (listed above); the index cannot repair them",
			  v->store_path, problems);
		return VACTL_ERROR;
	}
	vactl_info(v, "store %s: consistent", v->store_path);
	return VACTL_OK;
}
