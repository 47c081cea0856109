/*
 * shutdown.c: the signal thread, the main thread's loop and the watchdog that bounds a daemon's end (shutdown.h).
 *
 * Why a thread and sigwaitinfo rather than handlers and a flag: a handler's flag is only seen when the main thread
 * comes back to its loop, and a main thread stuck in the HSM (a reload opening signers, crlgen signing a CRL)
 * never does: SIGTERM was then never acted on. The signal thread runs no service code and takes no lock that
 * service code holds (only our own mutex, held for a few instructions), so it always sees the signal and can
 * always end the process.
 */
#include "shutdown.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "va_limits.h"

enum shutdown_event { SHUTDOWN_EV_NONE, SHUTDOWN_EV_RELOAD, SHUTDOWN_EV_TERM };

/* Events from the signal thread to the main thread. */
static pthread_mutex_t shutdown_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t shutdown_cv = PTHREAD_COND_INITIALIZER; /* waited on with CLOCK_MONOTONIC deadlines */
static int shutdown_hup;  /* under shutdown_mu: a SIGHUP not yet taken by the main loop */
static int shutdown_term; /* under shutdown_mu: SIGTERM or SIGINT came (stays set) */

static atomic_int shutdown_started;
static atomic_int shutdown_term_seen; /* shutdown_term without the lock, for shutdown_requested */
static pthread_t shutdown_thread;     /* written before the forwarding handlers are installed */
static atomic_uint shutdown_drain_s = LIM_HTTP_DRAIN_TIMEOUT_DEFAULT;

/* The main thread's phase and when it began (ms, CLOCK_MONOTONIC). Two separate atomics: the report may pair a
 * phase with the start of the next one if they change at that very moment; it is a log line, not a decision. */
static _Atomic(const char *) shutdown_phase_cur = "start";
static _Atomic long long shutdown_phase_since;

static struct timespec shutdown_ts(long long ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	return ts;
}

static void shutdown_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

static const char *shutdown_signame(int sig)
{
	switch (sig) {
	case SIGTERM: return "SIGTERM";
	case SIGINT: return "SIGINT";
	default: return "SIGHUP";
	}
}

const char *shutdown_phase_set(const char *phase)
{
	atomic_store(&shutdown_phase_since, clock_mono_ms());
	return atomic_exchange(&shutdown_phase_cur, phase);
}

const char *shutdown_phase_get(void)
{
	return atomic_load(&shutdown_phase_cur);
}

int shutdown_requested(void)
{
	return atomic_load(&shutdown_term_seen);
}

void shutdown_set_drain_timeout(unsigned seconds)
{
	atomic_store(&shutdown_drain_s, seconds);
}

/* Ends the process now, saying where the main thread is. _exit, not exit: exit() would run OpenSSL's and the
 * PKCS#11 module's cleanups under the thread that is stuck in them, and could hang there too. */
static _Noreturn void shutdown_die(const char *what, const char *sig, long long since_ms)
{
	long long now = clock_mono_ms();
	const char *phase = atomic_load(&shutdown_phase_cur);
	long long in_phase = now - atomic_load(&shutdown_phase_since);

	log_err("shutdown: %s %.1f s after %s; the main thread is in phase \"%s\" (for %.1f s): exiting with status "
		"1 without freeing anything", what, (double)(now - since_ms) / 1000.0, sig, phase,
		(double)(in_phase > 0 ? in_phase : 0) / 1000.0);
	_exit(1);
}

static void shutdown_post(int *flag)
{
	pthread_mutex_lock(&shutdown_mu);
	*flag = 1;
	pthread_cond_broadcast(&shutdown_cv);
	pthread_mutex_unlock(&shutdown_mu);
}

/* The signal thread: SIGHUP is passed on to the main loop; the first SIGTERM/SIGINT too, and it arms the deadline.
 * Past the deadline, or on a later SIGTERM/SIGINT, the process ends here. */
static void *shutdown_thread_main(void *arg)
{
	sigset_t set;
	siginfo_t si;
	long long first = 0, deadline = 0;
	const char *first_sig = NULL;

	(void)arg;
	shutdown_sigset(&set);
	for (;;) {
		int sig;

		if (first_sig == NULL) {
			sig = sigwaitinfo(&set, &si);
		} else {
			long long left = deadline - clock_mono_ms();
			struct timespec ts;

			if (left <= 0)
				shutdown_die("still running", first_sig, first);
			ts = shutdown_ts(left);
			sig = sigtimedwait(&set, &si, &ts);
		}
		if (sig < 0)
			continue; /* EINTR (another signal's handler), EAGAIN (the deadline: checked above) */
		if (sig == SIGHUP) {
			if (first_sig == NULL)
				shutdown_post(&shutdown_hup);
			else
				log_info("shutdown: SIGHUP ignored: stopping");
			continue;
		}
		if (first_sig == NULL) {
			unsigned drain = atomic_load(&shutdown_drain_s);

			first = clock_mono_ms();
			first_sig = shutdown_signame(sig);
			deadline = first + (long long)drain * 1000 + LIM_SHUTDOWN_GRACE_MS;
			log_info("shutdown: %s: stopping; the process ends within %.1f s (drain_timeout %u s + %.1f s)",
				 first_sig, (double)(deadline - first) / 1000.0, drain, LIM_SHUTDOWN_GRACE_MS / 1000.0);
			atomic_store(&shutdown_term_seen, 1);
			shutdown_post(&shutdown_term);
		} else if (clock_mono_ms() - first >= LIM_SHUTDOWN_REPEAT_MS) {
			shutdown_die(sig == SIGINT ? "SIGINT repeated" : "SIGTERM repeated", first_sig, first);
		}
		/* Sooner: the same request delivered twice (terminal and supervisor), nothing to do. */
	}
	return NULL;
}

/* Runs only in a thread that does not block our signals: none of ours, but a thread a library started before
 * shutdown_start, or one that unblocked them, could take one. Consuming it there would lose it; it is handed to
 * the signal thread instead, where it is blocked and so stays pending for sigwaitinfo. pthread_kill is
 * async-signal-safe (POSIX.1-2008 TC2). */
static void shutdown_forward(int sig)
{
	int saved = errno;

	pthread_kill(shutdown_thread, sig);
	errno = saved;
}

int shutdown_start(void)
{
	sigset_t set, old;
	struct sigaction sa;
	long long never = 0;
	int rc = VA_OK, err;

	if (atomic_load(&shutdown_started))
		goto out;
	/* The first phase ("start", unless the daemon named one) runs from here, not from the clock's origin. */
	atomic_compare_exchange_strong(&shutdown_phase_since, &never, clock_mono_ms());
	shutdown_sigset(&set);
	/* Blocked first: from here a signal stays pending until the signal thread takes it. */
	pthread_sigmask(SIG_BLOCK, &set, &old);
	err = pthread_create(&shutdown_thread, NULL, shutdown_thread_main, NULL);
	if (err != 0) {
		log_err("shutdown: cannot start the signal thread: %s", strerror(err));
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		rc = VA_ERR_IO;
		goto out;
	}
	/* Also replaces an inherited SIG_IGN (SIGINT in a script's background job), as the old handlers did: the
	 * Ctrl-C of `make run` reaches the services that way. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = shutdown_forward;
	sigfillset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGHUP, &sa, NULL) != 0)
		log_warn("shutdown: cannot install the signal forwarder: %s", strerror(errno));
	atomic_store(&shutdown_started, 1);
out:
	return rc;
}

/* Main thread: the next event, waiting at most timeout_ms (negative: until one comes). A SIGTERM stays pending
 * (every later call returns it); a SIGHUP is taken. */
static enum shutdown_event shutdown_wait(long long timeout_ms)
{
	struct timespec dl;
	enum shutdown_event ev = SHUTDOWN_EV_NONE;

	dl = shutdown_ts(clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0));
	pthread_mutex_lock(&shutdown_mu);
	while (!shutdown_term && !shutdown_hup && timeout_ms != 0) {
		int rc = timeout_ms < 0 ? pthread_cond_wait(&shutdown_cv, &shutdown_mu)
					: pthread_cond_clockwait(&shutdown_cv, &shutdown_mu, CLOCK_MONOTONIC, &dl);

		if (rc == ETIMEDOUT)
			break;
	}
	if (shutdown_term) {
		ev = SHUTDOWN_EV_TERM;
	} else if (shutdown_hup) {
		shutdown_hup = 0;
		ev = SHUTDOWN_EV_RELOAD;
	}
	pthread_mutex_unlock(&shutdown_mu);
	return ev;
}

int shutdown_loop(int (*reload)(void *arg), void (*tick)(void *arg), unsigned tick_ms, void *arg)
{
	long long period = tick_ms > 0 ? (long long)tick_ms : 1000, next, now;
	enum shutdown_event ev;
	int rc;

	if (!atomic_load(&shutdown_started))
		return VA_ERR_INVAL;
	next = clock_mono_ms() + period;
	for (;;) {
		shutdown_phase_set("idle");
		now = clock_mono_ms();
		ev = shutdown_wait(tick == NULL ? -1 : next > now ? next - now : 0);
		if (ev == SHUTDOWN_EV_TERM)
			break;
		if (ev == SHUTDOWN_EV_RELOAD) {
			if (reload != NULL) {
				shutdown_phase_set("reload");
				rc = reload(arg);
				if (rc != 0)
					log_err("reload failed (%s); the previous configuration stays", va_strerror(rc));
				else
					log_info("configuration reloaded");
			}
			continue;
		}
		now = clock_mono_ms();
		if (tick != NULL && now >= next) {
			shutdown_phase_set("tick");
			tick(arg);
			next += period;
			if (next <= now)
				next = now + period;
		}
	}
	shutdown_phase_set("stopping");
	return VA_OK;
}
