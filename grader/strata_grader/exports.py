"""The result files for course engines, all made from the grader's JSON
results (report.result_json): --json, --junit (JUnit XML), --gradescope
(Gradescope's results.json) and --classroom (GitHub Classroom's
autograding result).  A setup error (build failed, QEMU missing) still
writes every requested file, saying so, with the selected tests as not
run."""

import os
import sys
import time

from . import classroom, gradescope, junit
from .report import write_json

STARTED = time.monotonic()


def not_run(tests):
    """The JSON entries of tests that a setup error kept from running."""
    return [{"lab": t.lab.number, "lab_title": t.lab.title, "name": t.name, "id": t.id,
             "points": t.points} for t in tests]


def write_all(args, data):
    """Every result file the options ask for; a file that cannot be
    written is reported on stderr (the exit status stays the grader's)."""
    data.setdefault("seconds", round(time.monotonic() - STARTED, 3))
    for path, write in ((args.json, write_json), (args.junit, junit.write),
                        (args.gradescope, gradescope.write), (args.classroom, classroom.write)):
        if not path:
            continue
        try:
            d = os.path.dirname(os.path.abspath(path))
            os.makedirs(d, exist_ok=True)
            write(path, data)
        except OSError as e:
            print("grade: cannot write %s: %s" % (path, e.strerror), file=sys.stderr)
