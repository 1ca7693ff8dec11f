"""Command line: option parsing, setup checks, build, parallel runs,
reporting.  Entry point: grader/grade.py."""

import argparse
import concurrent.futures
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

from . import labs as labsmod
from .labs import LabError
from .qemu import DEBIAN_PACKAGE, Interrupted, Registry, qemu_argv, run_qemu
from .trace import parse_trace
from .verdict import Verdict, _numbered, describe_status, judge

DEFAULT_FLOOD = 1 << 20
KEEP_RUNS = 20


class SetupError(Exception):
    pass


def repo_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
    run = p.add_argument_group("running")
    run.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                     help="tests run at once (default: number of CPUs, %(default)s here)")
    run.add_argument("--timeout-scale", type=float, default=1.0, metavar="F",
                     help="multiply every test's timeout by F")
    run.add_argument("--flood-limit", type=int, default=DEFAULT_FLOOD, metavar="BYTES",
                     help="kill a test after this much output (default: 1 MiB)")
    out = p.add_argument_group("output")
    out.add_argument("-v", "--verbose", action="store_true", help="print each test's full serial log after its verdict")
    out.add_argument("--out", metavar="DIR", help="log folder base (default: REPO/build/grade)")
    out.add_argument("--json", metavar="FILE", help="write machine-readable results to FILE")
    out.add_argument("--calibrate", nargs="?", type=int, const=5, metavar="N",
                     help="measure grader overhead: N bare boots of test=selftest_pass vs N graded ones")
    a = p.parse_args(argv)
    if a.jobs < 1:
        p.error("-j must be at least 1")
    if a.timeout_scale <= 0:
        p.error("--timeout-scale must be positive")
    if a.flood_limit < 1024:
        p.error("--flood-limit must be at least 1024")
    if a.lab is not None and a.upto is not None:
        p.error("--lab and --upto exclude each other")
    if a.calibrate is not None and a.calibrate < 1:
        p.error("--calibrate needs N >= 1")
    return a


# ---------------------------------------------------------------- setup

def branch_lab(root):
    path = os.path.join(root, "LAB")
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        raise SetupError("%s must hold a single lab number" % path)


def check_qemu(registry, qemu):
    exe = shutil.which(qemu)
    if exe is None:
        raise SetupError("QEMU not found: %r is not an executable on PATH — install the Debian "
                         "package %s (apt-get install %s)" % (qemu, DEBIAN_PACKAGE, DEBIAN_PACKAGE))
    try:
        proc = registry.spawn([exe, "--version"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as e:
        raise SetupError("QEMU %s cannot be run: %s — reinstall the Debian package %s"
                         % (exe, e.strerror or e, DEBIAN_PACKAGE))
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        raise SetupError("`%s --version` did not finish in 30 s" % exe)
    finally:
        registry.release(proc)
    text = out.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or "QEMU" not in text:
        raise SetupError("`%s --version` failed (status %s): %s — reinstall the Debian package %s"
                         % (exe, proc.returncode, text[-500:], DEBIAN_PACKAGE))
    return exe, text.splitlines()[0]


def build(registry, root, targets):
    """make -s TARGETS in root, serialised between graders by a lock."""
    if shutil.which("make") is None:
        raise SetupError("make not found — install the Debian package make")
    argv = ["make", "-s"] + targets
    print("grade: building (%s)" % " ".join(argv), file=sys.stderr, flush=True)
    try:
        proc = registry.spawn(argv, cwd=root, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, gentle=True)
    except OSError as e:
        raise SetupError("cannot run make: %s" % (e.strerror or e))
    try:
        out, _ = proc.communicate()
    finally:
        if proc.returncode is None:
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                pass
        registry.release(proc)
    text = out.decode("utf-8", "replace")
    if proc.returncode != 0:
        tail = text.rstrip().splitlines()[-25:]
        raise SetupError("build failed: `%s` exited with status %d%s\n%s" % (
            " ".join(argv), proc.returncode,
            "; last lines of its output:" if tail else " and printed nothing",
            "\n".join("    " + l for l in tail)))


class BuildLock:
    def __init__(self, root):
        self.path = os.path.join(root, "build", ".grade-build.lock")
        self.fd = None

    def __enter__(self):
        try:
            import fcntl
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except (ImportError, OSError):
            self.fd = None
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)


def snapshot(src, tmp, name, what):
    """Copy an image to TMP/build/NAME; QEMU runs in TMP and is given the
    relative path build/NAME, so the kernel sees the same multiboot
    command line ('build/kernel.elf test=...') as with `make qemu-gdb`."""
    if not os.path.isfile(src):
        raise SetupError("%s %s not found%s" % (what, src, {
            "kernel": " (build it with `make kernel`, or drop --no-build)",
            "ISO": " (build it with `make iso`, or drop --no-build)"}.get(what, "")))
    os.makedirs(os.path.join(tmp, "build"), exist_ok=True)
    shutil.copyfile(src, os.path.join(tmp, "build", name))
    return "build/" + name


# ---------------------------------------------------------------- running

class TestResult:
    def __init__(self, test, verdict, res=None, seconds=0.0, log=None):
        self.test, self.verdict, self.res, self.seconds, self.log = test, verdict, res, seconds, log


class Context:
    def __init__(self, args, registry, qemu, kernel, iso, tmp, run_dir, run_id):
        self.args, self.registry, self.qemu = args, registry, qemu
        self.kernel, self.iso, self.tmp, self.run_dir, self.run_id = kernel, iso, tmp, run_dir, run_id


def run_test(ctx, test):
    start = time.monotonic()
    timeout = test.timeout * ctx.args.timeout_scale
    wall_limit = max(60.0, 6 * timeout)
    tdir = tempfile.mkdtemp(prefix="t-", dir=ctx.tmp)
    try:
        debug_log = os.path.join(tdir, "qemu-debug.log")
        argv = qemu_argv(ctx.qemu, kernel=ctx.kernel, iso=ctx.iso if test.boot == "iso" else None,
                         cmdline=test.cmdline, memory=test.memory, cpus=test.cpus,
                         extra=test.qemu_args, debug_log=debug_log,
                         name="strata-grade-%s-lab%d-%s" % (ctx.run_id, test.lab.number, test.name))
        res = run_qemu(ctx.registry, argv, test.trace, timeout=timeout, cwd=ctx.tmp,
                       flood_limit=ctx.args.flood_limit, wall_limit=wall_limit, debug_log=debug_log)
        verdict = judge(res, test.trace, timeout=timeout, flood_limit=ctx.args.flood_limit)
    finally:
        shutil.rmtree(tdir, ignore_errors=True)
    seconds = time.monotonic() - start
    log = None
    if ctx.run_dir and res.how != "interrupted":
        log = os.path.join(ctx.run_dir, test.log_name)
        write_log(log, test, res, verdict, seconds, timeout)
    return TestResult(test, verdict, res, seconds, log)


def write_log(path, test, res, verdict, seconds, timeout):
    """The serial output, then a trailer; `timeout` is the CPU-time limit
    the run had (the test's timeout times --timeout-scale)."""
    out = bytes(res.output)
    if out and not out.endswith(b"\n"):
        out += b"\n"
    how = {"exit": "QEMU exited with status %s (%s)" % (res.status, describe_status(res.status)),
           "timeout": "killed: timeout", "wall": "killed: wall-clock safety limit",
           "flood": "killed: output flood", "grace": "killed: no exit after the TEST/panic line",
           "error": "not started", "interrupted": "killed: grader interrupted"}.get(res.how, res.how)
    trailer = ["", "----- strata grader: %s -----" % test.id,
               "verdict: %s%s" % (verdict.status, (" — " + verdict.reason) if verdict.reason else "")]
    trailer += ["  " + d for d in verdict.details]
    trailer += ["qemu: %s" % " ".join(shlex.quote(a) for a in (res.argv or [])),
                "end: %s" % how,
                "time: %.2fs wall, %.2fs CPU, %.2fs idle (limit %.1fs)" % (
                    seconds, res.cpu, res.idle, timeout),
                "trace: %s" % test.trace_file]
    err = bytes(res.stderr).decode("utf-8", "replace").rstrip()
    if err:
        trailer += ["----- qemu stderr -----", err]
    with open(path, "wb") as f:
        f.write(out)
        f.write(("\n".join(trailer) + "\n").encode("utf-8"))


def format_result(r, verbose=False):
    t = r.test
    lines = ["lab%d %s: %s (%.1fs)" % (t.lab.number, t.name, r.verdict.status, r.seconds)]
    if not r.verdict.ok:
        if r.verdict.reason:
            lines.append("    " + r.verdict.reason)
        lines += ["      " + d for d in r.verdict.details]
        if r.log:
            lines.append("    log: %s" % _rel(r.log))
    if verbose and r.res is not None:
        lines.append("    ----- serial output of %s (%d lines) -----" % (t.id, len(r.res.lines)))
        lines += ["    " + s for s in _numbered(r.res.lines, 1, len(r.res.lines))]
        lines.append("    ----- end of %s -----" % t.id)
    return "\n".join(lines)


def _rel(path):
    try:
        rel = os.path.relpath(path)
        return rel if not rel.startswith("../..") else path
    except ValueError:
        return path


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


def result_json(results, total, score, run_dir, setup_error=None):
    d = {"score": score, "max_score": total, "log_dir": run_dir, "setup_error": setup_error,
         "tests": []}
    for r in results:
        t = r.test
        d["tests"].append({
            "lab": t.lab.number, "name": t.name, "id": t.id, "points": t.points,
            "score": t.points if r.verdict.ok else 0, "verdict": r.verdict.status,
            "reason": r.verdict.reason, "details": r.verdict.details,
            "seconds": round(r.seconds, 3),
            "cpu_seconds": round(r.res.cpu, 3) if r.res else 0.0,
            "idle_seconds": round(r.res.idle, 3) if r.res else 0.0,
            "exit_status": r.res.status if r.res else None,
            "ended": r.res.how if r.res else None,
            "timeout": t.timeout, "log": r.log})
    return d


def write_json(path, data):
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


# ---------------------------------------------------------------- main

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


def _setup_error(args, msg):
    print("SETUP ERROR: %s" % msg, flush=True)
    if args.json:
        try:
            write_json(args.json, result_json([], 0, 0, None, setup_error=msg))
        except OSError:
            pass
    return 2


def _main(args, registry, tmp):
    root = os.path.abspath(args.repo) if args.repo else repo_root()
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
        qemu, _ = check_qemu(registry, args.qemu)
        need_iso = any(t.boot == "iso" for t in tests)
        kernel, iso = prepare_images(args, registry, root, tmp, need_kernel=any(
            t.boot == "kernel" for t in tests), need_iso=need_iso)
    except (SetupError, LabError) as e:
        return _setup_error(args, str(e))
    base = os.path.abspath(args.out) if args.out else os.path.join(root, "build", "grade")
    try:
        run_dir = make_run_dir(base)
    except OSError as e:
        return _setup_error(args, "cannot create log folder under %s: %s" % (base, e.strerror))
    run_id = "%d-%d" % (os.getpid(), time.time_ns() % 10**9)
    ctx = Context(args, registry, qemu, kernel, iso, tmp, run_dir, run_id)
    results = []
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=min(args.jobs, len(tests)))
    try:
        futures = [executor.submit(run_test, ctx, t) for t in tests]
        for t, fut in zip(tests, futures):
            try:
                r = fut.result()
            except Interrupted:
                raise
            except Exception:
                if registry.aborted is not None:
                    raise Interrupted(registry.aborted)
                r = TestResult(t, Verdict("ERROR", "internal grader error",
                                          traceback.format_exc().rstrip().splitlines()))
            if r.res is not None and r.res.how == "interrupted":
                raise Interrupted(registry.aborted or signal.SIGINT)
            results.append(r)
            print(format_result(r, args.verbose), flush=True)
    finally:
        if len(results) < len(tests) and registry.aborted is None:
            registry.abort(signal.SIGINT)   # stop the workers (error path)
        executor.shutdown(wait=True, cancel_futures=True)
        point_latest(base, run_dir)
        prune_runs(base, KEEP_RUNS, run_dir)
    total = sum(t.points for t in tests)
    score = sum(r.test.points for r in results if r.verdict.ok)
    errors = [r for r in results if r.verdict.status == "ERROR"]
    if args.json:
        try:
            write_json(args.json, result_json(results, total, score, run_dir,
                                              setup_error="%d test(s) could not run" % len(errors) if errors else None))
        except OSError as e:
            print("grade: cannot write %s: %s" % (args.json, e.strerror), file=sys.stderr)
    print("Score: %d/%d" % (score, total), flush=True)
    if errors:
        print("SETUP ERROR: %d test(s) could not be run (ERROR above); the score is incomplete"
              % len(errors), flush=True)
        return 2
    return 0 if all(r.verdict.ok for r in results) else 1


def prepare_images(args, registry, root, tmp, need_kernel, need_iso):
    """Build what is needed, then snapshot the images into the per-run
    temp dir so a rebuild during grading cannot change them."""
    targets = []
    if need_kernel and not args.kernel:
        targets.append("kernel")
    if need_iso and not args.iso:
        targets.append("iso")
    kernel = iso = None
    with BuildLock(root):
        if targets and not args.no_build:
            build(registry, root, targets)
        if need_kernel:
            kernel = snapshot(os.path.abspath(args.kernel) if args.kernel else
                              os.path.join(root, "build", "kernel.elf"), tmp, "kernel.elf", "kernel")
        if need_iso:
            iso = snapshot(os.path.abspath(args.iso) if args.iso else
                           os.path.join(root, "build", "strata.iso"), tmp, "strata.iso", "ISO")
    return kernel, iso


def list_tests(labs, selected):
    sel = set(selected)
    for lab in labs:
        tests = [t for t in lab.tests if t in sel]
        if not tests:
            continue
        print("lab%d %s (%d points)" % (lab.number, lab.title, sum(t.points for t in tests)))
        for t in tests:
            extra = []
            if t.boot != labsmod.DEFAULTS["boot"]:
                extra.append("boot=%s" % t.boot)
            if t.memory != labsmod.DEFAULTS["memory"]:
                extra.append("memory=%s" % t.memory)
            if t.cpus != labsmod.DEFAULTS["cpus"]:
                extra.append("cpus=%d" % t.cpus)
            print("  %-24s %3d pts  timeout %gs  %s%s" % (
                t.name, t.points, t.timeout, t.cmdline or '(no cmdline)',
                "  " + " ".join(extra) if extra else ""))
    print("Total: %d points in %d tests" % (sum(t.points for t in selected), len(selected)))
    return 0


# ---------------------------------------------------------------- calibration

def calibrate(args, registry, root, tmp):
    n = args.calibrate
    qemu, version = check_qemu(registry, args.qemu)
    kernel, _ = prepare_images(args, registry, root, tmp, need_kernel=True, need_iso=False)
    lab = labsmod.Lab(0, "calibration", "<calibrate>")
    test = labsmod.Test(lab, {"name": "selftest_pass", "points": 0, "cmdline": "test=selftest_pass",
                              "trace": "<calibrate>"}, os.path.join(tmp, "lab.json"))
    # the bare boot gets the same machine as the graded one (DEFAULTS)
    bare_argv = qemu_argv(qemu, kernel=kernel, cmdline=test.cmdline, memory=test.memory,
                          cpus=test.cpus, extra=test.qemu_args)
    test.trace = parse_trace("TEST selftest_pass: PASS\n", "<calibrate>")
    ctx = Context(args, registry, qemu, kernel, None, tmp, None, "cal-%d" % os.getpid())

    def bare():
        t0 = time.monotonic()
        p = subprocess.run(bare_argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, cwd=tmp)
        dt = time.monotonic() - t0
        if p.returncode != 33:
            raise SetupError("bare boot of test=selftest_pass exited with status %d, expected 33:\n%s"
                             % (p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")[-1500:]))
        return dt

    def graded():
        r = run_test(ctx, test)
        if not r.verdict.ok:
            raise SetupError("graded selftest_pass: %s %s" % (r.verdict.status, r.verdict.reason))
        return r.seconds

    print("calibrating with %s, %d runs each of test=selftest_pass" % (version, n), flush=True)
    bare(); graded()     # warm up caches
    b, g = [], []
    for _ in range(n):
        b.append(bare())
        g.append(graded())
    mb, mg = statistics.mean(b), statistics.mean(g)
    print("  bare QEMU boot (subprocess.run):  mean %.3fs  min %.3fs  max %.3fs" % (mb, min(b), max(b)))
    print("  grader per-test time:             mean %.3fs  min %.3fs  max %.3fs" % (mg, min(g), max(g)))
    ratio = mg / mb if mb > 0 else float("inf")
    print("  ratio: %.2fx (target <= 1.3x)%s" % (ratio, "" if ratio <= 1.3 else "  OVER TARGET"))
    print("  bare command: %s" % " ".join(shlex.quote(a) for a in bare_argv))
    return 0
