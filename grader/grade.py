#!/usr/bin/env python3
"""Strata grader.  Usage: python3 grader/grade.py [options]; see --help and
grader/README.md."""

# First of all: a Ctrl-C (or SIGTERM) from now until cli.main puts its own
# handlers in place ends the grader at once with 128 + the signal (130),
# never with a KeyboardInterrupt traceback (issue 15, item 8). Nothing has
# been started yet, so there is nothing to clean up; an exception raised
# from the handler could land in an import's weakref callback, which would
# swallow it. _signal and posix are built in: `import signal` alone (enum)
# takes milliseconds.
# A Ctrl-C in the few statements before the handler is in place: the same
# exit, quietly.
try:
    import _signal
    import posix

    def _interrupted_early(signum, frame):
        posix.write(2, b"\ngrade: interrupted before it started\n")
        posix._exit(128 + signum)

    _signal.signal(_signal.SIGINT, _interrupted_early)
    _signal.signal(_signal.SIGTERM, _interrupted_early)
except KeyboardInterrupt:
    raise SystemExit(130)

try:
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from strata_grader.cli import main
except KeyboardInterrupt:	# raised before the handler above was set
    raise SystemExit(128 + _signal.SIGINT)

if __name__ == "__main__":
    sys.exit(main())
