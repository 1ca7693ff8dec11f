"""Running the selected tests: one QEMU per test, several at once, each
judged and logged as it finishes; results come back in declaration order."""

import concurrent.futures
import os
import shutil
import signal
import tempfile
import time
import traceback
from dataclasses import dataclass
from typing import Any

from . import nonce as noncemod
from .hosttest import run_host_test
from .labs import Test
from .qemu import Interrupted, Registry, RunResult, run_qemu
from .qemucmd import qemu_argv
from .setup import INITRD
from .report import write_log
from .status import Ended, Status
from .verdict import Verdict, judge


@dataclass(eq=False)
class TestResult:
    """A test, its verdict, its run (None if it never ran) and log."""
    test: Test
    verdict: Verdict
    res: RunResult | None = None
    seconds: float = 0.0
    log: str | None = None


@dataclass(eq=False)
class Context:
    """What every test of one grading run shares."""
    args: Any                 # the parsed options (options.parse_args)
    registry: Registry
    qemu: str                 # the QEMU executable
    kernel: str | None        # image paths relative to tmp (QEMU's cwd)
    iso: str | None
    tmp: str
    run_dir: str | None       # the log folder (None: no logs)
    run_id: str               # part of each QEMU's -name
    facts: Any                # the kernel's facts (facts.load)
    host_built: dict | None = None   # host test name -> (binary, build output)


def run_test(ctx, test):
    if test.host:
        return run_host(ctx, test)
    start = time.monotonic()
    timeout = test.timeout * ctx.args.timeout_scale
    wall_limit = max(60.0, 6 * timeout)
    tdir = tempfile.mkdtemp(prefix="t-", dir=ctx.tmp)
    try:
        debug_log = os.path.join(tdir, "qemu-debug.log")
        nonce = noncemod.new() if noncemod.applies(test.boot, test.cmdline, test.trace.exit) else None
        cmdline = noncemod.cmdline(test.cmdline, nonce) if nonce else test.cmdline
        initrd = "build/" + INITRD
        if test.lab.number < 7 or not os.path.isfile(os.path.join(ctx.tmp, initrd)):
            initrd = None	# the earlier labs boot exactly as before
        argv = qemu_argv(ctx.qemu, kernel=ctx.kernel, iso=ctx.iso if test.boot == "iso" else None,
                         cmdline=cmdline, initrd=initrd, memory=test.memory, cpus=test.cpus,
                         extra=test.qemu_args, debug_log=debug_log, facts=ctx.facts,
                         name="strata-grade-%s-lab%d-%s" % (ctx.run_id, test.lab.number, test.name))
        res = run_qemu(ctx.registry, argv, test.trace, timeout=timeout, cwd=ctx.tmp,
                       flood_limit=ctx.args.flood_limit, wall_limit=wall_limit, debug_log=debug_log)
        verdict = judge(res, test.trace, timeout=timeout, flood_limit=ctx.args.flood_limit,
                        facts=ctx.facts, nonce=nonce)
    finally:
        shutil.rmtree(tdir, ignore_errors=True)
    seconds = time.monotonic() - start
    log = None
    if ctx.run_dir and res.how != Ended.INTERRUPTED:
        log = os.path.join(ctx.run_dir, test.log_name)
        write_log(log, test, res, verdict, seconds, timeout, ctx.facts)
    return TestResult(test, verdict, res, seconds, log)


def run_host(ctx, test):
    start = time.monotonic()
    timeout = test.timeout * ctx.args.timeout_scale
    res, verdict = run_host_test(ctx.registry, test, ctx.host_built[test.host], timeout)
    seconds = time.monotonic() - start
    log = None
    if ctx.run_dir:
        log = os.path.join(ctx.run_dir, test.log_name)
        write_log(log, test, res, verdict, seconds, timeout, ctx.facts)
    return TestResult(test, verdict, res, seconds, log)


def run_tests(ctx, tests, on_result):
    """Run `tests` ctx.args.jobs at a time; on_result(TestResult) is called
    for each in declaration order as soon as it and those before it are
    done.  A grader bug in one test is that test's ERROR; a signal raises
    Interrupted.  Returns the results."""
    registry = ctx.registry
    results = []
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=min(ctx.args.jobs, len(tests)))
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
                r = TestResult(t, Verdict(Status.ERROR, "internal grader error",
                                          traceback.format_exc().rstrip().splitlines()))
            if r.res is not None and r.res.how == Ended.INTERRUPTED:
                raise Interrupted(registry.aborted or signal.SIGINT)
            results.append(r)
            on_result(r)
    finally:
        if len(results) < len(tests) and registry.aborted is None:
            registry.abort(signal.SIGINT)   # stop the workers (error path)
        executor.shutdown(wait=True, cancel_futures=True)
    return results
