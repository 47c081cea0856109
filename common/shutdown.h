/*
 * shutdown.h: how a daemon's process takes its signals and ends, within a bound, whatever thread is stuck.
 *
 * SIGTERM, SIGINT and SIGHUP are taken by one thread of this module (sigwaitinfo); every other thread blocks them,
 * so no thread is ever interrupted and the main thread may be busy (a reload, a tick) when they come. The main
 * thread runs shutdown_loop: SIGHUP calls the daemon's reload, ticks run on time, and SIGTERM or SIGINT makes it
 * return so that the daemon drains (http_stop) and frees.
 *
 * The watchdog: from the first SIGTERM or SIGINT, the process ends within drain_timeout + LIM_SHUTDOWN_GRACE_MS
 * whatever happens. If it still runs then (the main thread stuck in a PKCS#11 call of a reload or a tick, or in
 * anything else), the signal thread logs at error level the phase the main thread was in, and since when, and ends
 * the process with _exit(1): nothing is freed under the stuck thread and no library cleanup (OpenSSL, the
 * PKCS#11 module) runs. A second SIGTERM or SIGINT at least LIM_SHUTDOWN_REPEAT_MS after the first ends the
 * process the same way at once (an operator who does not want to wait for the drain); one arriving sooner is the
 * same request (Ctrl-C reaches a service both through the terminal's process group and as its supervisor's
 * SIGTERM).
 *
 * Process-wide, one per process: signals and their dispositions belong to the process. Not for programs that are
 * not daemons (vactl, crlgen --once, check modes): they keep the default dispositions.
 * Errors: functions return VA_OK or a negative va_err (err.h).
 */
#ifndef VA_SHUTDOWN_H
#define VA_SHUTDOWN_H

#include "err.h"

/* Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and starts the signal thread. Call it from the main
 * thread before any other thread exists (store, signers, HTTP server, a PKCS#11 module's own threads): threads
 * inherit the mask of the thread that creates them, and a thread that does not block these signals could take one
 * and die of it. Until shutdown_set_drain_timeout, the bound uses LIM_HTTP_DRAIN_TIMEOUT_DEFAULT. A signal that
 * comes before shutdown_loop runs is kept: SIGTERM then ends the loop at once (the watchdog runs from the signal).
 * VA_ERR_IO if the thread cannot be started (signals are then unblocked again). A second call changes nothing. */
VA_MUST_CHECK int shutdown_start(void);

/* Seconds the daemon's drain may last (its http.drain_timeout); the watchdog allows that plus
 * LIM_SHUTDOWN_GRACE_MS from the first SIGTERM. Taken at the signal: a later change does not move a deadline
 * already set. */
void shutdown_set_drain_timeout(unsigned seconds);

/* What the main thread is doing, for the watchdog's report: a static string (a literal: it is read by another
 * thread at any time and never copied), e.g. "reload: opening signers". Returns the previous phase, so that a
 * step can restore it. Only the main thread sets it. Works whether or not shutdown_start was called. */
const char *shutdown_phase_set(const char *phase);
/* The current phase (for tests and logs). */
const char *shutdown_phase_get(void);

/* 1 once SIGTERM or SIGINT has come: a long task of the main thread (several CRLs) may stop between steps. */
int shutdown_requested(void);

/* The main thread's loop, after the daemon has started (shutdown_start first): on SIGHUP calls reload(arg) (its
 * failure is logged, the old configuration stays; several SIGHUPs during one reload make one more reload); calls
 * tick(arg), if set, about every tick_ms milliseconds (0: every second). Returns VA_OK on SIGTERM or SIGINT, even
 * one received before the call, never in the middle of a reload or tick (the watchdog bounds those). Phases
 * "reload", "tick" and "idle" are set around the calls (reload and tick may refine them), "stopping" on return.
 * VA_ERR_INVAL if shutdown_start was not called. */
VA_MUST_CHECK int shutdown_loop(int (*reload)(void *arg), void (*tick)(void *arg), unsigned tick_ms, void *arg);

#endif
