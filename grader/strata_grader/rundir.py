"""The log folders: build/grade/run-<pid>-<date>-<time>/ per grading run,
the `latest` symlink, and pruning to the most recent KEEP_RUNS."""

import os
import re
import shutil
import sys
import time

from .setup import SetupError

KEEP_RUNS = 20


def make_run_dir(base):
    os.makedirs(base, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for i in range(100):
        name = "run-%d-%s%s" % (os.getpid(), stamp, "-%d" % i if i else "")
        path = os.path.join(base, name)
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue
    raise SetupError("cannot create a run folder in %s" % base)


def point_latest(base, run_dir):
    link = os.path.join(base, "latest")
    tmp = os.path.join(base, ".latest-%d-%d" % (os.getpid(), time.monotonic_ns()))
    try:
        os.symlink(os.path.basename(run_dir), tmp)
        os.replace(tmp, link)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        print("grade: note: could not point %s at %s: %s" % (link, run_dir, e.strerror),
              file=sys.stderr)


def prune_runs(base, keep, mine):
    try:
        runs = [os.path.join(base, n) for n in os.listdir(base) if re.fullmatch(r"run-\d+-[\d-]+", n)]
        runs.sort(key=lambda p: os.stat(p).st_mtime, reverse=True)
    except OSError:
        return
    for p in runs[keep:]:
        if os.path.abspath(p) != os.path.abspath(mine):
            shutil.rmtree(p, ignore_errors=True)
