/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * harness.h - the host unit tests' checks and runner.  Each case runs in
 * a forked child with a timeout (UV_TEST_TIMEOUT seconds, default 120),
 * so a crash or a hang fails that case only.  A test program ends with
 * "<suite>: N passed, M failed, K skipped" and exits 1 on any failure.
 * Usage of every test program: PROGRAM [substring-filter]
 */
#ifndef UV_TEST_HARNESS_H
#define UV_TEST_HARNESS_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PASS 0
#define FAIL 1
#define SKIP 77

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); \
	return FAIL; } } while (0)
#define CHECK_EQ(a, b) do { long long _a = (long long)(a), _b = (long long)(b); \
	if (_a != _b) { fprintf(stderr, "  %s:%d: %s == %lld, expected %s == %lld\n", \
	__FILE__, __LINE__, #a, _a, #b, _b); return FAIL; } } while (0)

#ifdef UV_COVERAGE
/* libgcov: write the counters now (_exit() skips the atexit handler) */
void __gcov_dump(void);
#define harness_exit(r) do { int r_ = (r); __gcov_dump(); _exit(r_); } while (0)
#else
#define harness_exit(r) _exit(r)
#endif

struct tcase {
	const char *name;
	int (*fn)(void);
};

static inline int harness_run_case(const struct tcase *t)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return FAIL;
	if (pid == 0) {
		const char *to = getenv("UV_TEST_TIMEOUT");

		alarm(to ? (unsigned int)atoi(to) : 120);
		harness_exit(t->fn());
	}
	if (waitpid(pid, &status, 0) < 0)
		return FAIL;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "  killed by signal %d%s\n", WTERMSIG(status),
			WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
		return FAIL;
	}
	return WEXITSTATUS(status);
}

static inline int harness_main(const char *suite, const struct tcase *cases,
			       size_t ncases, int argc, char **argv)
{
	unsigned int pass = 0, fail = 0, skip = 0;
	size_t i;

	for (i = 0; i < ncases; i++) {
		int r;

		if (argc > 1 && !strstr(cases[i].name, argv[1]))
			continue;
		r = harness_run_case(&cases[i]);
		printf("%-4s %s\n", r == PASS ? "ok" : r == SKIP ? "skip" :
		       "FAIL", cases[i].name);
		fflush(stdout);
		if (r == PASS)
			pass++;
		else if (r == SKIP)
			skip++;
		else
			fail++;
	}
	printf("%s: %u passed, %u failed, %u skipped\n", suite, pass, fail,
	       skip);
	return fail ? 1 : 0;
}

#endif /* UV_TEST_HARNESS_H */
