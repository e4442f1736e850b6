#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Run every command Documentation/testing.rst shows, as a reader would.

    scripts/test-docs.py [-n] [RST]

Every literal block of the page (after a "::") is read; each line that
starts a command (make, scripts/..., or VAR=value before one; a trailing
backslash continues it) is run with bash from the top of the tree, in
the page's order.  The page's placeholder /path/to/linux/build is the
debug kernel's build tree.  A command passes if it exits 0 and, for a
scripts/vm-run.sh run of scripts/guest/run-tests, if the KTAP it printed
(scripts/ktap-report.py) has at least one passed case and no failure.
-n lists the commands without running them.

Prints one line per command and "docs-examples: N passed, M failed".
"""
import os
import re
import shlex
import subprocess
import sys
import time

TOP = os.path.realpath(os.path.join(os.path.dirname(__file__), '..'))
OUT = os.environ.get('UVIRTIO_OUT', os.path.join(TOP, 'out'))
COMMAND = re.compile(r'^([A-Z_]+=\S+\s+)*(make|scripts/)')


def commands(path):
    """The commands of the literal blocks of @path, in order."""
    lines = open(path, encoding='utf-8').read().split('\n')
    cmds, i = [], 0
    while i < len(lines):
        if not lines[i].rstrip().endswith('::'):
            i += 1
            continue
        i += 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        block = []
        while i < len(lines) and (not lines[i].strip() or
                                  lines[i].startswith(' ')):
            block.append(lines[i].strip())
            i += 1
        cur = None
        for ln in block:
            if cur is not None:
                cur += ' ' + ln.rstrip('\\').strip()
                if not ln.endswith('\\'):
                    cmds.append(cur)
                    cur = None
                continue
            if not ln or ln.startswith('#') or not COMMAND.match(ln):
                continue
            if ln.endswith('\\'):
                cur = ln.rstrip('\\').strip()
            else:
                cmds.append(ln)
    return cmds


def vm_outdir(cmd):
    """The output directory of a vm-run.sh command, or None."""
    try:
        argv = shlex.split(cmd)
    except ValueError:
        return None
    if 'scripts/vm-run.sh' not in argv:
        return None
    argv = argv[argv.index('scripts/vm-run.sh') + 1:]
    opts = {}
    for k in range(len(argv) - 1):
        if argv[k] in ('-k', '-i', '-o', '-p'):
            opts[argv[k]] = argv[k + 1]
    if opts.get('-p') != 'scripts/guest/run-tests':
        return None
    if '-o' in opts:
        return opts['-o']
    return os.path.join(OUT, 'vm', '%s-iommu%s' % (opts.get('-k', 'stock'),
                                                   opts.get('-i', 'off')))


def ktap_ok(outdir, log):
    ksrc = subprocess.run(['scripts/build-kernel.sh', '--src'], cwd=TOP,
                          capture_output=True, text=True).stdout.strip()
    r = subprocess.run(['python3', 'scripts/ktap-report.py',
                        os.path.join(ksrc, 'tools/testing/kunit/kunit.py'),
                        'docs', os.path.join(outdir, 'results.log')],
                       cwd=TOP, capture_output=True, text=True)
    log.write(r.stdout + r.stderr)
    m = re.search(r'^TOTAL (\d+) (\d+) (\d+)', r.stdout, re.M)
    if not m:
        return 'no KTAP results'
    p, f = int(m.group(1)), int(m.group(2))
    if f or not p:
        names = re.findall(r'^FAILED (.*)$', r.stdout, re.M)
        return '%d passed, %d failed in the KTAP%s' % (
            p, f, (': ' + '; '.join(names[:4])) if names else '')
    return None


def main():
    args = sys.argv[1:]
    dry = '-n' in args
    args = [a for a in args if a != '-n']
    rst = args[0] if args else os.path.join(TOP, 'Documentation/testing.rst')
    kobj = subprocess.run(['scripts/build-kernel.sh', '--path'], cwd=TOP,
                          capture_output=True, text=True).stdout.strip()
    cmds = commands(rst)
    if dry:
        print('\n'.join(cmds))
        return 0
    logdir = os.path.join(OUT, 'test-docs')
    os.makedirs(logdir, exist_ok=True)
    npass = nfail = 0
    for n, cmd in enumerate(cmds, 1):
        run = cmd.replace('/path/to/linux/build', kobj or '/path/to/linux/build')
        t0 = time.time()
        with open(os.path.join(logdir, '%02d.log' % n), 'w') as log:
            log.write('$ %s\n' % run)
            log.flush()
            rc = subprocess.run(['bash', '-c', run], cwd=TOP, stdout=log,
                                stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL).returncode
            why = 'exit status %d' % rc if rc else None
            outdir = vm_outdir(run)
            if not why and outdir:
                why = ktap_ok(outdir, log)
        secs = time.time() - t0
        if why:
            nfail += 1
            print('FAIL %s (%s; %s/%02d.log, %.0f s)' % (cmd, why, logdir, n, secs))
        else:
            npass += 1
            print('ok   %s (%.0f s)' % (cmd, secs))
        sys.stdout.flush()
    print('docs-examples: %d passed, %d failed' % (npass, nfail))
    return 1 if nfail or not cmds else 0


if __name__ == '__main__':
    sys.exit(main())
