#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Count the KTAP/TAP results a VM run printed.

The guest prints each test document between UVIRTIO-KTAP-BEGIN/END markers
(scripts/guest/run-tests).  This script only splits them apart; every
document is parsed by the kernel's own tools/testing/kunit/kunit.py, and the
counts are read from its JSON output.

  ktap-report.py KUNIT_PY LABEL RESULTS_LOG

Prints one line per document, a "FAILED <document> [<case>]" line per
failed case (or per failed document without one), and, last,
"TOTAL <passed> <failed> <skipped>".
A document that kunit.py rejects (crash, missing plan, bad exit status)
counts as a failure even when none of its cases failed.
"""
import json
import os
import subprocess
import sys
import tempfile


def walk(group, counts, failed):
    for case in group.get("test_cases", []):
        st = case.get("status", "FAIL")
        key = {"PASS": "pass", "SKIP": "skip"}.get(st, "fail")
        counts[key] += 1
        if key == "fail":
            failed.append(case.get("name", "?"))
    for sub in group.get("sub_groups", []):
        walk(sub, counts, failed)


def split_docs(path):
    docs, cur, name = [], None, None
    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            if line.startswith("UVIRTIO-KTAP-BEGIN "):
                name, cur = line.split(" ", 1)[1], []
            elif line.startswith("UVIRTIO-KTAP-END ") and cur is not None:
                rc = line.rsplit("rc=", 1)[-1]
                docs.append((name, cur, rc))
                cur = None
            elif cur is not None:
                cur.append(line)
    if cur is not None:
        docs.append((name, cur, "unfinished"))
    return docs


def main():
    kunit_py, label, log = sys.argv[1:4]
    total = {"pass": 0, "fail": 0, "skip": 0}
    for name, lines, rc in split_docs(log):
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "doc.ktap")
            out = os.path.join(tmp, "doc.json")
            with open(src, "w") as f:
                f.write("\n".join(lines) + "\n")
            p = subprocess.run([sys.executable, kunit_py, "parse",
                                "--json=" + out, src],
                               capture_output=True, text=True)
            counts = {"pass": 0, "fail": 0, "skip": 0}
            failed = []
            try:
                with open(out) as f:
                    walk(json.load(f), counts, failed)
            except (OSError, ValueError):
                pass
            note = ""
            if rc not in ("0", "4") and counts["fail"] == 0:
                # kselftest exits 4 (KSFT_SKIP) when every test skipped
                counts["fail"] += 1
                note = f" (exit status {rc})"
            if counts["pass"] + counts["fail"] + counts["skip"] == 0:
                counts["fail"] += 1
                note += " (no results)"
            # kunit.py also exits non-zero for a document whose every
            # test skipped: that is a skip, not a parse failure.
            all_skipped = counts["skip"] and not counts["pass"] + counts["fail"]
            if p.returncode != 0 and counts["fail"] == 0 and not all_skipped:
                counts["fail"] += 1
                note += " (kunit.py parse failed)"
            for k in total:
                total[k] += counts[k]
            print(f"  {label} {name}: {counts['pass']} passed, "
                  f"{counts['fail']} failed, {counts['skip']} skipped{note}")
            for case in failed:
                print(f"FAILED {name} {case}")
            if counts["fail"] and not failed:
                print(f"FAILED {name}{note}")
            if counts["fail"]:
                # Show the parser's view of what failed.
                for l in p.stdout.splitlines():
                    if "[FAILED]" in l or "[CRASHED]" in l or "ERROR" in l:
                        print("    " + l)
    print(f"TOTAL {total['pass']} {total['fail']} {total['skip']}")


if __name__ == "__main__":
    main()
