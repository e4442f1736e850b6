#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host side of the hot-unplug test (scripts/vm-run.sh -H).

The guest test (uvirtio_reliability, hotplug.under_io) drives I/O on a
virtio-blk function behind a PCIe root port and asks, on its results
serial line, for the function to be pulled:

    UVIRTIO-HOTPLUG unplug <n>     -> QMP device_del, wait for
                                      DEVICE_DELETED, then device_add again
    UVIRTIO-HOTPLUG notified <n>   the owner's remove eventfd fired
    UVIRTIO-HOTPLUG done <n>       the guest is finished

For every cycle this records, on the host clock: device_del to the
owner's notification, and device_del to DEVICE_DELETED (which QEMU sends
only once the guest has ejected the function, so it also shows that the
unbind did not wait for the owner, who still holds the device fd).  It
writes one line per cycle and a summary to --log, and exits non-zero if a
cycle's device_del, DEVICE_DELETED or device_add failed or timed out, or
if a notification came later than --max-notify seconds.
"""
import argparse
import json
import os
import re
import socket
import sys
import time

LINE = re.compile(r'UVIRTIO-HOTPLUG (unplug|notified|done) (\d+)')
# QMP wants JSON booleans for bool properties (OnOffAuto ones such as
# disable-legacy stay strings).
BOOL_PROPS = {'iommu_platform', 'packed', 'event_idx', 'indirect_desc'}


class Qmp:
    def __init__(self, path, deadline):
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.buf = b''
        self.events = []
        self.recv_msg(30)                        # greeting
        self.cmd('qmp_capabilities')

    def recv_msg(self, timeout):
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

    def cmd(self, name, args=None, timeout=30):
        msg = {'execute': name}
        if args:
            msg['arguments'] = args
        self.s.sendall(json.dumps(msg).encode() + b'\n')
        while True:
            r = self.recv_msg(timeout)
            if 'event' in r:
                self.events.append(r)
                continue
            if 'error' in r:
                raise RuntimeError(f"{name}: {r['error'].get('desc')}")
            return r.get('return')

    def wait_event(self, name, dev_id, timeout):
        end = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e['event'] == name and \
                   e.get('data', {}).get('device') == dev_id:
                    del self.events[i]
                    return True
            left = end - time.monotonic()
            if left <= 0:
                return False
            try:
                r = self.recv_msg(left)
            except TimeoutError:
                return False
            if 'event' in r:
                self.events.append(r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--qmp', required=True)
    ap.add_argument('--results', required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--device', required=True,
                    help='device_add properties: driver=...,id=...,...')
    ap.add_argument('--max-notify', type=float, default=1.0)
    ap.add_argument('--timeout', type=float, default=900)
    a = ap.parse_args()

    props = dict(kv.split('=', 1) for kv in a.device.split(','))
    for k in BOOL_PROPS & props.keys():
        props[k] = props[k] in ('on', 'true', 'yes')
    dev_id = props['id']
    start = time.monotonic()
    deadline = start + a.timeout
    log = open(a.log, 'w')
    bad = []
    cycles = {}
    try:
        qmp = Qmp(a.qmp, start + 120)
    except (OSError, TimeoutError, EOFError) as e:
        print(f'hotplug-host: no QMP: {e}', file=sys.stderr)
        return 1

    pos = 0
    done = False
    while not done and time.monotonic() < deadline:
        try:
            with open(a.results, 'rb') as f:
                f.seek(pos)
                data = f.read()
        except FileNotFoundError:
            data = b''
        # only whole lines
        cut = data.rfind(b'\n') + 1
        pos += cut
        for raw in data[:cut].decode(errors='replace').splitlines():
            if raw.startswith('UVIRTIO-DONE'):
                done = True
            m = LINE.search(raw)
            if not m:
                continue
            what, n = m.group(1), int(m.group(2))
            now = time.monotonic()
            if what == 'done':
                done = True
            elif what == 'notified':
                c = cycles.get(n)
                if c is None or 'del' not in c:
                    bad.append(f'cycle {n}: notified before any device_del')
                else:
                    c['notify'] = now - c['del']
            elif what == 'unplug':
                c = cycles.setdefault(n, {})
                c['del'] = time.monotonic()
                try:
                    qmp.cmd('device_del', {'id': dev_id})
                except (RuntimeError, TimeoutError, EOFError) as e:
                    bad.append(f'cycle {n}: device_del: {e}')
                    done = True
                    break
                if not qmp.wait_event('DEVICE_DELETED', dev_id, 60):
                    bad.append(f'cycle {n}: no DEVICE_DELETED within 60 s'
                               ' (the guest did not let go of the function)')
                    done = True
                    break
                c['deleted'] = time.monotonic() - c['del']
                try:
                    qmp.cmd('device_add', dict(props))
                except (RuntimeError, TimeoutError, EOFError) as e:
                    bad.append(f'cycle {n}: device_add: {e}')
                    done = True
                    break
                c['added'] = time.monotonic() - c['del']
        if not done:
            time.sleep(0.01)
    if not done:
        bad.append('the guest never said it was done')

    notify = []
    for n in sorted(cycles):
        c = cycles[n]
        nt = c.get('notify')
        print(f'cycle {n}: notify '
              f"{'%.3f s' % nt if nt is not None else 'MISSING'}, "
              f"deleted {c.get('deleted', -1):.3f} s, "
              f"re-added {c.get('added', -1):.3f} s", file=log)
        if nt is None:
            bad.append(f'cycle {n}: the owner was never notified')
        else:
            notify.append(nt)
            if nt > a.max_notify:
                bad.append(f'cycle {n}: owner notified after {nt:.3f} s '
                           f'(limit {a.max_notify} s)')
    summary = (f'UVIRTIO-SUMMARY hotplug_host cycles={len(cycles)} '
               f"notify_max_ms={int(max(notify) * 1000) if notify else -1} "
               f"notify_avg_ms={int(sum(notify) / len(notify) * 1000) if notify else -1} "
               f'errors={len(bad)}')
    print(summary, file=log)
    for b in bad:
        print('FAIL ' + b, file=log)
    log.close()
    print('hotplug-host: ' + summary, file=sys.stderr)
    for b in bad:
        print('hotplug-host: FAIL ' + b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
