"""The grader's main program: options, setup, the run, the score and the
exit status (0 all OK, 1 some test not OK, 2 setup error, 128+N signal N),
with every QEMU killed on every way out.  Entry points: `python3 -m
strata_grader` (with grader/ on the path) and grader/grade.py.

The parts: options (command line), setup (QEMU, build, images),
preflight (QEMU accepts each test's machine), runner
(one QEMU per test), qemu (command line, processes, the run loop), trace
(trace files and the matcher), verdict (judging a run), report (logs,
terminal output, JSON), rundir (log folders), calibrate (--calibrate)."""

import os
import signal
import shutil
import sys
import tempfile
import time

from . import labs as labsmod
from . import exports, pristine
from .calibrate import calibrate
from .hosttest import build_host_tests
from .labs import LabError
from .options import parse_args
from .preflight import preflight
from .qemu import Interrupted, Registry
from .report import format_result, list_tests, result_json
from .rundir import KEEP_RUNS, make_run_dir, point_latest, prune_runs
from .runner import Context, run_tests
from .setup import SetupError, branch_lab, check_qemu, prepare_images, repo_root
from .status import Status


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    registry = Registry()
    state = {"interrupted": None}

    def on_signal(signum, frame):
        registry.abort(signum)      # kills every QEMU (and make) right now
        if state["interrupted"] is None:
            state["interrupted"] = signum
            if not registry.main_spawning:
                raise Interrupted(signum)

    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            try:
                old[sig] = signal.signal(sig, on_signal)
            except (ValueError, OSError):
                pass
    tmp = None
    try:
        tmp = tempfile.mkdtemp(prefix="strata-grade-")
        return _main(args, registry, tmp)
    except BrokenPipeError:
        # stdout closed (e.g. piped into head): stop quietly
        registry.abort(signal.SIGPIPE)
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 1
    except Interrupted as e:
        registry.abort(e.signum)
        name = signal.Signals(e.signum).name
        print("\ngrade: interrupted by %s; all QEMU processes killed" % name, file=sys.stderr, flush=True)
        return 128 + e.signum
    finally:
        registry.kill_all()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        for sig, h in old.items():
            try:
                signal.signal(sig, h)
            except (ValueError, OSError):
                pass


def _setup_error(args, msg, tests=None):
    """Print the setup error; every result file says so, with the tests
    that were selected (if it got that far) as not run."""
    print("SETUP ERROR: %s" % msg, flush=True)
    data = result_json([], 0, 0, None, setup_error=msg)
    if tests:
        data["not_run"] = exports.not_run(tests)
    exports.write_all(args, data)
    return 2


def _pristine_copy(args, root, tmp):
    """--pristine DIR: the submission (root) copied into tmp with DIR's
    owned files laid over it.  Returns (the copy, where logs go by default:
    the current folder, as the submission is never written to)."""
    work = os.path.join(tmp, "submission")
    copied, n = pristine.prepare(root, args.pristine, work)
    print("grade: grading a copy of %s with %d pristine file(s) from %s"
          % (copied, n, os.path.abspath(args.pristine)), file=sys.stderr, flush=True)
    return work, os.getcwd()


def _main(args, registry, tmp):
    root = os.path.abspath(args.repo) if args.repo else repo_root()
    if args.class_dir:
        from . import batch
        return batch.run(args, registry)
    home = root
    tests = None
    if args.pristine:
        try:
            root, home = _pristine_copy(args, root, tmp)
        except (pristine.PristineError, OSError) as e:
            return _setup_error(args, "cannot prepare the submission: %s" % e)
    labs_dir = os.path.abspath(args.labs_dir) if args.labs_dir else os.path.join(root, "labs")
    try:
        if args.calibrate is not None:
            return calibrate(args, registry, root, tmp)
        labs = labsmod.discover(labs_dir)
        if not labs:
            raise SetupError("no labs found (no %s)" % os.path.join(labs_dir, "lab*-*", "lab.json"))
        tests = labsmod.select(labs, lab=args.lab, upto=args.upto, tests=args.test,
                               branch_lab=branch_lab(root))
        labsmod.load_traces(tests)
        if args.list:
            return list_tests(labs, tests)
        booted = [t for t in tests if not t.host]
        qemu = None
        if booted:
            qemu, _ = check_qemu(registry, args.qemu)
        need_iso = any(t.boot == "iso" for t in booted)
        kernel, iso, facts = prepare_images(args, registry, root, tmp, need_kernel=any(
            t.boot == "kernel" for t in booted), need_iso=need_iso)
        if booted:
            preflight(registry, qemu, facts, booted, jobs=args.jobs, cwd=tmp)
        host_built = build_host_tests(registry, root, labs_dir, tmp,
                                      sorted({t.host for t in tests if t.host}))
    except (SetupError, LabError) as e:
        return _setup_error(args, str(e), tests)
    base = os.path.abspath(args.out) if args.out else os.path.join(home, "build", "grade")
    try:
        run_dir = make_run_dir(base)
    except OSError as e:
        return _setup_error(args, "cannot create log folder under %s: %s" % (base, e.strerror), tests)
    run_id = "%d-%d" % (os.getpid(), time.time_ns() % 10**9)
    ctx = Context(args, registry, qemu, kernel, iso, tmp, run_dir, run_id, facts, host_built)
    try:
        results = run_tests(ctx, tests, lambda r: print(format_result(r, args.verbose), flush=True))
    finally:
        point_latest(base, run_dir)
        prune_runs(base, KEEP_RUNS, run_dir)
    total = sum(t.points for t in tests)
    score = sum(r.test.points for r in results if r.verdict.ok)
    errors = [r for r in results if r.verdict.status == Status.ERROR]
    exports.write_all(args, result_json(
        results, total, score, run_dir,
        setup_error="%d test(s) could not run" % len(errors) if errors else None))
    print("Score: %d/%d" % (score, total), flush=True)
    if errors:
        print("SETUP ERROR: %d test(s) could not be run (ERROR above); the score is incomplete"
              % len(errors), flush=True)
        return 2
    return 0 if all(r.verdict.ok for r in results) else 1
