/* main.c: vactl's options and command dispatch. Each command lives in its cmd_*.c file. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "log.h"
#include "vactl.h"

static const char vactl_help[] =
	"usage: vactl [-c FILE | -s STOREDIR] [-n] [-q] COMMAND ...\n"
	"  -c FILE      the shared configuration file (its store.path and store.map_size_mb)\n"
	"  -s STOREDIR  a store directory directly\n"
	"  -n           check the configuration file (-c) and exit: 0 when clean, 1 with every problem listed;\n"
	"               the service sections by running ocspd/tsad/crlgen -n from vactl's directory\n"
	"  -q           quiet: only errors on stderr\n"
	"commands:\n"
	"  init                                  create the store (no-op if it exists; upgrades a store of an\n"
	"                                        earlier format, as every read-write command does)\n"
	"  ca add LABEL CERT.pem|der             register an issuing CA under LABEL\n"
	"  ca list                               id, label, subject, notAfter, SHA-256 fingerprint\n"
	"  import LABEL FILE|DIR...              record issued certificates (PEM or DER files, directories of\n"
	"                                        them); each must be issued by LABEL\n"
	"  import LABEL --index index.txt        import an OpenSSL `ca` database (statuses, revocations)\n"
	"  revoke LABEL SERIAL|--cert FILE [--reason R] [--time T] [--invalidity T]\n"
	"  hold LABEL SERIAL|--cert FILE [--time T]\n"
	"  release LABEL SERIAL|--cert FILE      lift a hold\n"
	"  status LABEL SERIAL|--cert FILE       one line, as in list (exit 1 if unknown)\n"
	"  list [LABEL] [--status good|revoked|hold]\n"
	"                                        LABEL SERIAL STATUS NOTAFTER REVOKED REASON INVALIDITY\n"
	"  stats                                 counts and map usage\n"
	"  export LABEL                          the issuer's entries as an OpenSSL index.txt on stdout\n"
	"  changes [--since SEQ]                 the change log: SEQ WHEN OP LABEL SERIAL STATUS ACTOR\n"
	"  backup DIR                            consistent compacted copy into a new or empty DIR, then checked\n"
	"  check                                 consistency check of the store\n"
	"  reindex                               rebuild the revoked index from the certificates (what `check`\n"
	"                                        reports about it), in one transaction (daemons may run), then check\n"
	"  help                                  this text\n"
	"SERIAL: hex (\"0x\" prefix and colons allowed). Times (T): YYYYMMDDHHMMSSZ or ISO 8601 UTC\n"
	"(2026-11-23T10:00:00Z, 2026-11-23); default now. Reasons (R): unspecified keyCompromise CACompromise\n"
	"affiliationChanged superseded cessationOfOperation certificateHold privilegeWithdrawn AACompromise.\n"
	"Every change is recorded in the store's change log with the OS user who made it.\n"
	"Exit status: 0 ok, 1 error (nothing of a failed import is applied), 2 usage.\n";

static const struct {
	const char *name;
	int (*fn)(struct vactl *v, int argc, char **argv);
} vactl_cmds[] = {
	{ "init", cmd_init },     { "ca", cmd_ca },         { "import", cmd_import }, { "revoke", cmd_revoke },
	{ "hold", cmd_hold },     { "release", cmd_release }, { "status", cmd_status }, { "list", cmd_list },
	{ "stats", cmd_stats },   { "export", cmd_export }, { "backup", cmd_backup }, { "check", cmd_check },
	{ "changes", cmd_changes }, { "reindex", cmd_reindex },
};

/* Store location from -s or from the config's store section. */
static int vactl_locate(struct vactl *v)
{
	struct store_conf sc;
	va_config *cfg;
	int err = 0, rc;

	if (v->store_dir != NULL) {
		if (strlen(v->store_dir) >= sizeof(v->store_path)) {
			vactl_err("store path too long");
			return VA_ERR_RANGE;
		}
		snprintf(v->store_path, sizeof(v->store_path), "%s", v->store_dir);
		return VA_OK;
	}
	cfg = config_load(v->config_path, &err);
	if (cfg == NULL) {
		vactl_err("%s: cannot be read: %s", v->config_path, va_strerror(err));
		return VA_ERR_CONFIG;
	}
	memset(&sc, 0, sizeof(sc));
	rc = config_read_store(cfg, &sc);
	config_free(cfg);
	if (rc != VA_OK) {
		vactl_err("%s: bad store section (see `vactl -c %s -n`)", v->config_path, v->config_path);
		return rc;
	}
	memcpy(v->store_path, sc.path, sizeof(v->store_path));
	v->map_size = sc.map_size;
	return VA_OK;
}

int main(int argc, char **argv)
{
	struct vactl v;
	int c, check = 0, ret = VACTL_USAGE;

	memset(&v, 0, sizeof(v));
	while ((c = getopt(argc, argv, "+c:s:nqh")) != -1) {
		switch (c) {
		case 'c': v.config_path = optarg; break;
		case 's': v.store_dir = optarg; break;
		case 'n': check = 1; break;
		case 'q': v.quiet = 1; break;
		case 'h': fputs(vactl_help, stdout); return VACTL_OK;
		default: return vactl_usage("vactl [-c FILE | -s STOREDIR] [-n] [-q] COMMAND ...");
		}
	}
	log_init("vactl", 0, v.quiet ? LOG_LVL_ERR : LOG_LVL_WARN);
	if (optind < argc && strcmp(argv[optind], "help") == 0) {
		fputs(vactl_help, stdout);
		return VACTL_OK;
	}
	if (v.config_path != NULL && v.store_dir != NULL)
		return vactl_usage("-c and -s are alternatives");
	if (check) {
		if (v.config_path == NULL)
			return vactl_usage("-n checks the file given with -c");
		return vactl_config_check(v.config_path, v.quiet);
	}
	if (optind >= argc)
		return vactl_usage("no command given");
	if (v.config_path == NULL && v.store_dir == NULL)
		return vactl_usage("give the store with -s STOREDIR or the configuration with -c FILE");
	for (size_t i = 0; i < sizeof(vactl_cmds) / sizeof(vactl_cmds[0]); i++) {
		if (strcmp(argv[optind], vactl_cmds[i].name) != 0)
			continue;
		if (vactl_locate(&v) != VA_OK)
			return VACTL_ERROR;
		ret = vactl_cmds[i].fn(&v, argc - optind, argv + optind);
		store_close(v.st);
		if (fflush(stdout) != 0 && ret == VACTL_OK) {
			vactl_err("writing the output failed");
			ret = VACTL_ERROR;
		}
		return ret;
	}
	return vactl_usage("unknown command '%s'", argv[optind]);
}
