"""--calibrate: the grader's overhead, bare QEMU boots against graded ones."""

import os
import shlex
import statistics
import subprocess
import time

from . import labs as labsmod
from .qemucmd import qemu_argv
from .runner import Context, run_test
from .setup import SetupError, check_qemu, prepare_images
from .trace import parse_trace


def calibrate(args, registry, root, tmp):
    n = args.calibrate
    qemu, version = check_qemu(registry, args.qemu)
    kernel, _, facts = prepare_images(args, registry, root, tmp, need_kernel=True, need_iso=False)
    lab = labsmod.Lab(0, "calibration", "<calibrate>")
    test = labsmod.Test.from_decl(lab, {"name": "selftest_pass", "points": 0,
                                        "cmdline": "test=selftest_pass", "trace": "<calibrate>"},
                                  os.path.join(tmp, "lab.json"))
    # the bare boot gets the same machine as the graded one (DEFAULTS)
    bare_argv = qemu_argv(qemu, kernel=kernel, cmdline=test.cmdline, memory=test.memory,
                          cpus=test.cpus, extra=test.qemu_args, facts=facts)
    test.trace = parse_trace("TEST selftest_pass: PASS\n", "<calibrate>")
    ctx = Context(args, registry, qemu, kernel, None, tmp, None, "cal-%d" % os.getpid(), facts)

    def bare():
        t0 = time.monotonic()
        p = subprocess.run(bare_argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, cwd=tmp)
        dt = time.monotonic() - t0
        if p.returncode != facts.STATUS_PASS:
            raise SetupError("bare boot of test=selftest_pass exited with status %d, expected %d:\n%s"
                             % (p.returncode, facts.STATUS_PASS,
                                (p.stdout + p.stderr).decode("utf-8", "replace")[-1500:]))
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
