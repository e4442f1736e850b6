#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host side of the net link test (scripts/vm-run.sh -d net).

The guest test (scripts/guest/net-tests, link_change) waits for link
changes on the uvirtio function and asks, on its results serial line:

    UVIRTIO-NETLINK toggle     -> QMP set_link <device> off, 1 s, on
    UVIRTIO-NETLINK done       the guest is finished

Each toggle is one line in --log.  Exits non-zero if a set_link failed;
a guest that never asks is fine (the helper ends with QEMU or at the
guest's end marker).
"""
import argparse
import json
import os
import re
import socket
import sys
import time

LINE = re.compile(r'UVIRTIO-NETLINK (toggle|done)')


def connect(path, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class Qmp:
    def __init__(self, path, deadline):
        self.s = connect(path, deadline)
        self.buf = b''
        self.msg(30)                                # greeting
        self.cmd('qmp_capabilities')

    def msg(self, timeout):
        end = time.monotonic() + timeout
        while b'\n' not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError('no QMP message')
            self.s.settimeout(left)
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError('QMP closed')
            self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def cmd(self, name, args=None):
        m = {'execute': name}
        if args:
            m['arguments'] = args
        self.s.sendall(json.dumps(m).encode() + b'\n')
        while True:
            r = self.msg(30)
            if 'event' in r:
                continue
            if 'error' in r:
                raise RuntimeError(f"{name}: {r['error'].get('desc')}")
            return r.get('return')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--qmp', required=True)
    ap.add_argument('--results', required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--device', required=True)
    ap.add_argument('--timeout', type=float, default=900)
    a = ap.parse_args()
    deadline = time.monotonic() + a.timeout
    log = open(a.log, 'w')
    q = Qmp(a.qmp, deadline)
    seen = 0
    while time.monotonic() < deadline:
        try:
            text = open(a.results, errors='replace').read()
        except OSError:
            text = ''
        events = LINE.findall(text)
        for ev in events[seen:]:
            seen += 1
            if ev == 'done':
                log.write('done\n')
                return 0
            t0 = time.monotonic()
            q.cmd('set_link', {'name': a.device, 'up': False})
            time.sleep(1)
            q.cmd('set_link', {'name': a.device, 'up': True})
            log.write(f'toggle {seen}: {a.device} down and up '
                      f'({time.monotonic() - t0:.1f} s)\n')
            log.flush()
        if 'UVIRTIO-DONE' in text:
            return 0
        time.sleep(0.2)
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (OSError, EOFError, TimeoutError) as e:
        # QEMU went away: the guest's own verdict stands
        print(f'net-link-host: {e}', file=sys.stderr)
        sys.exit(0)
    except RuntimeError as e:
        print(f'net-link-host: {e}', file=sys.stderr)
        sys.exit(1)
