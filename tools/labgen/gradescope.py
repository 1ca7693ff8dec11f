#!/usr/bin/env python3
"""Gradescope autograder packages: `make gradescope` (this script) writes
build/gradescope-labN.zip for every lab, or for --lab N only.

A package holds, at its root, what Gradescope's autograder specification
asks for:
    setup.sh        installs the packages (Gradescope's base image: Ubuntu 22.04)
    run_autograder  copies /autograder/submission, lays the pristine files
                    over the copy, builds, grades and writes
                    /autograder/results/results.json
    pristine/       the instructor-owned files (grader/pristine.manifest) of
                    lab N's tree as students get it (labgen's catch-up tree):
                    lab declarations, traces, in-kernel tests, test framework,
                    host tests, the grader, the build files
The lab N package grades labs 1..N (the tree's LAB file), as `make grade`
does on the lab N branch.  run_autograder's root is /autograder, or
$STRATA_AUTOGRADER_ROOT (the tests run it against a temporary folder)."""

import argparse
import os
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
# tools/ first: `labgen` is the package in this folder (not labgen.py)
sys.path.insert(0, os.path.dirname(HERE))

import labgen  # noqa: E402

# Ubuntu 22.04 (and Debian 12) package names: build (make, gcc with 32-bit
# support, binutils), ISO (grub-pc-bin, grub-common, xorriso, mtools), QEMU,
# host unit tests (check, pkg-config), the grader (python3).
PACKAGES = ("make gcc gcc-multilib binutils grub-pc-bin grub-common xorriso mtools "
            "qemu-system-x86 check pkg-config python3").split()

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image (Ubuntu
# 22.04, as root): the packages Strata builds, boots and grades with.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends %s
qemu-system-i386 --version
""" % " ".join(PACKAGES)

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission. It grades a copy of
# $ROOT/submission with the pristine files of $ROOT/source/pristine laid
# over it and writes $ROOT/results/results.json; if the grader itself could
# not run, or ran past $LIMIT seconds (Gradescope stops a run at 10 minutes
# by default and then has no results), it still writes a results.json that
# says so. ROOT is /autograder, or $STRATA_AUTOGRADER_ROOT (for testing).
set -u
ROOT="${STRATA_AUTOGRADER_ROOT:-/autograder}"
LIMIT="${STRATA_AUTOGRADER_LIMIT:-540}"
PRISTINE="$ROOT/source/pristine"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
LOGS="$(mktemp -d "${TMPDIR:-/tmp}/strata-logs.XXXXXX")"
# -j 1: Gradescope's default machine has half a CPU; time limits are in
# QEMU CPU time, so a slow machine does not cause timeouts. On SIGTERM the
# grader kills its QEMUs and make.
timeout -s TERM -k 30 "$LIMIT" \\
    python3 "$PRISTINE/grader/grade.py" --pristine "$PRISTINE" -C "$ROOT/submission" \\
    -j 1 --out "$LOGS" --gradescope "$RESULTS"
status=$?
echo "grader exit status: $status"
if ! python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert "tests" in d' \\
        "$RESULTS" 2>/dev/null; then
    if [ "$status" = 124 ]; then
        why="grading took longer than $LIMIT s, the autograder's limit (a kernel that hangs or floods its output in every test makes every test slow)"
    else
        why="the Strata autograder could not run (exit status $status; see the autograder output)"
    fi
    printf '{"score": 0, "output": "SETUP ERROR: %s. This is not a grade of your work; tell the course staff.", "visibility": "visible", "stdout_visibility": "visible", "tests": []}\\n' "$why" > "$RESULTS"
fi
exit 0
"""


def owned(tree):
    """The paths of tree that its own grader/pristine.manifest owns."""
    manifest = tree.get("grader/pristine.manifest")
    if manifest is None:
        raise labgen.LabgenError("the tree has no grader/pristine.manifest")
    rules = []
    for line in manifest[1].decode("utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rules.append((line.rstrip("/"), line.endswith("/")))
    out = []
    for path in sorted(tree):
        for rel, is_dir in rules:
            if path == rel or (is_dir and path.startswith(rel + "/")):
                out.append(path)
                break
    return out


def package(src, lab, out):
    """Write out (a .zip) for lab; returns the number of pristine files."""
    tree = src.render("catchup", lab)
    leaks = src.leaks("catchup", lab, tree)
    if leaks:
        raise labgen.LabgenError("lab %d: %d solution line(s) would leak:\n%s"
                                 % (lab, len(leaks), "\n".join(leaks[:5])))
    paths = owned(tree)
    tmp = out + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = 0o100755 << 16
            z.writestr(info, text)
        for path in paths:
            mode, data = tree[path]
            if mode == "120000":
                continue
            info = zipfile.ZipInfo("pristine/" + path, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = (0o100755 if mode == "100755" else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    os.replace(tmp, out)
    return len(paths)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Gradescope autograder packages, one per lab.")
    ap.add_argument("--root", default=labgen.DEFAULT_ROOT, help="the reference tree")
    ap.add_argument("--out", default=None, help="folder for the zips (default: ROOT/build)")
    ap.add_argument("--lab", type=int, action="append", help="only this lab (repeatable)")
    a = ap.parse_args(argv)
    try:
        src = labgen.Source(a.root)
        errors = src.check()
        if errors:
            for e in errors:
                print(e)
            raise labgen.LabgenError("%d marker error(s)" % len(errors))
        labs = a.lab or sorted(src.labs)
        for n in labs:
            if n not in src.labs:
                raise labgen.LabgenError("no lab %d (labs: %s)" % (n, sorted(src.labs)))
        out = a.out or os.path.join(a.root, "build")
        os.makedirs(out, exist_ok=True)
        for n in labs:
            path = os.path.join(out, "gradescope-lab%d.zip" % n)
            count = package(src, n, path)
            print("%s: labs 1..%d, %d pristine files" % (path, n, count))
    except labgen.LabgenError as e:
        print("gradescope: error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
