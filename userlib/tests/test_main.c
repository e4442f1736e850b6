// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_main.c - libuvirtio host unit tests (fake backend): the runner of
 * the layers' cases, one file per layer (test_backend.c, test_transport.c,
 * test_virtqueue.c, test_blk.c, test_rng.c, test_faults.c,
 * test_blk_errors.c, test_vq_errors.c, test_pci_caps.c, test_rng_errors.c;
 * shared set-up
 * in unit.h).
 *
 * The runner (harness.h) forks each case with a timeout, so a crash or
 * a hang (e.g. a looping descriptor walk) fails that case only.
 * Usage: test_runner [substring-filter]
 */
#include <stdlib.h>

#include "unit.h"

int main(int argc, char **argv)
{
	static const struct {
		const struct tcase *cases;
		const size_t *n;
	} layers[] = {
		{ uv_backend_tests, &uv_backend_ntests },
		{ uv_transport_tests, &uv_transport_ntests },
		{ uv_virtqueue_tests, &uv_virtqueue_ntests },
		{ uv_blk_tests, &uv_blk_ntests },
		{ uv_rng_tests, &uv_rng_ntests },
		{ uv_faults_tests, &uv_faults_ntests },
		{ uv_blk_errors_tests, &uv_blk_errors_ntests },
		{ uv_vq_errors_tests, &uv_vq_errors_ntests },
		{ uv_pci_caps_tests, &uv_pci_caps_ntests },
		{ uv_rng_errors_tests, &uv_rng_errors_ntests },
	};
	struct tcase *all;
	size_t i, n = 0;
	int ret;

	for (i = 0; i < UV_ARRAY_LEN(layers); i++)
		n += *layers[i].n;
	all = calloc(n, sizeof(*all));
	if (!all)
		return 1;
	for (n = 0, i = 0; i < UV_ARRAY_LEN(layers); i++) {
		memcpy(all + n, layers[i].cases, *layers[i].n * sizeof(*all));
		n += *layers[i].n;
	}
	ret = harness_main("userlib", all, n, argc, argv);
	free(all);
	return ret;
}
