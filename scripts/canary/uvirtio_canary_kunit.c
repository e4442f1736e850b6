// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit canary: one passing and one failing case.  The harness self-test
 * expects exactly that count back from kunit.py, proving that a failing
 * KUnit case turns `make check` red.
 */
#include <kunit/test.h>
#include <linux/module.h>

static void canary_pass(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, 2, 1 + 1);
}

static void canary_fail(struct kunit *test)
{
	KUNIT_EXPECT_EQ_MSG(test, 1, 2, "deliberate failure");
}

static struct kunit_case canary_cases[] = {
	KUNIT_CASE(canary_pass),
	KUNIT_CASE(canary_fail),
	{}
};

static struct kunit_suite canary_suite = {
	.name = "uvirtio_canary",
	.test_cases = canary_cases,
};

kunit_test_suite(canary_suite);

MODULE_DESCRIPTION("uvirtio harness canary: a failing KUnit case");
MODULE_LICENSE("GPL");
