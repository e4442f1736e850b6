/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fake_mmio.h - a virtio-mmio register file for the host tests of the
 * mmio transports (test only: not part of the library).
 */
#ifndef UVIRTIO_TEST_FAKE_MMIO_H
#define UVIRTIO_TEST_FAKE_MMIO_H

int t_mmio_v2(void);
int t_mmio_v1(void);
int t_mmio_probe_errors(void);
int t_mmio_refuse_features_ok(void);

#endif /* UVIRTIO_TEST_FAKE_MMIO_H */
