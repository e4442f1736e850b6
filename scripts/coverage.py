#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Line coverage from gcc's gcov data, per source file and in total.

    coverage.py NAME OBJDIR [--runs DIR...] [--also OBJDIR2 DIR]...
                [--include RE] [--exclude RE]

OBJDIR holds the .gcno files of a --coverage (or Kbuild GCOV_PROFILE)
build.  Without --runs the .gcda files are the ones next to them (a host
test run); with --runs each DIR is a tree of .gcda files copied from
elsewhere (a VM's /sys/kernel/debug/gcov), matched to a .gcno by its path
under OBJDIR, and a line counts as run if any of the runs ran it.

--also OBJDIR2 DIR (repeatable) adds a run of another build of the same
sources: DIR's .gcda files belong to OBJDIR2's .gcno files (e.g. the
library's host unit tests in one build, the in-VM programs in another,
their .gcda written under GCOV_PREFIX in the guest).  The builds are
merged by source line: a line counts as run if any run of any build ran
it.  Every run counted is named first ("run: DIR (N .gcda files)").

Source names are taken relative to the top of the repository (or
--src-root: the private copy scripts/build-module.sh compiles); only those
matching --include (default: anything in the repository) and not
--exclude are counted.  Prints one line per file and then
"NAME line coverage: N%".  Needs the gcov of the gcc that built OBJDIR.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.realpath(os.path.join(os.path.dirname(__file__), '..'))


def gcov_json(gcno, gcda):
    """gcov's JSON for one object; gcda may be None (nothing ran)."""
    with tempfile.TemporaryDirectory() as tmp:
        stem = os.path.splitext(os.path.basename(gcno))[0]
        shutil.copy(gcno, os.path.join(tmp, stem + '.gcno'))
        if gcda:
            shutil.copy(gcda, os.path.join(tmp, stem + '.gcda'))
        # gcov resolves relative source names against the directory the
        # compiler ran in, which the JSON names.
        p = subprocess.run(['gcov', '--json-format', '--stdout', '-o', tmp,
                            os.path.join(tmp, stem + '.gcda')],
                           capture_output=True, text=True, check=False)
        if p.returncode != 0 or not p.stdout.strip():
            if gcda and 'stamp mismatch' in p.stderr:
                return None     # counters of another build of this object
            sys.exit(f'coverage.py: gcov failed on {gcno}: {p.stderr.strip()}')
        return json.loads(p.stdout.splitlines()[0])


def source_name(path, cwd, root):
    full = os.path.realpath(os.path.join(cwd, path))
    rel = os.path.relpath(full, root)
    if not rel.startswith('..'):
        return rel
    # a private copy of the sources (scripts/build-module.sh): name the
    # file by its last two components (kmod/main.c)
    return '/'.join(full.split('/')[-2:])


def gcda_files(d):
    found = []
    for root, _, files in os.walk(d):
        found += [os.path.join(root, f) for f in files if f.endswith('.gcda')]
    return found


def count_build(objdir, rundirs, inc, exc, src_root, lines):
    """Add one build's runs to lines (source -> {line: ran})."""
    gcnos = []
    for root, _, files in os.walk(objdir):
        gcnos += [os.path.join(root, f) for f in files if f.endswith('.gcno')]
    if not gcnos:
        sys.exit(f'coverage.py: no .gcno files under {objdir}')
    runs = None
    if rundirs is None:
        n = sum(1 for g in gcnos if os.path.exists(g[:-len('.gcno')] + '.gcda'))
        print(f'run: {objdir} ({n} .gcda files)')
    else:
        runs = []
        for d in rundirs:
            runs.append(gcda_files(d))
            print(f'run: {d} ({len(runs[-1])} .gcda files)')
    for gcno in sorted(gcnos):
        rel = os.path.relpath(gcno, objdir)[:-len('.gcno')] + '.gcda'
        if runs is None:
            here = gcno[:-len('.gcno')] + '.gcda'
            gcdas = [here if os.path.exists(here) else None]
        else:
            gcdas = [next((g for g in run if g.endswith('/' + rel)), None)
                     for run in runs] or [None]
        for gcda in gcdas:
            j = gcov_json(gcno, gcda)
            if j is None:
                print(f'run: {gcda}: from another build of {gcno}, not counted')
                j = gcov_json(gcno, None)
            cwd = j.get('current_working_directory', objdir)
            for f in j['files']:
                src = source_name(f['file'], cwd, os.path.realpath(src_root))
                if not inc.search(src) or (exc and exc.search(src)):
                    continue
                m = lines.setdefault(src, {})
                for ln in f['lines']:
                    n = ln['line_number']
                    m[n] = m.get(n, False) or ln['count'] > 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('name')
    ap.add_argument('objdir')
    ap.add_argument('--runs', nargs='*', default=None)
    ap.add_argument('--include', default='.')
    ap.add_argument('--exclude', default=None)
    ap.add_argument('--also', nargs=2, action='append', default=[],
                    metavar=('OBJDIR', 'DIR'))
    ap.add_argument('--src-root', default=TOP)
    a = ap.parse_args()

    builds = [(a.objdir, a.runs)] + [(o, [d]) for o, d in a.also]
    inc = re.compile(a.include)
    exc = re.compile(a.exclude) if a.exclude else None
    lines = {}          # source -> {line: ran}
    for objdir, rundirs in builds:
        count_build(objdir, rundirs, inc, exc, a.src_root, lines)
    if not lines:
        sys.exit('coverage.py: no source file matched')
    tot = ran = 0
    for src in sorted(lines):
        m = lines[src]
        r = sum(1 for v in m.values() if v)
        tot += len(m)
        ran += r
        print(f'  {src:40s} {r:5d}/{len(m):5d}  {100.0 * r / len(m):5.1f}%')
    print(f'{a.name} line coverage: {100.0 * ran / tot:.1f}% ({ran}/{tot} lines)')


if __name__ == '__main__':
    main()
