// SPDX-License-Identifier: BSD-3-Clause
/*
 * gcov_exit.c - linked into the gcov builds of the in-VM programs (make
 * vm-test-cov) with -Wl,--wrap=_exit: libgcov writes a program's
 * counters at exit(), and the forked test processes of vm_test and the
 * selftests leave with _exit().  Their counters are written here first.
 * (A process killed by a signal still writes none.)
 */
#include <unistd.h>

void __gcov_dump(void);
void __real__exit(int status) __attribute__((noreturn));
void __wrap__exit(int status) __attribute__((noreturn));

void __wrap__exit(int status)
{
	__gcov_dump();
	__real__exit(status);
}
