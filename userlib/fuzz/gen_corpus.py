#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the seed corpora corpus/virtqueue/* and corpus/blk/*.

The byte layouts follow fuzz_virtqueue.c and fuzz_blk.c (header, config
image, then opcodes with their operands).  Re-run after changing either
format: python3 gen_corpus.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

u8 = lambda v: struct.pack("<B", v & 0xff)
u16 = lambda v: struct.pack("<H", v & 0xffff)
u32 = lambda v: struct.pack("<I", v & 0xffffffff)

# ---- virtqueue ----------------------------------------------------------
(ADD, KICK, FETCH, COMPLETE, GET_USED, ENABLE_CB, DISABLE_CB, DEV_EVENT,
 RAW_USED, RAW_IDX, RAW_BYTES, NEEDS_RESET, STATUS, CONFIG) = range(14)
PACKED, EVENT_IDX, INDIRECT, INTR, IN_ORDER = 1, 2, 4, 0x20, 0x80


def vq_hdr(flags, size_sel, max_ind=0, cfg=b""):
    return u8(flags) + u8(size_sel) + u8(max_ind) + u8(len(cfg)) + cfg


def add(n_out, n_in, lens):
    return u8(ADD) + u8(n_out | n_in << 2) + b"".join(u16(l) for l in lens)


def complete(k=0, length=0xffffffff):
    return u8(COMPLETE) + u8(k) + u32(length)


def vq_valid_round(n=3):
    ops = b""
    for i in range(n):
        ops += add(1, 1, [16, 512 + i])
    ops += add(1, 2, [16, 4096, 1]) + u8(KICK) + u8(FETCH) + u8(7)
    for i in range(n + 1):
        ops += complete(i, 100 * i)
    ops += u8(ENABLE_CB) + u8(GET_USED) + u8(3) + u8(GET_USED) + u8(3)
    return ops


def vq_seeds():
    s = {}
    for name, fl in (("split", 0), ("split_evidx", EVENT_IDX),
                     ("split_indirect", INDIRECT | EVENT_IDX),
                     ("packed", PACKED), ("packed_evidx", PACKED | EVENT_IDX),
                     ("packed_indirect", PACKED | INDIRECT | EVENT_IDX),
                     ("split_intr", INTR | EVENT_IDX),
                     ("packed_intr", PACKED | INTR | EVENT_IDX),
                     ("split_inorder", IN_ORDER | EVENT_IDX),
                     ("split_inorder_indirect", IN_ORDER | INDIRECT),
                     ("packed_inorder", PACKED | IN_ORDER | EVENT_IDX),
                     ("packed_inorder_indirect", PACKED | IN_ORDER | INDIRECT)):
        size = 7 if fl & PACKED else 3          # packed 8, split 8
        s["valid_" + name] = vq_hdr(fl, size, 4) + vq_valid_round() * 3
    # wrap-around: many rounds on a tiny ring
    s["wrap_split2"] = vq_hdr(EVENT_IDX, 1) + (
        add(1, 1, [8, 8]) + u8(KICK) + u8(FETCH) + u8(0) + complete() +
        u8(GET_USED) + u8(0)) * 40
    s["wrap_packed3"] = vq_hdr(PACKED | EVENT_IDX, 2) + (
        add(1, 1, [8, 8]) + u8(FETCH) + u8(0) + complete() +
        u8(GET_USED) + u8(0) + u8(KICK)) * 40
    s["dev_event"] = vq_hdr(EVENT_IDX, 4) + add(1, 0, [1]) + u8(DEV_EVENT) + \
        u16(1) + u16(0) + u8(KICK) + u8(DEV_EVENT) + u16(2) + u16(7) + \
        add(1, 0, [1]) + u8(KICK)
    # malicious: split
    base = vq_hdr(0, 3) + add(1, 1, [16, 64]) + u8(KICK)
    s["bad_used_id"] = base + u8(RAW_USED) + u16(0) + u32(0xffff) + u32(1) + \
        u8(RAW_IDX) + u8(1) + u8(GET_USED) + u8(3) + u8(ADD) + u8(1) + \
        u8(KICK) + u8(GET_USED) + u8(0)
    s["used_id_not_head"] = base + u8(RAW_USED) + u16(0) + u32(5) + u32(1) + \
        u8(RAW_IDX) + u8(1) + u8(GET_USED) + u8(0)
    s["bad_used_len"] = base + u8(RAW_USED) + u16(0) + u32(0) + u32(65) + \
        u8(RAW_IDX) + u8(1) + u8(GET_USED) + u8(0)
    s["used_idx_jump"] = base + u8(RAW_IDX) + u8(9) + u8(GET_USED) + u8(3)
    s["dup_used"] = base + u8(FETCH) + u8(0) + complete() + u8(GET_USED) + \
        u8(0) + u8(RAW_IDX) + u8(1) + u8(GET_USED) + u8(0)
    s["corrupt_ring"] = base + u8(RAW_BYTES) + u8(15) + u16(0) + b"\xff" * 16 + \
        u8(FETCH) + u8(0) + complete() + u8(GET_USED) + u8(0)
    # malicious: packed
    pbase = vq_hdr(PACKED, 7) + add(1, 1, [16, 64]) + add(1, 1, [16, 64])
    s["packed_bad_id"] = pbase + u8(RAW_USED) + u16(0) + u16(0x7777) + u32(1) + \
        u16(0x8080) + u8(GET_USED) + u8(3)
    s["packed_bad_len"] = pbase + u8(RAW_USED) + u16(0) + u16(0) + u32(1000) + \
        u16(0x8080) + u8(GET_USED) + u8(3)
    s["packed_flags"] = pbase + u8(RAW_IDX) + u8(1) + u16(0) + \
        u8(RAW_IDX) + u8(5) + u16(1) + u8(GET_USED) + u8(3)
    s["packed_dup"] = pbase + u8(FETCH) + u8(0) + complete() + u8(GET_USED) + \
        u8(0) + u8(RAW_USED) + u16(2) + u16(1) + u32(0) + u16(0x8080) + \
        u8(GET_USED) + u8(3)
    # malicious, in order: one used entry naming the second of two chains
    # with the used index moved by one (split), or a slot nobody posted
    # (packed); then a true batch of two (split, index moved by two)
    ibase = vq_hdr(IN_ORDER, 3) + add(1, 1, [16, 64]) + add(1, 1, [16, 64]) + \
        u8(KICK)
    s["inorder_ahead"] = ibase + u8(RAW_USED) + u16(0) + u32(2) + u32(1) + \
        u8(RAW_IDX) + u8(1) + u8(GET_USED) + u8(3)
    s["inorder_batch"] = ibase + u8(RAW_USED) + u16(0) + u32(2) + u32(1) + \
        u8(RAW_IDX) + u8(2) + u8(GET_USED) + u8(3) + u8(ENABLE_CB) + \
        u8(GET_USED) + u8(3)
    pibase = vq_hdr(PACKED | IN_ORDER, 7) + add(1, 1, [16, 64]) + \
        add(1, 1, [16, 64])
    s["packed_inorder_ahead"] = pibase + u8(RAW_USED) + u16(0) + u16(4) + \
        u32(1) + u16(0x8080) + u8(GET_USED) + u8(3)
    s["packed_inorder_batch"] = pibase + u8(RAW_USED) + u16(0) + u16(2) + \
        u32(1) + u16(0x8080) + u8(GET_USED) + u8(1) + u8(ENABLE_CB) + \
        u8(GET_USED) + u8(3)
    s["needs_reset"] = base + u8(NEEDS_RESET) + u8(ADD) + u8(1) + u8(KICK) + \
        u8(GET_USED) + u8(0) + u8(STATUS)
    cfg = bytes(range(1, 33))
    s["config_gen"] = vq_hdr(0, 3, 0, cfg) + u8(CONFIG) + u8(0) + u8(32) + \
        u8(6) + b"\x01\x00\x00\x00\x01\x00" + u8(CONFIG) + u8(4) + u8(8) + \
        u8(39) + b"\x01" * 39 + u8(CONFIG) + u8(30) + u8(8) + u8(0)
    s["refuse_features_ok"] = vq_hdr(0x18, 3)
    return s

# ---- blk ----------------------------------------------------------------
(B_READ, B_WRITE, B_FLUSH, B_GET_ID, B_DISCARD, B_WZ, B_SUBMIT, B_FETCH,
 B_COMPLETE, B_REAP, B_RAW, B_NEEDS_RESET, B_CONFIG) = range(13)
F = lambda bit: 1 << bit
BLK_F = F(1) | F(2) | F(6) | F(9) | F(12) | F(13) | F(14)


def blk_cfg(capacity=2048, size_max=65536, seg_max=8, blk_size=512, nq=2):
    c = struct.pack("<QIII", capacity, size_max, seg_max, 0)
    c += u32(blk_size) + bytes(8) + u8(1) + u8(0) + u16(nq)
    c += u32(64) + u32(1) + u32(1) + u32(64) + u32(1) + u8(1) + bytes(3)
    assert len(c) == 60
    return c


def blk_hdr(b0, b1, b2, feats=BLK_F, cfg=None, gen=b""):
    cfg = blk_cfg() if cfg is None else cfg
    return u8(b0) + u8(b1) + u8(b2) + u8(len(cfg)) + u32(feats) + cfg + \
        u8(len(gen)) + gen


def b_complete(k=0, st=0):
    return u8(B_COMPLETE) + u8(k) + u8(st) + u32(0xffffffff)


def blk_round():
    ops = u8(B_READ) + u8(0x01) + u8(0)         # 2 sectors, 1 iovec
    ops += u8(B_WRITE) + u8(0x05) + u8(2) + u16(300)   # 2 iovecs
    ops += u8(B_FLUSH) + u8(0) + u8(0)
    ops += u8(B_GET_ID) + u8(0) + u8(0)
    ops += u8(B_DISCARD) + u8(1) + u8(1)
    ops += u8(B_WZ) + u8(2) + u8(2)
    ops += u8(B_SUBMIT) + u8(B_FETCH) + u8(7)
    for i in range(6):
        ops += b_complete(i % 2, i % 4)
    ops += u8(B_REAP) + u8(7) + u8(1) + u8(B_REAP) + u8(7) + u8(0)
    return ops


def blk_seeds():
    s = {}
    # b0: 1 packed offered, 2 evidx, 4 indirect, 8 want packed,
    #     0x10 no_indirect, 0x20 no_event_idx, 0x40 poll
    for name, b0 in (("split", 0x06), ("split_noind", 0x16),
                     ("packed", 0x0f), ("packed_noind", 0x1f),
                     ("split_poll", 0x46), ("packed_noevidx", 0x2f)):
        b1 = 5 if not b0 & 1 else 31                     # 32 entries
        s["valid_" + name] = blk_hdr(b0, b1, 0x42 | 0x04) + blk_round() * 3
    s["tiny_queue"] = blk_hdr(0x10, 0, 0x01) + blk_round()
    s["mq_small_q1"] = blk_hdr(0x16, 5, 0x66, cfg=None) + blk_round() + \
        u8(B_READ) + u8(0x83) + u8(0)
    s["bad_status_ring"] = blk_hdr(0x06, 3, 0x41) + u8(B_READ) + u8(0) + \
        u8(0) + u8(B_SUBMIT) + u8(B_RAW) + u8(15) + u16(0) + b"\xfe" * 16 + \
        u8(B_FETCH) + u8(0) + b_complete() + u8(B_REAP) + u8(0) + u8(0)
    s["needs_reset"] = blk_hdr(0x06, 3, 0x41) + u8(B_READ) + u8(0) + u8(0) + \
        u8(B_NEEDS_RESET) + u8(B_REAP) + u8(0) + u8(0)
    s["config_gen_open"] = blk_hdr(0x06, 3, 0x41, gen=b"\x01\x00\x01\x00")
    s["config_gen_forever"] = blk_hdr(0x06, 3, 0x41, gen=b"\x01" * 19) + \
        u8(B_CONFIG) + u8(39) + b"\x01" * 39
    s["refresh_capacity"] = blk_hdr(0x06, 3, 0x41) + u8(B_CONFIG) + u8(3) + \
        b"\x01\x00\x00"
    s["bad_cfg"] = blk_hdr(0x06, 3, 0x41, feats=BLK_F, cfg=blk_cfg(
        capacity=1 << 62, size_max=100, seg_max=0, blk_size=3, nq=0))
    s["short_cfg"] = blk_hdr(0x06, 3, 0x41, cfg=bytes(12))
    s["no_queues"] = blk_hdr(0x06, 3, 0x40)
    s["ro_device"] = blk_hdr(0x06, 3, 0x41, feats=BLK_F | F(5)) + blk_round()
    return s


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("virtqueue", vq_seeds())
    write("blk", blk_seeds())
