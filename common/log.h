/*
 * log.h: one line per event, to stderr (default) or syslog. Never log secrets (PINs, private keys).
 * Thread-safe: each line is written with a single write(2) / syslog(3) call.
 */
#ifndef VA_LOG_H
#define VA_LOG_H

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN = 1, LOG_LVL_INFO = 2, LOG_LVL_DEBUG = 3 };

/* ident: program name shown in each line. use_syslog: 0 stderr, 1 syslog(LOG_DAEMON). */
void log_init(const char *ident, int use_syslog, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parses "error", "warning", "info", "debug"; returns -1 when unknown. */
int log_level_parse(const char *name);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logs msg followed by the drained OpenSSL error queue (one line). */
void log_openssl(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
