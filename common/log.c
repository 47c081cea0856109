#include "log.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *log_ident = "va";
static int log_syslog;
static enum log_level log_level_cur = LOG_LVL_INFO;

static const char *const log_names[] = { "error", "warning", "info", "debug" };

void log_init(const char *ident, int use_syslog, enum log_level level)
{
	log_ident = ident;
	log_syslog = use_syslog;
	log_level_cur = level;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
	log_level_cur = level;
}

enum log_level log_get_level(void)
{
	return log_level_cur;
}

int log_level_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof(log_names) / sizeof(log_names[0])); i++)
		if (strcmp(name, log_names[i]) == 0)
			return i;
	return -1;
}

static void log_emit(enum log_level level, const char *text)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[4096];
	struct timespec ts;
	struct tm tm;
	int n;

	if (log_syslog) {
		syslog(prio[level], "%s", text);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: %s\n", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_ident,
		     (int)getpid(), log_names[level], text);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* One write(2) per line so lines of concurrent threads never interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char text[2048];
	va_list ap;

	if (level > log_level_cur)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_emit(level, text);
}

void log_openssl(enum log_level level, const char *fmt, ...)
{
	char text[2048];
	size_t off;
	unsigned long e;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	off = strlen(text);
	while ((e = ERR_get_error()) != 0) {
		if (off + 3 < sizeof(text)) {
			text[off++] = ':';
			text[off++] = ' ';
			ERR_error_string_n(e, text + off, sizeof(text) - off);
			off += strlen(text + off);
		}
	}
	if (level <= log_level_cur)
		log_emit(level, text);
}
