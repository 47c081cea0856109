/*
 * fuzz_config.c: the configuration loader (libconfig plus our 32-bit literal scan) and every common reader on
 * arbitrary file contents. The input becomes the file; @include is skipped (it would read other files).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	static struct signer_conf signers[LIM_SIGNERS_MAX];
	static const char *const services[] = { "ocspd", "tsad", "crlgen" };
	static const struct config_key top[] = {
		{ "log", CONFIG_TYPE_GROUP, 0 },    { "store", CONFIG_TYPE_GROUP, 1 },
		{ "signers", CONFIG_TYPE_LIST, 0 }, { "ocspd", CONFIG_TYPE_GROUP, 0 },
		{ "tsad", CONFIG_TYPE_GROUP, 0 },   { "crlgen", CONFIG_TYPE_GROUP, 0 },
	};
	struct store_conf sc;
	struct http_conf hc;
	size_t n;
	int err, level, sl;
	va_config *cfg;

	if (size > 65536 || memmem(data, size, "@include", 8) != NULL)
		return 0;
	if (fd < 0) {
		fd = memfd_create("fuzz_config", 0);
		if (fd < 0)
			return 0;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		log_init("fuzz_config", 0, LOG_LVL_ERR);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	cfg = config_load(path, &err);
	if (cfg == NULL)
		return 0;
	(void)config_check_keys(cfg, config_root(cfg), "top level", top, sizeof(top) / sizeof(top[0]));
	if (config_parse_log(cfg, &level, &sl) == VA_OK && (level < LOG_LVL_ERR || level > LOG_LVL_DEBUG))
		__builtin_trap();
	(void)config_read_store(cfg, &sc);
	if (config_read_signers(cfg, signers, LIM_SIGNERS_MAX, &n) == VA_OK && n > LIM_SIGNERS_MAX)
		__builtin_trap();
	for (size_t i = 0; i < 3; i++) {
		const config_setting_t *sec = config_section(cfg, services[i]);
		http_conf_defaults(&hc);
		if (config_read_http(cfg, sec != NULL ? config_setting_get_member(sec, "http") : NULL, &hc) == VA_OK &&
		    (hc.threads < 1 || hc.body_max < 1 || hc.body_max > LIM_HTTP_BODY_MAX || hc.conn_limit < hc.threads))
			__builtin_trap();
	}
	config_free(cfg);
	return 0;
}
