#!/usr/bin/env python3
"""Self-tests of the Strata grader.

    python3 grader/selftest/run.py [-v] [-k SUBSTRING] [--unit] [--repo DIR]

Unit tests (trace matcher, verdicts, lab declarations) need nothing; the
integration tests build and boot the real kernel (`make kernel iso` through
the grader) with a temporary labs folder of selftest_* kernel tests.
--repo grades another checkout (default: this one).  The last line is
`N passed, M failed`; the exit status is non-zero if anything failed."""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("-k", metavar="SUBSTRING", help="run only tests whose name contains this")
    p.add_argument("--unit", action="store_true", help="unit tests only (no QEMU)")
    p.add_argument("--repo", help="repository to build and boot (default: this one)")
    a = p.parse_args()
    import unit  # noqa: F401
    if not a.unit:
        import integration
        integration.configure(a.repo)
    tests = [(n, f) for n, f in harness.TESTS if not a.k or a.k in n]
    t0 = time.monotonic()
    try:
        passed, failed, skipped = harness.run(tests, a.verbose)
    finally:
        if not a.unit:
            integration.cleanup()
    print("(%d tests in %.1fs%s)" % (len(tests), time.monotonic() - t0,
                                    ", %d skipped" % skipped if skipped else ""))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not tests else 0


if __name__ == "__main__":
    sys.exit(main())
