"""The grader's command line: options, their defaults and checks."""

import argparse
import math
import os

DEFAULT_FLOOD = 1 << 20
DEFAULT_BUILD_TIMEOUT = 300.0
DEFAULT_SUBMISSION_TIMEOUT = 1200.0
TIMEOUT_SCALE_MAX = 100


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="grade.py",
        description="Boot the Strata kernel in QEMU once per lab test and check its serial "
                    "output against the test's trace.  Exit status: 0 every selected test OK, "
                    "1 some test not OK, 2 setup error (build failed, QEMU missing, bad lab "
                    "declarations, bad options), 128+N killed by signal N.")
    sel = p.add_argument_group("selection (default: labs 1..N where N is the LAB file, else all)")
    sel.add_argument("--lab", type=int, metavar="N", help="grade only lab N")
    sel.add_argument("--upto", type=int, metavar="N", help="grade labs 1..N")
    sel.add_argument("--test", action="append", default=[], metavar="NAME",
                     help="grade only this test (NAME or labN/NAME; repeatable)")
    sel.add_argument("--list", action="store_true", help="list labs, tests and points, then exit")
    src = p.add_argument_group("inputs")
    src.add_argument("-C", "--repo", metavar="DIR", help="repository root (default: the folder above grader/)")
    src.add_argument("--labs-dir", metavar="DIR", help="lab declarations to grade with (default: REPO/labs)")
    src.add_argument("--kernel", metavar="PATH", help="grade this prebuilt kernel ELF (no kernel build)")
    src.add_argument("--iso", metavar="PATH", help="grade this prebuilt ISO (no ISO build)")
    src.add_argument("--no-build", action="store_true", help="do not run make; use build/kernel.elf and build/strata.iso as they are")
    src.add_argument("--qemu", default="qemu-system-i386", metavar="PATH", help="QEMU binary (default: qemu-system-i386 on PATH)")
    src.add_argument("--pristine", metavar="DIR",
                     help="grade a copy of the submission (-C DIR: a folder or a git .bundle) with the "
                          "instructor's files of DIR laid over it (DIR/grader/pristine.manifest)")
    run = p.add_argument_group("running")
    run.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                     help="tests run at once (default: number of CPUs, %(default)s here)")
    run.add_argument("--timeout-scale", type=float, default=1.0, metavar="F",
                     help="multiply every test's timeout by F")
    run.add_argument("--flood-limit", type=int, default=DEFAULT_FLOOD, metavar="BYTES",
                     help="kill a test after this much output (default: 1 MiB)")
    run.add_argument("--build-timeout", type=float, default=DEFAULT_BUILD_TIMEOUT, metavar="S",
                     help="a build that takes longer (wall seconds) is a setup error (default: %(default)s)")
    out = p.add_argument_group("output")
    out.add_argument("-v", "--verbose", action="store_true", help="print each test's full serial log after its verdict")
    out.add_argument("--out", metavar="DIR", help="log folder base (default: REPO/build/grade)")
    out.add_argument("--json", metavar="FILE", help="write machine-readable results to FILE")
    out.add_argument("--junit", metavar="FILE", help="write JUnit XML results to FILE")
    out.add_argument("--gradescope", metavar="FILE", help="write Gradescope's results.json to FILE")
    out.add_argument("--classroom", metavar="FILE",
                     help="write a GitHub Classroom autograding result (the reporter's format) to FILE")
    out.add_argument("--calibrate", nargs="?", type=int, const=5, metavar="N",
                     help="measure grader overhead: N bare boots of test=selftest_pass vs N graded ones")
    cls = p.add_argument_group("a whole class (with --pristine DIR and --out RESULTS_DIR)")
    cls.add_argument("--class", dest="class_dir", metavar="SUBMISSIONS_DIR",
                     help="grade every folder or .bundle in SUBMISSIONS_DIR in isolation")
    cls.add_argument("--parallel", type=int, default=None, metavar="N",
                     help="submissions graded at once (default: number of CPUs)")
    cls.add_argument("--submission-timeout", type=float, default=DEFAULT_SUBMISSION_TIMEOUT,
                     metavar="S", help="wall seconds one submission may take in all "
                                       "(default: %(default)s)")
    a = p.parse_args(argv)
    if a.jobs < 1:
        p.error("-j must be at least 1")
    # nan compares false with everything and inf never runs out: a hanging
    # test would then run for ever.
    if not (math.isfinite(a.timeout_scale) and 0 < a.timeout_scale <= TIMEOUT_SCALE_MAX):
        p.error("--timeout-scale must be a number in (0, %d], not %s"
                % (TIMEOUT_SCALE_MAX, a.timeout_scale))
    if a.flood_limit < 1024:
        p.error("--flood-limit must be at least 1024")
    if a.lab is not None and a.upto is not None:
        p.error("--lab and --upto exclude each other")
    if a.calibrate is not None and a.calibrate < 1:
        p.error("--calibrate needs N >= 1")
    if a.build_timeout <= 0 or a.submission_timeout <= 0:
        p.error("--build-timeout and --submission-timeout must be positive")
    if a.class_dir and not (a.pristine and a.out):
        p.error("--class needs --pristine DIR and --out RESULTS_DIR")
    if a.parallel is not None and a.parallel < 1:
        p.error("--parallel must be at least 1")
    return a
