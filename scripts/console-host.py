#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host side of the virtio-console test (scripts/vm-run.sh -d irq).

Each --sock PATH is the unix socket of a QEMU chardev (server=on,
wait=off) behind a virtconsole or virtserialport that the guest drives
with `uvirtio console` (scripts/guest/irq-tests).  For every socket, in
its own thread, this connects as soon as QEMU made the socket and then:

  1. sends P1 at once: the output of `seq 1 N1`;
  2. reads the guest's bytes; at the first of them it sends P2, the
     output of `seq 200001 200000+N2`;
  3. expects, in order and nothing else: P1 (the guest echoes what it
     received), G (`seq 100001 100000+N3`, the guest's own bytes), and P2
     (echoed back as well).

So what the guest received and what it sent are both checked here, on
the host side.  N1, N2, N3 differ per socket (see sizes()).  The stream
ends when all of it arrived, or at --timeout.  One line per socket and a
verdict go to --log; the exit status is 0 only if every socket's stream
was exactly what was expected.
"""
import argparse
import os
import socket
import sys
import threading
import time


def seq(first, last):
    return ''.join('%d\n' % i for i in range(first, last + 1)).encode()


def sizes(index):
    """N1, N2, N3 of socket @index: 10-40 KiB each way, not alike."""
    return 3000 + 1000 * index, 2000 + 700 * index, 4000 + 500 * index


def expected(index):
    n1, n2, n3 = sizes(index)
    p1 = seq(1, n1)
    p2 = seq(200001, 200000 + n2)
    g = seq(100001, 100000 + n3)
    return p1, p2, p1 + g + p2


def run_one(index, path, deadline, out):
    p1, p2, want = expected(index)
    while True:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            break
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                out[index] = 'FAIL %s: could not connect' % path
                return
            time.sleep(0.05)
    got = bytearray()
    sent_p2 = False
    try:
        s.sendall(p1)
        while len(got) < len(want):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(min(left, 1.0))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            got += chunk
            if not sent_p2:
                s.sendall(p2)
                sent_p2 = True
        # anything beyond the expected stream is wrong too
        s.settimeout(0.5)
        try:
            extra = s.recv(65536)
        except (socket.timeout, OSError):
            extra = b''
        got += extra
    except OSError as e:
        out[index] = 'FAIL %s: %s after %d bytes' % (path, e, len(got))
        return
    finally:
        s.close()
    if bytes(got) == want:
        out[index] = 'ok %s: %d bytes to the guest, %d back (echo and own)' % (
            path, len(p1) + len(p2), len(got))
        return
    i = next((k for k in range(min(len(got), len(want)))
              if got[k] != want[k]), min(len(got), len(want)))
    out[index] = ('FAIL %s: got %d of %d bytes, first difference at %d: '
                  'got %r, wanted %r' % (path, len(got), len(want), i,
                                         bytes(got[i:i + 16]),
                                         want[i:i + 16]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sock', action='append', required=True)
    ap.add_argument('--log')
    ap.add_argument('--timeout', type=float, default=300)
    ap.add_argument('--print-sizes', action='store_true',
                    help='print "N1 N2 N3" per socket and exit')
    a = ap.parse_args()
    if a.print_sizes:
        for i in range(len(a.sock)):
            print('%d %d %d' % sizes(i))
        return 0
    if not a.log:
        ap.error('--log is required')
    deadline = time.monotonic() + a.timeout
    out = {}
    th = [threading.Thread(target=run_one, args=(i, p, deadline, out),
                           daemon=True) for i, p in enumerate(a.sock)]
    for t in th:
        t.start()
    for t in th:
        t.join(max(0, deadline - time.monotonic()) + 5)
    lines = [out.get(i, 'FAIL %s: no verdict' % p)
             for i, p in enumerate(a.sock)]
    bad = [x for x in lines if not x.startswith('ok ')]
    with open(a.log, 'w') as f:
        for x in lines:
            f.write(x + '\n')
        f.write('console-host: %s\n' % ('FAIL' if bad else 'ok'))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
