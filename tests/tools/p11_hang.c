/*
 * p11_hang.c: a PKCS#11 module for tests only (built into $(BUILD)/tests/libp11hang.so, never into bin/ nor
 * installed). It forwards every call to a real module (VA_TEST_P11_MODULE, SoftHSM2 by default), except that
 * C_Sign blocks, as a hung HSM would, for as long as the file named by VA_TEST_P11_HANG exists. When a call
 * starts blocking it appends a line to "<that file>.entered" ("main" or "other": the thread it blocks), so that a
 * test can wait for the hang (or for several) instead of sleeping.
 * VA_TEST_P11_HANG_SKIP=N lets the process's first N C_Sign calls through regardless (a daemon's start-up key
 * check), so that a test can make a later signer hang from the start.
 * VA_TEST_P11_HANG_THREAD=main only blocks calls made on the process's main thread (a daemon's reload or tick:
 * what its signal loop used to wait on), =other only calls made on any other thread (requests, pre-production);
 * unset, every call.
 *
 * A daemon uses it through its signer's `module` key; nothing in the daemon knows it is being tested.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <string.h>

#include <p11-kit/pkcs11.h>

#define P11_HANG_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"

/* Filled by C_GetFunctionList: the real module's list with C_Sign replaced. The module is loaded once per
 * process and never unloaded (the signer may reload us after a token loss; the real module stays mapped). */
static CK_FUNCTION_LIST p11_hang_list;
static CK_C_Sign p11_hang_real_sign;
static atomic_ulong p11_hang_calls;

/* Whether this call is one VA_TEST_P11_HANG_THREAD selects; *kind is set to the thread's kind. */
static int p11_hang_selected(const char **kind)
{
	const char *only = getenv("VA_TEST_P11_HANG_THREAD");

	*kind = gettid() == getpid() ? "main" : "other";
	return only == NULL || only[0] == '\0' || strcmp(only, *kind) == 0;
}

static void p11_hang_wait(void)
{
	const char *flag = getenv("VA_TEST_P11_HANG");
	const char *skip = getenv("VA_TEST_P11_HANG_SKIP");
	const char *kind;
	char entered[4096], line[8];
	ssize_t w;
	int fd, n;

	if (atomic_fetch_add(&p11_hang_calls, 1) < (skip != NULL ? strtoul(skip, NULL, 10) : 0))
		return;
	if (flag == NULL || access(flag, F_OK) != 0 || !p11_hang_selected(&kind))
		return;
	if (snprintf(entered, sizeof(entered), "%s.entered", flag) < (int)sizeof(entered)) {
		fd = open(entered, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0) {
			/* One write with O_APPEND: lines of threads blocking at once do not mix. A failed write
			 * only leaves a test waiting in vain for the line (it then fails on its own bound). */
			n = snprintf(line, sizeof(line), "%s\n", kind);
			w = write(fd, line, (size_t)n);
			(void)w;
			close(fd);
		}
	}
	while (access(flag, F_OK) == 0)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
}

static CK_RV p11_hang_sign(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
			   CK_ULONG_PTR siglen)
{
	p11_hang_wait();
	return p11_hang_real_sign(session, data, len, sig, siglen);
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	static void *real_module;
	const char *path = getenv("VA_TEST_P11_MODULE");
	CK_C_GetFunctionList get;
	CK_FUNCTION_LIST_PTR real = NULL;
	void *sym;

	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	if (real_module == NULL)
		real_module = dlopen(path != NULL ? path : P11_HANG_DEFAULT_MODULE, RTLD_NOW | RTLD_LOCAL);
	if (real_module == NULL)
		return CKR_GENERAL_ERROR;
	sym = dlsym(real_module, "C_GetFunctionList");
	if (sym == NULL)
		return CKR_GENERAL_ERROR;
	get = (CK_C_GetFunctionList)sym; /* POSIX: dlsym results may be converted to function pointers */
	if (get(&real) != CKR_OK || real == NULL)
		return CKR_GENERAL_ERROR;
	p11_hang_list = *real;
	p11_hang_real_sign = real->C_Sign;
	p11_hang_list.C_GetFunctionList = C_GetFunctionList;
	p11_hang_list.C_Sign = p11_hang_sign;
	*list = &p11_hang_list;
	return CKR_OK;
}
