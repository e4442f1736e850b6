#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print the reliability table at the end of `make check`.

Reads the "UVIRTIO-SUMMARY <test> key=value..." lines the tests print
(selftests in each VM's results.log, scripts/hotplug-host.py in
hotplug.log) and the libFuzzer result lines of the host stage, and sums
them over this run's VMs:

    scripts/reliability-summary.py FUZZLOG RESULTS.LOG... [HOTPLUG.LOG...]

It only reports; the pass/fail verdict is the tests' own.
"""
import re
import sys

SUM = re.compile(r'UVIRTIO-SUMMARY (\w+)((?: \w+=-?\d+)*)')
FUZZ = re.compile(r'fuzz: (\w+) ok: (\d+) execs')


def main():
    tot = {}
    runs = {}
    fuzz_execs = fuzz_ok = 0
    fuzz_fail = 0
    for path in sys.argv[1:]:
        try:
            text = open(path, errors='replace').read()
        except OSError:
            continue
        for m in FUZZ.finditer(text):
            fuzz_ok += 1
            fuzz_execs += int(m.group(2))
        fuzz_fail += len(re.findall(r'fuzz: \w+ FAILED', text))
        for m in SUM.finditer(text):
            name = m.group(1)
            d = tot.setdefault(name, {})
            runs[name] = runs.get(name, 0) + 1
            for kv in m.group(2).split():
                k, v = kv.split('=')
                v = int(v)
                if k.endswith('_max_ms'):
                    d[k] = max(d.get(k, 0), v)
                elif k.endswith('_avg_ms'):
                    d[k] = max(d.get(k, 0), v)      # worst VM's average
                else:
                    d[k] = d.get(k, 0) + v
    g = lambda n, k: tot.get(n, {}).get(k, 0)
    rows = []
    if 'kill9' in tot:
        rows.append(('kill -9 under I/O', f"{g('kill9', 'kills')} kills, {g('kill9', 'writes')} writes acked",
                     f"{g('kill9', 'verified')} flushed writes read back",
                     f"{g('kill9', 'failures')}"))
    if 'hotplug' in tot:
        rows.append(('hot-unplug under I/O',
                     f"{g('hotplug', 'cycles')} device_del/add, {g('hotplug', 'writes')} writes acked",
                     f"{g('hotplug', 'verified')} flushed writes read back; owner told in <= {g('hotplug_host', 'notify_max_ms')} ms",
                     f"{g('hotplug', 'lost')}"))
    if 'fuzz' in tot:
        rows.append(('ioctl/mmap fuzzer', f"{g('fuzz', 'calls')} calls",
                     f"{g('fuzz', 'unexpected')} undocumented results", '-'))
    if 'fail_nth' in tot:
        rows.append(('fail-nth sweep', f"{g('fail_nth', 'ioctls')} calls swept over {runs['fail_nth']} runs",
                     f"{g('fail_nth', 'points')} faults injected, {g('fail_nth', 'clean')} clean", '-'))
    if fuzz_ok or fuzz_fail:
        rows.append(('malicious device (libFuzzer)', f'{fuzz_execs} inputs',
                     f'{fuzz_fail} targets with findings', '-'))
    if 'dma_fault' in tot:
        rows.append(('DMA into an unmapped IOVA', f"{runs['dma_fault']} VMs with an IOMMU",
                     f"{g('dma_fault', 'contained')} contained, {g('dma_fault', 'faults_logged')} DMAR faults logged, "
                     f"canaries intact in {g('dma_fault', 'canaries_intact')}", '0' if g('dma_fault', 'canaries_intact') == runs['dma_fault'] else 'CHANGED'))
    # uvirtio_containment, one VM per IOMMU setup (vm-contain)
    for key, what in (('dma_contain_unmapped', 'an IOVA after DMA_UNMAP'),
                      ('dma_contain_freed', 'a freed DMA_ALLOC buffer'),
                      ('dma_contain_physical', "another page's phys. address")):
        if key in tot:
            n = runs[key]
            rows.append((f'device DMA into {what}', f'{n} VMs with an IOMMU',
                         f"{g(key, 'contained')} contained, {g(key, 'faults_logged')} DMAR faults logged",
                         '0' if g(key, 'contained') == n else f"{n - g(key, 'contained')} NOT CONTAINED"))
    if not rows:
        print('  (no reliability results in this run)')
        return 0
    hdr = ('test', 'load held', 'faults survived / bad inputs', 'lost or failed')
    w = [max(len(r[i]) for r in rows + [hdr]) for i in range(4)]
    for r in [hdr] + rows:
        print('  ' + '  '.join(r[i].ljust(w[i]) for i in range(4)).rstrip())
    return 0


if __name__ == '__main__':
    sys.exit(main())
