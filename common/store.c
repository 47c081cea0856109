/*
 * store.c: the LMDB environment: open/close, transactions (cached per-thread read transactions, write
 * transactions that grow the map), meta values and counters, statistics, backup and the consistency check.
 * Certificates and the change log are in store_cert.c, issuers in store_issuer.c.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_impl.h"

/* The schema version is STORE_META_SCHEMA in `meta`; counters live under "c:", free-form values under "m:", so
 * that no caller-chosen name can overwrite the schema version. */
#define META_SCHEMA STORE_META_SCHEMA
#define META_COUNTER_PREFIX "c:"
#define META_VALUE_PREFIX "m:"
#define META_VALUE_MAX (64 * 1024)

/* A thread's cached read transaction for one store handle. Allocated on the thread's first read, freed at
 * thread exit (pthread key destructor) or by store_close, whichever comes first. */
struct store_slot {
	store *st;
	MDB_txn *txn; /* reset (idle) between uses; NULL until first use or after an error */
	struct store_slot *prev, *next;
};

int store_lmdb_err(int rc, const char *what)
{
	switch (rc) {
	case MDB_SUCCESS: return 0;
	case MDB_NOTFOUND: return VA_ERR_NOTFOUND;
	case MDB_MAP_FULL: return STORE_EMAPFULL;
	case MDB_MAP_RESIZED: return STORE_ERESIZED;
	case MDB_READERS_FULL:
		log_warn("store: %s: all %d reader slots in use", what, LIM_STORE_READERS);
		return VA_ERR_BUSY;
	case ENOMEM: return VA_ERR_NOMEM;
	case ENOENT: return VA_ERR_NOTFOUND;
	case EACCES:
	case EIO:
	case ENOSPC:
		log_err("store: %s: %s", what, mdb_strerror(rc));
		return VA_ERR_IO;
	default:
		log_err("store: %s: %s", what, mdb_strerror(rc));
		return VA_ERR_STORE;
	}
}

static void slot_destroy(void *p)
{
	struct store_slot *slot = p;
	store *st = slot->st;

	pthread_mutex_lock(&st->slots_mutex);
	if (slot->prev)
		slot->prev->next = slot->next;
	else
		st->slots = slot->next;
	if (slot->next)
		slot->next->prev = slot->prev;
	pthread_mutex_unlock(&st->slots_mutex);
	if (slot->txn)
		mdb_txn_abort(slot->txn);
	free(slot);
}

uint64_t store_map_size(store *st)
{
	MDB_envinfo info;

	if (mdb_env_info(st->env, &info) != 0)
		return 0;
	return (uint64_t)info.me_mapsize;
}

int store_map_adopt(store *st)
{
	int rc;

	pthread_rwlock_wrlock(&st->map_lock);
	/* Size 0: take the size recorded by the process that grew the map. Safe: no transaction of this process is
	 * live while map_lock is held for writing (idle cached read transactions hold no pointer into the map). */
	rc = mdb_env_set_mapsize(st->env, 0);
	if (rc == 0)
		log_info("store: adopted the map size %llu set by another process",
			 (unsigned long long)store_map_size(st));
	pthread_rwlock_unlock(&st->map_lock);
	return store_lmdb_err(rc, "adopting the grown map");
}

int store_map_grow(store *st, uint64_t seen)
{
	int rc = 0;
	uint64_t cur, want;

	pthread_rwlock_wrlock(&st->map_lock);
	cur = store_map_size(st);
	if (cur > seen)
		goto out; /* another thread of ours grew it meanwhile */
	/* Another process may have grown it already: adopt its size first, then grow past what we saw. */
	rc = mdb_env_set_mapsize(st->env, 0);
	if (rc != 0)
		goto out;
	cur = store_map_size(st);
	if (cur > seen)
		goto out;
	if (seen >= LIM_STORE_MAP_MAX) {
		log_err("store: map full at its limit of %llu bytes", (unsigned long long)LIM_STORE_MAP_MAX);
		pthread_rwlock_unlock(&st->map_lock);
		return VA_ERR_FULL;
	}
	want = seen * 2;
	if (want > LIM_STORE_MAP_MAX)
		want = LIM_STORE_MAP_MAX;
	rc = mdb_env_set_mapsize(st->env, (size_t)want);
	if (rc == 0)
		log_info("store: map grown from %llu to %llu bytes", (unsigned long long)seen,
			 (unsigned long long)want);
out:
	pthread_rwlock_unlock(&st->map_lock);
	return store_lmdb_err(rc, "growing the map");
}

int store_rtxn_begin(store *st, MDB_txn **txn)
{
	for (int attempt = 0; attempt < 4; attempt++) {
		pthread_rwlock_rdlock(&st->map_lock);
		int rc = store_lmdb_err(mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn), "read transaction");
		if (rc == 0)
			return 0;
		pthread_rwlock_unlock(&st->map_lock);
		if (rc != STORE_ERESIZED)
			return rc;
		rc = store_map_adopt(st);
		if (rc)
			return rc;
	}
	return VA_ERR_STORE;
}

void store_rtxn_end(store *st, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&st->map_lock);
}

/* The hot path's read transaction: this thread's cached one, renewed. On success map_lock is held for reading
 * until slot_release. Allocates only on a thread's first use. */
static int slot_acquire(store *st, struct store_slot **out)
{
	struct store_slot *slot = pthread_getspecific(st->slot_key);
	int rc;

	if (slot == NULL) {
		slot = calloc(1, sizeof(*slot));
		if (slot == NULL)
			return VA_ERR_NOMEM;
		slot->st = st;
		if (pthread_setspecific(st->slot_key, slot) != 0) {
			free(slot);
			return VA_ERR_NOMEM;
		}
		pthread_mutex_lock(&st->slots_mutex);
		slot->next = st->slots;
		if (st->slots)
			st->slots->prev = slot;
		st->slots = slot;
		pthread_mutex_unlock(&st->slots_mutex);
	}
	for (int attempt = 0; attempt < 4; attempt++) {
		pthread_rwlock_rdlock(&st->map_lock);
		if (slot->txn)
			rc = mdb_txn_renew(slot->txn);
		else
			rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &slot->txn);
		rc = store_lmdb_err(rc, "read transaction");
		if (rc == 0) {
			*out = slot;
			return 0;
		}
		/* A failed renew leaves the transaction in an unspecified state: drop it, begin afresh next time. */
		if (slot->txn) {
			mdb_txn_abort(slot->txn);
			slot->txn = NULL;
		}
		pthread_rwlock_unlock(&st->map_lock);
		if (rc != STORE_ERESIZED)
			return rc;
		rc = store_map_adopt(st);
		if (rc)
			return rc;
	}
	return VA_ERR_STORE;
}

static void slot_release(store *st, struct store_slot *slot)
{
	mdb_txn_reset(slot->txn);
	pthread_rwlock_unlock(&st->map_lock);
}

int store_hot_begin(store *st, void **handle, MDB_txn **txn)
{
	struct store_slot *slot;
	int rc = slot_acquire(st, &slot);

	if (rc)
		return rc;
	*handle = slot;
	*txn = slot->txn;
	return 0;
}

void store_hot_end(store *st, void *handle)
{
	slot_release(st, handle);
}

int store_write(store *st, int (*fn)(store *st, MDB_txn *txn, void *arg), void *arg)
{
	if (!st->rdwr)
		return VA_ERR_INVAL;
	/* Each round either commits, fails for good, or grows the map (at most ~40 doublings to the limit). */
	for (int attempt = 0; attempt < 64; attempt++) {
		MDB_txn *txn = NULL;
		pthread_rwlock_rdlock(&st->map_lock);
		uint64_t seen = store_map_size(st);
		int rc = store_lmdb_err(mdb_txn_begin(st->env, NULL, 0, &txn), "write transaction");
		if (rc == 0) {
			rc = fn(st, txn, arg);
			if (rc == 0)
				rc = store_lmdb_err(mdb_txn_commit(txn), "commit");
			else
				mdb_txn_abort(txn);
		}
		pthread_rwlock_unlock(&st->map_lock);
		if (rc == STORE_EMAPFULL)
			rc = store_map_grow(st, seen);
		else if (rc == STORE_ERESIZED)
			rc = store_map_adopt(st);
		else
			return rc;
		if (rc)
			return rc;
	}
	return VA_ERR_FULL;
}

/* Default actor: the name of the effective user. Under sudo (effective root with SUDO_USER set) the person
 * who ran sudo is recorded as "sudo:NAME", since "root" alone says nothing about who made the change. */
static void actor_default(char *out, size_t outlen)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	uid_t uid = geteuid();
	const char *sudo = getenv("SUDO_USER");

	if (uid == 0 && sudo != NULL && *sudo != '\0') {
		snprintf(out, outlen, "sudo:%s", sudo);
		return;
	}
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		snprintf(out, outlen, "%s", res->pw_name);
	else
		snprintf(out, outlen, "uid:%u", (unsigned)uid);
}

void store_set_actor(store *st, const char *actor)
{
	if (st == NULL)
		return;
	if (actor == NULL || *actor == '\0')
		actor_default(st->actor, sizeof(st->actor));
	else
		snprintf(st->actor, sizeof(st->actor), "%s", actor);
}

int store_schema_get(store *st, MDB_txn *txn, uint32_t *ver)
{
	MDB_val k = { .mv_size = strlen(META_SCHEMA), .mv_data = (void *)META_SCHEMA }, v;
	int rc = mdb_get(txn, st->db_meta, &k, &v);

	if (rc == MDB_NOTFOUND)
		return VA_ERR_NOTFOUND;
	if (rc != 0)
		return store_lmdb_err(rc, "reading the schema version");
	if (v.mv_size != 4) {
		log_err("store: schema version of %zu octets", v.mv_size);
		return VA_ERR_SCHEMA;
	}
	*ver = store_get_le32(v.mv_data);
	return 0;
}

int store_schema_put(store *st, MDB_txn *txn, uint32_t ver)
{
	uint8_t b[4];
	MDB_val k = { .mv_size = strlen(META_SCHEMA), .mv_data = (void *)META_SCHEMA },
		v = { .mv_size = sizeof(b), .mv_data = b };

	store_put_le32(b, ver);
	return store_lmdb_err(mdb_put(txn, st->db_meta, &k, &v, 0), "writing the schema version");
}

/* Opens the databases and checks the schema version. A new store (create, no version, no certificate) gets the
 * current version and every database. A store of schema STORE_SCHEMA_NO_REVIDX is left as it is here
 * (*upgrade set): store_open upgrades it when writable, in a transaction that can grow the map. reindex: a
 * missing index is no error (has_revidx stays 0): store_open rebuilds it before the handle is used. */
static int open_dbs(store *st, int create, int reindex, int *upgrade)
{
	MDB_txn *txn = NULL;
	unsigned dbflags = create ? MDB_CREATE : 0;
	uint32_t ver = 0;
	int rc, fresh = 0;

	*upgrade = 0;
	rc = store_lmdb_err(mdb_txn_begin(st->env, NULL, st->rdwr ? 0 : MDB_RDONLY, &txn), "open transaction");
	if (rc)
		return rc;
	struct {
		const char *name;
		MDB_dbi *dbi;
	} dbs[] = {
		{ "issuers", &st->db_issuers },
		{ "certs", &st->db_certs },
		{ "changes", &st->db_changes },
		{ "meta", &st->db_meta },
	};
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		rc = mdb_dbi_open(txn, dbs[i].name, dbflags, dbs[i].dbi);
		if (rc == MDB_NOTFOUND) {
			log_err("store: database '%s' missing: not a store of this program", dbs[i].name);
			rc = VA_ERR_SCHEMA;
			goto out;
		}
		rc = store_lmdb_err(rc, "opening a database");
		if (rc)
			goto out;
	}
	rc = store_schema_get(st, txn, &ver);
	if (rc == VA_ERR_NOTFOUND && create) {
		MDB_stat ms;
		rc = store_lmdb_err(mdb_stat(txn, st->db_certs, &ms), "stat");
		if (rc)
			goto out;
		if (ms.ms_entries != 0) {
			log_err("store: certificates present but no schema version");
			rc = VA_ERR_SCHEMA;
			goto out;
		}
		ver = STORE_SCHEMA_VERSION;
		fresh = 1;
		if ((rc = store_schema_put(st, txn, ver)) != 0)
			goto out;
	} else if (rc == VA_ERR_NOTFOUND) {
		log_err("store: no schema version");
		rc = VA_ERR_SCHEMA;
		goto out;
	} else if (rc != 0) {
		goto out;
	}
	if (ver == STORE_SCHEMA_NO_REVIDX) {
		*upgrade = 1;
	} else if (ver == STORE_SCHEMA_VERSION) {
		/* Created only with a new store: an index missing from an existing one would list nothing. */
		rc = store_revidx_open(st, txn, fresh ? MDB_CREATE : 0, reindex);
		if (rc < 0)
			goto out;
		st->has_revidx = rc == 0;
		rc = 0;
	} else {
		log_err("store: schema version %u, this program uses %u (and upgrades %u)", (unsigned)ver,
			(unsigned)STORE_SCHEMA_VERSION, (unsigned)STORE_SCHEMA_NO_REVIDX);
		rc = VA_ERR_SCHEMA;
		goto out;
	}
	rc = store_lmdb_err(mdb_txn_commit(txn), "open commit");
	txn = NULL;
out:
	if (txn)
		mdb_txn_abort(txn);
	return rc;
}

store *store_open(const char *path, int flags, uint64_t map_size, int *err)
{
	store *st = NULL;
	int rc, dead = 0, key_ok = 0, locks_ok = 0, upgrade = 0;
	unsigned envflags = MDB_NOTLS;

	if (path == NULL || ((flags & (STORE_CREATE | STORE_REINDEX)) && !(flags & STORE_RDWR))) {
		rc = VA_ERR_INVAL;
		goto out;
	}
	if (map_size == 0)
		map_size = LIM_STORE_MAP_DEFAULT;
	if (map_size > LIM_STORE_MAP_MAX) {
		rc = VA_ERR_RANGE;
		goto out;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		rc = VA_ERR_NOMEM;
		goto out;
	}
	st->rdwr = (flags & STORE_RDWR) != 0;
	if (pthread_rwlock_init(&st->map_lock, NULL) != 0 || pthread_mutex_init(&st->slots_mutex, NULL) != 0) {
		rc = VA_ERR_NOMEM;
		goto out;
	}
	locks_ok = 1;
	if (pthread_key_create(&st->slot_key, slot_destroy) != 0) {
		rc = VA_ERR_NOMEM;
		goto out;
	}
	key_ok = 1;
	actor_default(st->actor, sizeof(st->actor));

	if ((flags & STORE_CREATE) && mkdir(path, 0750) != 0 && errno != EEXIST) {
		log_err("store: mkdir %s: %s", path, strerror(errno));
		rc = VA_ERR_IO;
		goto out;
	}
	if (!(flags & STORE_CREATE)) {
		/* Without STORE_CREATE, LMDB would still create an empty environment in an existing directory. */
		char data[PATH_MAX];
		struct stat sb;
		if ((size_t)snprintf(data, sizeof(data), "%s/data.mdb", path) >= sizeof(data)) {
			rc = VA_ERR_INVAL;
			goto out;
		}
		if (stat(data, &sb) != 0) {
			log_err("store: %s: no store there", path);
			rc = errno == ENOENT ? VA_ERR_NOTFOUND : VA_ERR_IO;
			goto out;
		}
	}
	if ((rc = store_lmdb_err(mdb_env_create(&st->env), "env create")) != 0)
		goto out;
	if ((rc = store_lmdb_err(mdb_env_set_maxreaders(st->env, LIM_STORE_READERS), "set readers")) != 0 ||
	    (rc = store_lmdb_err(mdb_env_set_maxdbs(st->env, 5), "set dbs")) != 0 ||
	    (rc = store_lmdb_err(mdb_env_set_mapsize(st->env, (size_t)map_size), "set map size")) != 0)
		goto out;
	if (!st->rdwr)
		envflags |= MDB_RDONLY;
	rc = mdb_env_open(st->env, path, envflags, 0640);
	if (rc != 0) {
		if (rc == ENOENT)
			log_err("store: %s: no store there", path);
		rc = store_lmdb_err(rc, path);
		goto out;
	}
	/* Reader slots of processes that died (SIGKILL, crash) would pin old pages forever. */
	if (mdb_reader_check(st->env, &dead) == 0 && dead > 0)
		log_info("store: cleared %d stale reader slot(s)", dead);
	rc = open_dbs(st, (flags & STORE_CREATE) != 0, (flags & STORE_REINDEX) != 0, &upgrade);
	/* An upgrade builds the index with the code of a rebuild: no second pass for STORE_REINDEX. */
	if (rc == 0 && upgrade && st->rdwr)
		rc = store_revidx_upgrade(st);
	else if (rc == 0 && (flags & STORE_REINDEX))
		rc = store_revidx_rebuild(st);
	else if (rc == 0 && upgrade)
		log_warn("store: %s has schema %u (no revoked index): read as it is, full CRLs walk every certificate; "
			 "`vactl init` (or any read-write open) upgrades it", path, (unsigned)STORE_SCHEMA_NO_REVIDX);
out:
	if (rc) {
		if (st) {
			if (st->env)
				mdb_env_close(st->env);
			if (key_ok)
				pthread_key_delete(st->slot_key);
			if (locks_ok) {
				pthread_rwlock_destroy(&st->map_lock);
				pthread_mutex_destroy(&st->slots_mutex);
			}
			free(st);
		}
		st = NULL;
	}
	if (err)
		*err = rc;
	return st;
}

void store_close(store *st)
{
	struct store_slot *slot, *next;

	if (st == NULL)
		return;
	/* After this no destructor runs for the slots of threads still alive: they are freed here. */
	pthread_key_delete(st->slot_key);
	pthread_mutex_lock(&st->slots_mutex);
	for (slot = st->slots; slot; slot = next) {
		next = slot->next;
		if (slot->txn)
			mdb_txn_abort(slot->txn);
		free(slot);
	}
	st->slots = NULL;
	pthread_mutex_unlock(&st->slots_mutex);
	mdb_env_close(st->env);
	pthread_rwlock_destroy(&st->map_lock);
	pthread_mutex_destroy(&st->slots_mutex);
	free(st);
}

int store_ping(store *st)
{
	MDB_txn *txn;
	int rc;

	if (st == NULL)
		return VA_ERR_INVAL;
	rc = store_rtxn_begin(st, &txn);
	if (rc == 0)
		store_rtxn_end(st, txn);
	return rc;
}

int store_map_trim(store *st)
{
	MDB_txn *txn;
	MDB_val k = { .mv_size = strlen(META_SCHEMA), .mv_data = (void *)META_SCHEMA }, v;
	char line[PATH_MAX + 256];
	FILE *fp;
	int rc, found = 0;

	if (st == NULL)
		return VA_ERR_INVAL;
	/* LMDB does not tell where its map is (me_mapaddr is only set for MDB_FIXEDMAP); a value read from the
	 * store points into it, and /proc/self/maps gives the mapping that holds that address.
	 * Not store_rtxn_begin: the caller may be inside a walk of this thread (crlgen trims from its callback), holding
	 * map_lock for reading, and adopting a map grown by another process would wait for that lock for ever. The
	 * trim is advice: a resized map just skips it (the next read transaction adopts the size). */
	pthread_rwlock_rdlock(&st->map_lock);
	rc = store_lmdb_err(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), "read transaction");
	if (rc) {
		pthread_rwlock_unlock(&st->map_lock);
		return rc;
	}
	rc = store_lmdb_err(mdb_get(txn, st->db_meta, &k, &v), "reading the schema version");
	if (rc)
		goto out;
	fp = fopen("/proc/self/maps", "re");
	if (fp == NULL) {
		rc = VA_ERR_IO;
		goto out;
	}
	while (!found && fgets(line, sizeof(line), fp) != NULL) {
		unsigned long lo, hi;
		char perms[8];
		uintptr_t a = (uintptr_t)v.mv_data;
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || a < lo || a >= hi)
			continue;
		found = 1;
		/* Without MDB_WRITEMAP the map is read-only and shared: dropping the pages loses nothing. */
		if (strcmp(perms, "r--s") != 0) {
			rc = VA_ERR_STORE;
		} else if (madvise((void *)lo, hi - lo, MADV_DONTNEED) != 0) {
			log_warn("store: madvise: %s", strerror(errno));
			rc = VA_ERR_IO;
		}
	}
	fclose(fp);
	if (!found)
		rc = VA_ERR_NOTFOUND;
out:
	store_rtxn_end(st, txn);
	return rc;
}

/* Meta keys: prefix || name. */
static int meta_key(const char *prefix, const char *name, char *buf, size_t buflen, MDB_val *k)
{
	size_t n;

	if (name == NULL || *name == '\0' || strlen(name) > STORE_META_NAME_MAX)
		return VA_ERR_INVAL;
	n = (size_t)snprintf(buf, buflen, "%s%s", prefix, name);
	k->mv_size = n;
	k->mv_data = buf;
	return 0;
}

struct counter_op {
	MDB_val k;
	uint64_t count, first;
};

static int counter_reserve_txn(store *st, MDB_txn *txn, void *arg)
{
	struct counter_op *op = arg;
	MDB_val v;
	uint8_t buf[8];
	uint64_t next = 1;
	int rc = mdb_get(txn, st->db_meta, &op->k, &v);

	if (rc == 0) {
		if (v.mv_size != 8)
			return VA_ERR_STORE;
		next = store_get_le64(v.mv_data);
	} else if (rc != MDB_NOTFOUND) {
		return store_lmdb_err(rc, "reading a counter");
	}
	if (next == 0 || next > UINT64_MAX - op->count)
		return VA_ERR_RANGE;
	op->first = next;
	store_put_le64(buf, next + op->count);
	v.mv_size = 8;
	v.mv_data = buf;
	return store_lmdb_err(mdb_put(txn, st->db_meta, &op->k, &v, 0), "writing a counter");
}

int store_counter_reserve(store *st, const char *name, uint64_t count, uint64_t *first)
{
	char kbuf[STORE_META_NAME_MAX + 8];
	struct counter_op op = { .count = count };
	int rc;

	if (st == NULL || first == NULL || count == 0)
		return VA_ERR_INVAL;
	if ((rc = meta_key(META_COUNTER_PREFIX, name, kbuf, sizeof(kbuf), &op.k)) != 0)
		return rc;
	rc = store_write(st, counter_reserve_txn, &op);
	if (rc == 0)
		*first = op.first;
	return rc;
}

int store_counter_peek(store *st, const char *name, uint64_t *next)
{
	char kbuf[STORE_META_NAME_MAX + 8];
	MDB_val k, v;
	MDB_txn *txn;
	int rc;

	if (st == NULL || next == NULL)
		return VA_ERR_INVAL;
	if ((rc = meta_key(META_COUNTER_PREFIX, name, kbuf, sizeof(kbuf), &k)) != 0)
		return rc;
	if ((rc = store_rtxn_begin(st, &txn)) != 0)
		return rc;
	rc = mdb_get(txn, st->db_meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		*next = 1;
		rc = 0;
	} else if (rc == 0) {
		if (v.mv_size != 8)
			rc = VA_ERR_STORE;
		else
			*next = store_get_le64(v.mv_data);
	} else {
		rc = store_lmdb_err(rc, "reading a counter");
	}
	store_rtxn_end(st, txn);
	return rc;
}

struct meta_op {
	MDB_val k, v;
};

static int meta_put_txn(store *st, MDB_txn *txn, void *arg)
{
	struct meta_op *op = arg;

	return store_lmdb_err(mdb_put(txn, st->db_meta, &op->k, &op->v, 0), "writing a meta value");
}

int store_meta_put(store *st, const char *name, const void *val, size_t len)
{
	char kbuf[STORE_META_NAME_MAX + 8];
	struct meta_op op = { .v = { .mv_size = len, .mv_data = (void *)val } };
	int rc;

	if (st == NULL || (val == NULL && len > 0))
		return VA_ERR_INVAL;
	if (len > META_VALUE_MAX)
		return VA_ERR_RANGE;
	if ((rc = meta_key(META_VALUE_PREFIX, name, kbuf, sizeof(kbuf), &op.k)) != 0)
		return rc;
	return store_write(st, meta_put_txn, &op);
}

int store_meta_get(store *st, const char *name, void *buf, size_t *len)
{
	char kbuf[STORE_META_NAME_MAX + 8];
	MDB_val k, v;
	MDB_txn *txn;
	int rc;

	if (st == NULL || len == NULL || (buf == NULL && *len > 0))
		return VA_ERR_INVAL;
	if ((rc = meta_key(META_VALUE_PREFIX, name, kbuf, sizeof(kbuf), &k)) != 0)
		return rc;
	if ((rc = store_rtxn_begin(st, &txn)) != 0)
		return rc;
	rc = store_lmdb_err(mdb_get(txn, st->db_meta, &k, &v), "reading a meta value");
	if (rc == 0) {
		size_t n = v.mv_size < *len ? v.mv_size : *len;
		if (n > 0)
			memcpy(buf, v.mv_data, n);
		*len = v.mv_size;
	}
	store_rtxn_end(st, txn);
	return rc;
}

/* Walks dbi (`certs` or the revoked index: both hold certificate records) and counts its entries by status;
 * an entry that does not decode counts in none. */
static int stats_count(MDB_txn *txn, MDB_dbi dbi, uint64_t by_status[3])
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	struct store_cert_rec rec;
	int rc;

	if ((rc = store_lmdb_err(mdb_cursor_open(txn, dbi, &cur), "cursor")) != 0)
		return rc;
	for (int op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
		if (store_cert_rec_decode(v.mv_data, v.mv_size, &rec) == 0 && rec.status <= STORE_HOLD)
			by_status[rec.status]++;
	}
	rc = rc == MDB_NOTFOUND ? 0 : store_lmdb_err(rc, "counting certificates");
	mdb_cursor_close(cur);
	return rc;
}

int store_stats_get(store *st, struct store_stats *out)
{
	MDB_txn *txn;
	MDB_stat ms;
	MDB_envinfo info;
	uint64_t n[3] = { 0, 0, 0 };
	int rc;

	if (st == NULL || out == NULL)
		return VA_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if ((rc = store_rtxn_begin(st, &txn)) != 0)
		return rc;
	if ((rc = store_lmdb_err(mdb_stat(txn, st->db_issuers, &ms), "stat")) != 0)
		goto out;
	out->issuers = ms.ms_entries;
	if ((rc = store_lmdb_err(mdb_stat(txn, st->db_changes, &ms), "stat")) != 0)
		goto out;
	out->changes = ms.ms_entries;
	/* Every issuer's certificates are in `certs` and every issuer's revoked ones in the index, and the counts are
	 * the store's, not an issuer's: LMDB keeps the entry count of each database, so the total costs nothing and
	 * only the index is walked (to split revoked from held): O(revoked) instead of O(certificates). */
	if ((rc = store_lmdb_err(mdb_stat(txn, st->db_certs, &ms), "stat")) != 0)
		goto out;
	out->certs = ms.ms_entries;
	if (st->has_revidx) {
		if ((rc = stats_count(txn, st->db_revoked, n)) != 0)
			goto out;
		out->revoked = n[STORE_REVOKED];
		out->hold = n[STORE_HOLD];
		/* Only a damaged store lists more than it holds (store_check reports it). */
		out->good = out->certs > out->revoked + out->hold ? out->certs - out->revoked - out->hold : 0;
	} else {
		/* A version 1 store opened read-only: no index, every record is read. */
		if ((rc = stats_count(txn, st->db_certs, n)) != 0)
			goto out;
		out->good = n[STORE_GOOD];
		out->revoked = n[STORE_REVOKED];
		out->hold = n[STORE_HOLD];
	}
	if ((rc = store_lmdb_err(mdb_env_info(st->env, &info), "env info")) != 0 ||
	    (rc = store_lmdb_err(mdb_env_stat(st->env, &ms), "env stat")) != 0)
		goto out;
	out->map_size = info.me_mapsize;
	out->map_used = (uint64_t)(info.me_last_pgno + 1) * ms.ms_psize;
out:
	store_rtxn_end(st, txn);
	return rc;
}

int store_backup(store *st, const char *dest)
{
	DIR *d;
	struct dirent *de;
	int rc, empty = 1;

	if (st == NULL || dest == NULL)
		return VA_ERR_INVAL;
	d = opendir(dest);
	if (d == NULL) {
		log_err("store: backup: %s: %s", dest, strerror(errno));
		return errno == ENOENT ? VA_ERR_NOTFOUND : VA_ERR_IO;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	if (!empty) {
		log_err("store: backup: %s is not empty", dest);
		return VA_ERR_EXISTS;
	}
	/* mdb_env_copy2 runs its own read transaction: a consistent snapshot while writers go on. The map must
	 * not be remapped under it, hence map_lock. */
	pthread_rwlock_rdlock(&st->map_lock);
	rc = store_lmdb_err(mdb_env_copy2(st->env, dest, MDB_CP_COMPACT), "backup");
	pthread_rwlock_unlock(&st->map_lock);
	return rc;
}

/* Whether the change a record points to records this very state of this certificate: the change and the
 * record were written in one transaction, so anything else means damage. */
static int change_matches(store *st, MDB_txn *txn, uint32_t iid, const struct store_serial *s,
			  const struct store_cert_rec *rec)
{
	uint8_t kb[8];
	MDB_val k = { .mv_size = 8, .mv_data = kb }, v;
	struct store_change ch;

	store_put_be64(kb, rec->change_seq);
	if (mdb_get(txn, st->db_changes, &k, &v) != 0 || store_change_decode(rec->change_seq, v.mv_data, v.mv_size, &ch))
		return 0;
	return ch.op != STORE_OP_ISSUER_ADD && ch.issuer_id == iid && ch.serial.len == s->len &&
	       ch.serial.negative == s->negative && memcmp(ch.serial.mag, s->mag, s->len) == 0 &&
	       ch.rec.status == rec->status && ch.rec.reason == rec->reason && ch.rec.revoked_at == rec->revoked_at &&
	       ch.rec.not_after == rec->not_after && ch.rec.has_invalidity == rec->has_invalidity &&
	       ch.rec.invalidity == rec->invalidity && ch.rec.change_seq == rec->change_seq;
}

/* Consistency check, see store.h. Logs each problem, counts them. */
int store_check(store *st)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint64_t expect_seq = 1, last_seq = 0;
	long problems = 0;
	int rc, op;
	uint32_t last_issuer = 0;

	if (st == NULL)
		return VA_ERR_INVAL;
	if ((rc = store_rtxn_begin(st, &txn)) != 0)
		return rc;

	/* Issuers: each value decodes, ids ascend from 1. */
	if ((rc = store_lmdb_err(mdb_cursor_open(txn, st->db_issuers, &cur), "cursor")) != 0)
		goto out;
	for (op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
		struct store_issuer iss;
		if (k.mv_size != 4 || store_issuer_decode(store_get_be32(k.mv_data), v.mv_data, v.mv_size, &iss)) {
			log_warn("store check: issuer entry %u is damaged",
				 k.mv_size == 4 ? (unsigned)store_get_be32(k.mv_data) : 0u);
			problems++;
			continue;
		}
		last_issuer = iss.id;
	}
	if (rc != MDB_NOTFOUND)
		goto lmdb_fail;
	mdb_cursor_close(cur);
	cur = NULL;

	/* Change log: dense from 1, each entry decodes. */
	if ((rc = store_lmdb_err(mdb_cursor_open(txn, st->db_changes, &cur), "cursor")) != 0)
		goto out;
	for (op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
		struct store_change ch;
		uint64_t seq = k.mv_size == 8 ? store_get_be64(k.mv_data) : 0;
		if (seq != expect_seq) {
			log_warn("store check: change log gap: expected %llu, found %llu",
				 (unsigned long long)expect_seq, (unsigned long long)seq);
			problems++;
		}
		expect_seq = seq + 1;
		last_seq = seq;
		if (store_change_decode(seq, v.mv_data, v.mv_size, &ch) != 0) {
			log_warn("store check: change %llu is damaged", (unsigned long long)seq);
			problems++;
		}
	}
	if (rc != MDB_NOTFOUND)
		goto lmdb_fail;
	mdb_cursor_close(cur);
	cur = NULL;

	/* Certificates: key decodes, issuer exists, record valid, change_seq within the log. */
	if ((rc = store_lmdb_err(mdb_cursor_open(txn, st->db_certs, &cur), "cursor")) != 0)
		goto out;
	for (op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
		struct store_serial s;
		struct store_cert_rec rec;
		char hex[2 * LIM_SERIAL_MAX + 2] = "?";
		uint32_t iid = k.mv_size >= 4 ? store_get_be32(k.mv_data) : 0;
		int n = k.mv_size > 4 ? store_serial_key_decode((const uint8_t *)k.mv_data + 4, k.mv_size - 4, &s)
				      : VA_ERR_STORE;
		if (n < 0 || (size_t)n != k.mv_size - 4) {
			log_warn("store check: certificate key of issuer %u is malformed", (unsigned)iid);
			problems++;
			continue;
		}
		store_serial_to_hex(&s, hex, sizeof(hex));
		if (iid == 0 || iid > last_issuer || store_issuer_exists(st, txn, iid) != 0) {
			log_warn("store check: certificate %u/%s: no such issuer", (unsigned)iid, hex);
			problems++;
		}
		if (store_cert_rec_decode(v.mv_data, v.mv_size, &rec) != 0) {
			log_warn("store check: certificate %u/%s: damaged record", (unsigned)iid, hex);
			problems++;
			continue;
		}
		if (rec.change_seq == 0 || rec.change_seq > last_seq) {
			log_warn("store check: certificate %u/%s: change %llu not in the log", (unsigned)iid, hex,
				 (unsigned long long)rec.change_seq);
			problems++;
		} else if (!change_matches(st, txn, iid, &s, &rec)) {
			log_warn("store check: certificate %u/%s: change %llu is about something else", (unsigned)iid,
				 hex, (unsigned long long)rec.change_seq);
			problems++;
		}
	}
	if (rc != MDB_NOTFOUND)
		goto lmdb_fail;
	mdb_cursor_close(cur);
	cur = NULL;

	/* The revoked index against the certificates, both ways. */
	long idx = store_revidx_check(st, txn);
	if (idx < 0) {
		rc = (int)idx;
		goto out;
	}
	if (idx > 0)
		log_warn("store check: %ld revoked index problem(s): CRLs are built from the index; `vactl reindex` "
			 "rebuilds it from the certificates", idx);
	problems += idx;
	rc = 0;
	goto out;
lmdb_fail:
	rc = store_lmdb_err(rc, "check");
out:
	if (cur)
		mdb_cursor_close(cur);
	store_rtxn_end(st, txn);
	if (rc)
		return rc;
	return problems > 0x7fffffff ? 0x7fffffff : (int)problems;
}
