// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio_canary - deliberately misbehaving module for the harness self-test.
 *
 * scripts/check.sh (stage "harness") loads it into a test VM with one fault
 * switched on and expects scripts/vm-run.sh to fail the run.  If the run
 * passes, the health check is blind to that fault and `make check` fails.
 *
 *   warn=1       WARN_ON(1) at load
 *   leak_pin=1   pin one user page with pin_user_pages_fast() and never
 *                unpin it (nr_foll_pin_acquired != nr_foll_pin_released)
 */
#include <linux/bug.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>

static bool warn;
module_param(warn, bool, 0444);
MODULE_PARM_DESC(warn, "WARN_ON at load");

static bool leak_pin;
module_param(leak_pin, bool, 0444);
MODULE_PARM_DESC(leak_pin, "pin a user page and never release it");

static int __init canary_init(void)
{
	struct page *page;
	int ret;

	WARN_ON(warn);
	if (leak_pin && current->mm) {
		/* insmod's own argument page: mapped and writable. */
		ret = pin_user_pages_fast(current->mm->arg_start & PAGE_MASK, 1,
					  FOLL_WRITE, &page);
		pr_info("uvirtio_canary: leaked %d pinned page(s)\n", ret);
	}
	return 0;
}

static void __exit canary_exit(void)
{
}

module_init(canary_init);
module_exit(canary_exit);
MODULE_DESCRIPTION("uvirtio harness canary: misbehaves on request");
MODULE_LICENSE("GPL");
