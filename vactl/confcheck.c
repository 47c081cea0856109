/*
 * confcheck.c: `vactl -c FILE -n`: the whole configuration file.
 *
 * vactl checks the top level and the common sections (log, store, signers) itself. The services' sections have
 * their schemas in the services, so for each of ocspd, tsad and crlgen present in the file, the service's own
 * `-n -c FILE` is run from vactl's directory (the programs are installed together); a service that is not
 * there is reported as not checked, not as a pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vactl.h"

extern char **environ;

/* Runs DIR/prog -n -c path, quietly unless it fails; 0 ok, 1 problems, -1 program not found. */
static int confcheck_service(const char *dir, const char *prog, const char *path, int quiet)
{
	char exe[PATH_MAX + 32];
	char *argv[] = { exe, "-n", "-c", (char *)path, NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st = 0, rc;

	if ((size_t)snprintf(exe, sizeof(exe), "%s/%s", dir, prog) >= sizeof(exe) || access(exe, X_OK) != 0)
		return -1;
	if (posix_spawn_file_actions_init(&fa) != 0)
		return 1;
	/* Its findings go to stderr like ours; its "ok" chatter is dropped when -q. */
	if (quiet)
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	rc = posix_spawn(&pid, exe, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		vactl_err("cannot run %s: %s", exe, strerror(rc));
		return 1;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

int vactl_config_check(const char *path, int quiet)
{
	static const struct config_key top[] = {
		{ "log", CONFIG_TYPE_GROUP, 0 },    { "store", CONFIG_TYPE_GROUP, 1 },
		{ "signers", CONFIG_TYPE_LIST, 0 }, { "ocspd", CONFIG_TYPE_GROUP, 0 },
		{ "tsad", CONFIG_TYPE_GROUP, 0 },   { "crlgen", CONFIG_TYPE_GROUP, 0 },
	};
	static const char *const services[] = { "ocspd", "tsad", "crlgen" };
	struct signer_conf *signers = NULL;
	struct store_conf sc;
	va_config *cfg;
	char self[PATH_MAX], *slash;
	ssize_t n_self;
	size_t n = 0;
	int err = 0, level, use_syslog, problems = 0, present[3], checked = 0;

	cfg = config_load(path, &err);
	if (cfg == NULL) {
		vactl_err("%s: cannot be read: %s", path, va_strerror(err));
		return VACTL_ERROR;
	}
	problems += config_check_keys(cfg, config_root(cfg), "top level", top, sizeof(top) / sizeof(top[0]));
	problems += config_parse_log(cfg, &level, &use_syslog) != VA_OK;
	memset(&sc, 0, sizeof(sc));
	problems += config_read_store(cfg, &sc) != VA_OK;
	signers = calloc(LIM_SIGNERS_MAX, sizeof(*signers));
	if (signers == NULL)
		problems++;
	else
		problems += config_read_signers(cfg, signers, LIM_SIGNERS_MAX, &n) != VA_OK;
	free(signers);
	for (size_t i = 0; i < 3; i++)
		present[i] = config_section(cfg, services[i]) != NULL;
	config_free(cfg);
	if (problems != 0) {
		vactl_err("%s: configuration has problems (listed above)", path);
		return VACTL_ERROR;
	}

	n_self = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n_self <= 0) {
		vactl_err("cannot find vactl's own directory to run the services' checks");
		return VACTL_ERROR;
	}
	self[n_self] = '\0';
	slash = strrchr(self, '/');
	if (slash != NULL)
		*slash = '\0';
	for (size_t i = 0; i < 3; i++) {
		int rc;

		if (!present[i])
			continue;
		rc = confcheck_service(self, services[i], path, quiet);
		if (rc < 0) {
			if (!quiet)
				fprintf(stderr, "vactl: %s: section %s not checked: %s/%s not found\n", path, services[i],
					self, services[i]);
			continue;
		}
		if (rc != 0) {
			vactl_err("%s: section %s has problems (listed above by %s -n)", path, services[i], services[i]);
			problems++;
		}
		checked++;
	}
	if (problems != 0)
		return VACTL_ERROR;
	if (!quiet)
		fprintf(stderr, "vactl: %s: configuration ok (store %s, %zu signers, %d service sections checked)\n",
			path, sc.path, n, checked);
	return VACTL_OK;
}
