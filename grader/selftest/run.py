#!/usr/bin/env python3
"""Self-tests of the Strata grader (unittest).

    python3 grader/selftest/run.py [-v] [-k SUBSTRING] [--unit] [--repo DIR]

Unit tests (trace matcher, verdicts, lab declarations: unit.py) need
nothing; the integration tests (integration.py) build and boot the real
kernel (`make kernel iso` through the grader) with a temporary labs folder
of selftest_* kernel tests.  --repo grades another checkout (default: this
one).  The last line is `N passed, M failed`; the exit status is non-zero
if anything failed.  The same tests run under plain unittest too:
`cd grader/selftest && python3 -m unittest unit integration`
(and classgrade_unit, classgrade_integration: class-scale grading)."""

import argparse
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("-k", metavar="SUBSTRING", help="run only tests whose name contains this")
    p.add_argument("--unit", action="store_true", help="unit tests only (no QEMU)")
    p.add_argument("--repo", help="repository to build and boot (default: this one)")
    a = p.parse_args()
    if a.repo:
        os.environ["STRATA_SELFTEST_REPO"] = os.path.abspath(a.repo)
    loader = unittest.TestLoader()
    if a.k:
        loader.testNamePatterns = ["*%s*" % a.k]
    loader.sortTestMethodsUsing = None      # in file order
    units = ["unit", "classgrade_unit"]
    suite = loader.loadTestsFromNames(units if a.unit else
                                      units + ["integration", "classgrade_integration",
                                               "reliability"])
    t0 = time.monotonic()
    res = unittest.TextTestRunner(stream=sys.stdout, verbosity=2 if a.verbose else 1).run(suite)
    failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    print("(%d tests in %.1fs%s)" % (res.testsRun, time.monotonic() - t0,
                                    ", %d skipped" % skipped if skipped else ""))
    print("%d passed, %d failed" % (res.testsRun - failed - skipped, failed))
    return 1 if failed or not res.testsRun else 0


if __name__ == "__main__":
    sys.exit(main())
