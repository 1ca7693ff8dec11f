"""Batch mode: `grade --class SUBMISSIONS_DIR --pristine DIR --out RESULTS`.

Every folder or git bundle (NAME.bundle) in SUBMISSIONS_DIR is one
student's submission.  Each is graded by its own grader process
(`grade.py --pristine DIR -C SUBMISSION`, so copied, overlaid, built and
graded in isolation), several at once, each with -j 1 and a wall-clock
budget (--submission-timeout): a submission that fails to build, hangs or
floods costs only its own budget.  RESULTS gets, per student,
students/NAME/{result.json, grade.log, logs/}, and for the class
scores.csv, summary.json (wall time, CPU seconds and peak memory per
student) and report.html (classreport.py)."""

import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import threading
import time

from . import classreport
from .qemu import Interrupted

GRADE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "grade.py")
TERM_GRACE = 10.0        # seconds a grader gets to clean up after SIGTERM


def submissions(folder):
    """[(name, path)] of the submissions in folder, sorted by name."""
    out = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.startswith("."):
            continue
        if os.path.isdir(path):
            out.append((name, path))
        elif name.endswith(".bundle") and os.path.isfile(path):
            out.append((name[:-len(".bundle")], path))
        else:
            print("grade: skipping %s: neither a folder nor a .bundle file" % path, flush=True)
    return out


def passthrough(args):
    """The selection and limits of this run, for each student's grader."""
    argv = []
    if args.lab is not None:
        argv += ["--lab", str(args.lab)]
    if args.upto is not None:
        argv += ["--upto", str(args.upto)]
    for t in args.test:
        argv += ["--test", t]
    argv += ["--qemu", args.qemu, "--timeout-scale", repr(args.timeout_scale),
             "--flood-limit", str(args.flood_limit), "--build-timeout", repr(args.build_timeout)]
    return argv


def grade_one(registry, args, name, path, out):
    """Grade one submission in its own grader process.  Returns its row
    for summary.json."""
    sdir = os.path.join(out, "students", name)
    os.makedirs(sdir, exist_ok=True)
    result = os.path.join(sdir, "result.json")
    if os.path.exists(result):
        os.unlink(result)
    argv = [sys.executable, GRADE, "--pristine", os.path.abspath(args.pristine), "-C", path,
            "-j", "1", "--out", os.path.join(sdir, "logs"), "--json", result,
            "--gradescope", os.path.join(sdir, "gradescope.json")] + passthrough(args)
    start = time.monotonic()
    with open(os.path.join(sdir, "grade.log"), "wb") as log:
        proc = registry.spawn(argv, gentle=True, stdin=subprocess.DEVNULL, stdout=log,
                              stderr=log)
        status, usage, peak, timed_out = _wait(proc, args.submission_timeout)
        registry.release(proc)
    row = {"student": name, "submission": path, "seconds": round(time.monotonic() - start, 2),
           "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2) if usage else None,
           "peak_rss_mib": round(peak / 2**20, 1),
           "exit_status": status}
    data = None
    try:
        with open(result) as f:
            data = json.load(f)
    except (OSError, ValueError):
        pass
    if timed_out:
        row["state"] = "timeout"
        row["error"] = "grading took more than %g s (killed)" % args.submission_timeout
    elif data is None:
        row["state"] = "error"
        row["error"] = "the grader wrote no results (exit status %s); see grade.log" % status
    elif data.get("setup_error") and not data.get("tests"):
        msg = data["setup_error"]
        row["state"] = "build failed" if msg.startswith("build failed") else "setup error"
        row["error"] = msg
    else:
        row["state"] = "graded" if not data.get("setup_error") else "incomplete"
        row["error"] = data.get("setup_error")
    row["score"] = data.get("score", 0) if data else 0
    row["max_score"] = data.get("max_score", 0) if data else 0
    row["tests"] = {t["id"]: {"verdict": t["verdict"], "score": t["score"], "points": t["points"],
                              "reason": t.get("reason", "")}
                    for t in (data or {}).get("tests", [])}
    row["not_run"] = [t["id"] for t in (data or {}).get("not_run", [])]
    if row["not_run"] and not row["max_score"]:
        row["max_score"] = sum(t["points"] for t in data["not_run"])
    return row


def _wait(proc, limit):
    """Wait for proc (reaping it with wait4 for its resource usage, which
    covers every process it waited for: make, the compilers, QEMU), and
    sample the summed resident memory of its process tree every 0.1 s
    (wait4's ru_maxrss would count the pages a child shares with this
    process at fork).  Past `limit` seconds: SIGTERM (the grader kills its
    QEMUs and make), then SIGKILL.  Returns (exit status, rusage or None,
    peak bytes, timed out?)."""
    deadline = time.monotonic() + limit
    term_at = None
    peak = 0
    while True:
        try:
            pid, st, usage = os.wait4(proc.pid, os.WNOHANG)
        except ChildProcessError:
            return proc.returncode, None, peak, term_at is not None
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(st)
            return proc.returncode, usage, peak, term_at is not None
        peak = max(peak, tree_rss(proc.pid))
        now = time.monotonic()
        if term_at is None and now >= deadline:
            term_at = now
            _signal(proc.pid, signal.SIGTERM)
        elif term_at is not None and now - term_at >= TERM_GRACE:
            _signal(proc.pid, signal.SIGKILL)
        time.sleep(0.1)


def tree_rss(root):
    """Resident bytes of root and all its descendants, from /proc (0 where
    there is no /proc)."""
    children = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return 0
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    total, todo = 0, [root]
    page = os.sysconf("SC_PAGE_SIZE")
    while todo:
        pid = todo.pop()
        try:
            with open("/proc/%d/statm" % pid, "rb") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            pass
        todo += children.get(pid, [])
    return total


def _signal(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run(args, registry):
    """The --class run.  Exit status 0 if every submission was graded
    (whatever its score), 1 if some could not be (build failed, timeout),
    2 if nothing could be started."""
    folder = os.path.abspath(args.class_dir)
    out = os.path.abspath(args.out)
    try:
        subs = submissions(folder)
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        print("SETUP ERROR: %s: %s" % (e.filename or folder, e.strerror), flush=True)
        return 2
    if not subs:
        print("SETUP ERROR: no submissions (folders or .bundle files) in %s" % folder, flush=True)
        return 2
    parallel = args.parallel or os.cpu_count() or 1
    print("grade: %d submission(s) from %s, %d at a time, results in %s"
          % (len(subs), folder, parallel, out), flush=True)
    rows, lock, t0 = {}, threading.Lock(), time.monotonic()
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=parallel)
    try:
        futures = {executor.submit(grade_one, registry, args, n, p, out): n for n, p in subs}
        for fut in concurrent.futures.as_completed(futures):
            row = fut.result()
            with lock:
                rows[row["student"]] = row
                done = len(rows)
            print("[%*d/%d] %-20s %-12s %4d/%-4d %6.1fs  (elapsed %.0fs)" % (
                len(str(len(subs))), done, len(subs), row["student"], row["state"],
                row["score"], row["max_score"], row["seconds"], time.monotonic() - t0), flush=True)
    except Interrupted:
        raise
    finally:
        if len(rows) < len(subs) and registry.aborted is None:
            registry.abort(signal.SIGTERM)
        executor.shutdown(wait=True, cancel_futures=True)
    ordered = [rows[n] for n, _ in subs]
    summary = {"submissions": folder, "pristine": os.path.abspath(args.pristine),
               "wall_seconds": round(time.monotonic() - t0, 2), "parallel": parallel,
               "students": ordered}
    classreport.write_all(out, summary)
    bad = [r for r in ordered if r["state"] not in ("graded",)]
    print("grade: %d graded, %d not (%s); %s, %s, %s" % (
        len(ordered) - len(bad), len(bad), ", ".join("%s: %s" % (r["student"], r["state"])
                                                   for r in bad) or "none",
        os.path.join(out, "scores.csv"), os.path.join(out, "summary.json"),
        os.path.join(out, "report.html")), flush=True)
    return 1 if bad else 0
