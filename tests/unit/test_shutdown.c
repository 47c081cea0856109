/*
 * test_shutdown.c: the signal thread, the main loop and the watchdog (common/shutdown.c).
 *
 * Signals and their dispositions belong to the whole process, and the watchdog ends it: every scenario runs in a
 * forked child (the test program itself never calls shutdown_start), sends itself real signals with kill(2), and
 * is judged from outside: its exit status, how long it lived, and what it logged on stderr.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "log.h"
#include "shutdown.h"
#include "va_limits.h"

#define GRACE_S (LIM_SHUTDOWN_GRACE_MS / 1000.0)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Waits (10 ms steps, at most 5 s) until *flag reaches want. */
static int wait_flag(atomic_int *flag, int want)
{
	for (int i = 0; i < 500; i++) {
		if (atomic_load(flag) >= want)
			return 1;
		sleep_ms(10);
	}
	return 0;
}

/* ---- running a scenario in a child ---- */

struct outcome {
	int exited;    /* 1: exited normally with status; 0: killed by a signal (sig) */
	int status;
	int sig;
	double secs;   /* from fork to exit */
	char log[16384];
};

/* Forks, runs fn in the child with stderr on a pipe, and waits at most limit_s for it to end (then kills it: the
 * scenario has failed, and the test must not hang). */
static void run_child(int (*fn)(void), double limit_s, struct outcome *o)
{
	int fds[2], st = 0;
	size_t len = 0;
	double t0;
	pid_t pid;

	memset(o, 0, sizeof(*o));
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	t0 = now_s();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		close(fds[1]);
		log_init("test_shutdown", 0, LOG_LVL_INFO);
		exit(fn()); /* exit(), as a daemon's main returns: the normal path must not be held by the signal thread */
	}
	close(fds[1]);
	for (;;) {
		struct pollfd p = { fds[0], POLLIN, 0 };
		double left = limit_s - (now_s() - t0);
		ssize_t n;

		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		n = read(fds[0], o->log + len, sizeof(o->log) - 1 - len);
		if (n <= 0)
			break; /* EOF: the child is gone (its threads too) */
		len += (size_t)n;
		if (len == sizeof(o->log) - 1)
			break;
	}
	o->log[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	o->secs = now_s() - t0;
	o->exited = WIFEXITED(st);
	o->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	o->sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	printf("child: %s %d after %.2f s\n%s", o->exited ? "status" : "signal", o->exited ? o->status : o->sig,
	       o->secs, o->log);
}

/* ---- child scenarios (they return the child's exit status: 0 when every check inside held) ---- */

static atomic_int c_reloads, c_ticks, c_in_reload, c_mask_ok;
static int c_fail_reload;

static int c_reload(void *arg)
{
	(void)arg;
	atomic_fetch_add(&c_reloads, 1);
	return c_fail_reload ? VA_ERR_CONFIG : VA_OK;
}

static void c_tick(void *arg)
{
	(void)arg;
	atomic_fetch_add(&c_ticks, 1);
}

/* A thread started after shutdown_start blocks the signals (inherited mask). */
static void note_mask(void)
{
	sigset_t cur;

	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	atomic_store(&c_mask_ok, sigismember(&cur, SIGTERM) == 1 && sigismember(&cur, SIGINT) == 1 &&
					 sigismember(&cur, SIGHUP) == 1);
}

static void *signal_loop_main(void *arg)
{
	(void)arg;
	note_mask();
	kill(getpid(), SIGHUP);
	if (!wait_flag(&c_reloads, 1))
		return NULL;
	c_fail_reload = 1;
	kill(getpid(), SIGHUP);
	if (!wait_flag(&c_reloads, 2))
		return NULL;
	wait_flag(&c_ticks, 3);
	kill(getpid(), SIGTERM);
	return NULL;
}

/* SIGHUP reloads (a failed reload is logged and the loop goes on), ticks run, SIGTERM returns VA_OK. */
static int child_loop(void)
{
	pthread_t t;
	int rc;

	if (shutdown_start() != VA_OK)
		return 10;
	shutdown_set_drain_timeout(1);
	if (pthread_create(&t, NULL, signal_loop_main, NULL) != 0)
		return 11;
	rc = shutdown_loop(c_reload, c_tick, 20, NULL);
	pthread_join(t, NULL);
	if (rc != VA_OK)
		return 12;
	if (atomic_load(&c_reloads) != 2 || atomic_load(&c_ticks) < 3)
		return 13;
	if (!atomic_load(&c_mask_ok))
		return 14;
	if (!shutdown_requested() || strcmp(shutdown_phase_get(), "stopping") != 0)
		return 15;
	return 0;
}

static void test_loop_reload_tick_term(void **state)
{
	struct outcome o;

	(void)state;
	run_child(child_loop, 10, &o);
	assert_true(o.exited);
	assert_int_equal(o.status, 0);
	/* nothing stuck: the process ends at once, long before the watchdog (1 s + grace) */
	assert_true(o.secs < 1 + GRACE_S - 0.5);
	assert_non_null(strstr(o.log, "configuration reloaded"));
	assert_non_null(strstr(o.log, "reload failed (configuration error); the previous configuration stays"));
	assert_non_null(strstr(o.log, "shutdown: SIGTERM: stopping; the process ends within 3.0 s"));
	assert_null(strstr(o.log, "error: shutdown"));
}

/* The bug this module fixes: a reload stuck in the HSM held the signal loop, and SIGTERM was never acted on. */
static int hang_reload(void *arg)
{
	(void)arg;
	shutdown_phase_set("reload: test hang");
	atomic_store(&c_in_reload, 1);
	for (;;)
		sleep_ms(1000);
	return VA_OK;
}

static void *signal_stuck_main(void *arg)
{
	(void)arg;
	kill(getpid(), SIGHUP);
	if (wait_flag(&c_in_reload, 1))
		kill(getpid(), SIGTERM);
	return NULL;
}

static int child_stuck_reload(void)
{
	pthread_t t;

	if (shutdown_start() != VA_OK)
		return 10;
	shutdown_set_drain_timeout(1);
	if (pthread_create(&t, NULL, signal_stuck_main, NULL) != 0)
		return 11;
	if (shutdown_loop(hang_reload, NULL, 0, NULL) != VA_OK)
		return 12;
	return 0; /* never reached: the reload does not return */
}

static void test_watchdog_main_thread_stuck(void **state)
{
	struct outcome o;

	(void)state;
	run_child(child_stuck_reload, 10, &o);
	assert_true(o.exited);
	assert_int_equal(o.status, 1);
	/* drain_timeout (1 s) + grace after SIGTERM, which came a few ms after the start */
	assert_true(o.secs >= 1 + GRACE_S - 0.05);
	assert_true(o.secs < 1 + GRACE_S + 1.0);
	assert_non_null(strstr(o.log, "error: shutdown: still running 3.0 s after SIGTERM; the main thread is in phase "
				      "\"reload: test hang\""));
	assert_non_null(strstr(o.log, "exiting with status 1 without freeing anything"));
}

/* After SIGTERM the daemon drains; a second SIGTERM a while later ends it at once. */
static void *signal_repeat_main(void *arg)
{
	(void)arg;
	kill(getpid(), SIGTERM);
	sleep_ms(LIM_SHUTDOWN_REPEAT_MS + 200);
	kill(getpid(), SIGTERM);
	return NULL;
}

static int child_repeat(void)
{
	pthread_t t;

	if (shutdown_start() != VA_OK)
		return 10;
	shutdown_set_drain_timeout(5);
	if (pthread_create(&t, NULL, signal_repeat_main, NULL) != 0)
		return 11;
	if (shutdown_loop(NULL, NULL, 0, NULL) != VA_OK)
		return 12;
	shutdown_phase_set("drain");
	for (;;)
		sleep_ms(1000); /* a drain that would last until the watchdog (5 s + grace) */
	return 0;
}

static void test_second_sigterm_exits_at_once(void **state)
{
	struct outcome o;
	double repeat = LIM_SHUTDOWN_REPEAT_MS / 1000.0 + 0.2;

	(void)state;
	run_child(child_repeat, 10, &o);
	assert_true(o.exited);
	assert_int_equal(o.status, 1);
	assert_true(o.secs >= repeat - 0.05);
	assert_true(o.secs < repeat + 1.0); /* not the watchdog's 5 s + grace */
	assert_non_null(strstr(o.log, "error: shutdown: SIGTERM repeated 1.2 s after SIGTERM; the main thread is in "
				      "phase \"drain\""));
}

/* Ctrl-C in `make run`: SIGINT through the terminal and SIGTERM from the script, a few ms apart. One request:
 * the drain goes on and the process exits 0. */
static void *signal_burst_main(void *arg)
{
	(void)arg;
	kill(getpid(), SIGINT);
	sleep_ms(20);
	kill(getpid(), SIGTERM);
	return NULL;
}

static int child_burst(void)
{
	pthread_t t;

	if (shutdown_start() != VA_OK)
		return 10;
	shutdown_set_drain_timeout(5);
	if (pthread_create(&t, NULL, signal_burst_main, NULL) != 0)
		return 11;
	if (shutdown_loop(NULL, NULL, 0, NULL) != VA_OK)
		return 12;
	pthread_join(t, NULL);
	shutdown_phase_set("drain");
	/* a drain longer than the repeat window: a burst taken for a repeat would end the process during it */
	sleep_ms(LIM_SHUTDOWN_REPEAT_MS + 500);
	return 0;
}

static void test_signal_burst_is_one_request(void **state)
{
	struct outcome o;

	(void)state;
	run_child(child_burst, 10, &o);
	assert_true(o.exited);
	assert_int_equal(o.status, 0);
	assert_true(o.secs >= LIM_SHUTDOWN_REPEAT_MS / 1000.0 + 0.5);
	assert_non_null(strstr(o.log, "shutdown: SIGINT: stopping"));
	assert_null(strstr(o.log, "error: shutdown"));
}

/* A SIGTERM that came before the loop (during the start) is kept: the loop returns at once, no tick runs. */
static int child_early_term(void)
{
	if (shutdown_start() != VA_OK)
		return 10;
	kill(getpid(), SIGTERM);
	sleep_ms(100);
	if (!shutdown_requested())
		return 11;
	if (shutdown_loop(c_reload, c_tick, 10, NULL) != VA_OK)
		return 12;
	return atomic_load(&c_ticks) == 0 && atomic_load(&c_reloads) == 0 ? 0 : 13;
}

static void test_sigterm_before_loop(void **state)
{
	struct outcome o;

	(void)state;
	run_child(child_early_term, 10, &o);
	assert_true(o.exited);
	assert_int_equal(o.status, 0);
	assert_true(o.secs < 1.5);
}

/* A thread that does not block the signals (one a library started before shutdown_start) takes SIGTERM: it is
 * handed to the signal thread, not lost, and the process is not killed by the default action either. */
static void *unblocked_main(void *arg)
{
	sigset_t set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	pthread_kill(pthread_self(), SIGTERM);
	return NULL;
}

static int child_forward(void)
{
	pthread_t t;

	if (shutdown_start() != VA_OK)
		return 10;
	if (pthread_create(&t, NULL, unblocked_main, NULL) != 0)
		return 11;
	pthread_join(t, NULL);
	if (shutdown_loop(NULL, c_tick, 50, NULL) != VA_OK)
		return 12;
	return 0;
}

static void test_signal_taken_by_another_thread(void **state)
{
	struct outcome o;

	(void)state;
	run_child(child_forward, 10, &o);
	assert_true(o.exited);
	assert_int_equal(o.status, 0);
	assert_true(o.secs < 1.5);
	assert_non_null(strstr(o.log, "shutdown: SIGTERM: stopping"));
}

/* ---- in this process (shutdown_start never called here) ---- */

static void test_phase_and_misuse(void **state)
{
	(void)state;
	assert_string_equal(shutdown_phase_get(), "start");
	assert_string_equal(shutdown_phase_set("a"), "start");
	assert_string_equal(shutdown_phase_set("b"), "a");
	assert_string_equal(shutdown_phase_get(), "b");
	assert_false(shutdown_requested());
	/* a loop without the signal thread would never see a signal */
	assert_int_equal(shutdown_loop(c_reload, c_tick, 10, NULL), VA_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phase_and_misuse),
		cmocka_unit_test(test_loop_reload_tick_term),
		cmocka_unit_test(test_watchdog_main_thread_stuck),
		cmocka_unit_test(test_second_sigterm_exits_at_once),
		cmocka_unit_test(test_signal_burst_is_one_request),
		cmocka_unit_test(test_sigterm_before_loop),
		cmocka_unit_test(test_signal_taken_by_another_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
