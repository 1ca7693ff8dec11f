"""What the grader prints and writes: the per-test log with its trailer,
the one-line-plus-details verdict on the terminal, --list, and the JSON
results."""

import json
import os
import shlex

from . import labs as labsmod
from .status import ENDED_TEXT, Ended
from .verdict import numbered, describe_status


def write_log(path, test, res, verdict, seconds, timeout, facts):
    """The serial output, then a trailer; `timeout` is the CPU-time limit
    the run had (the test's timeout times --timeout-scale)."""
    out = bytes(res.output)
    if out and not out.endswith(b"\n"):
        out += b"\n"
    if res.how == Ended.EXIT and test.host:
        how = "exited with status %s" % res.status
    elif res.how == Ended.EXIT:
        how = "QEMU exited with status %s (%s)" % (res.status, describe_status(res.status, facts))
    else:
        how = ENDED_TEXT.get(res.how, res.how)
    trailer = ["", "----- strata grader: %s -----" % test.id,
               "verdict: %s%s" % (verdict.status, (" — " + verdict.reason) if verdict.reason else "")]
    trailer += ["  " + d for d in verdict.details]
    trailer += ["%s: %s" % ("run" if test.host else "qemu", " ".join(shlex.quote(a) for a in (res.argv or []))),
                "end: %s" % how,
                "time: %.2fs wall, %.2fs CPU, %.2fs idle (limit %.1fs)" % (
                    seconds, res.cpu, res.idle, timeout),
                "trace: %s" % test.trace_file if not test.host else
                "host test: tests/test_%s.c" % test.host]
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
        lines += ["    " + s for s in numbered(r.res.lines, 1, len(r.res.lines))]
        lines.append("    ----- end of %s -----" % t.id)
    return "\n".join(lines)


def _rel(path):
    try:
        rel = os.path.relpath(path)
        return rel if not rel.startswith("../..") else path
    except ValueError:
        return path


def list_tests(labs, selected):
    sel = set(selected)
    for lab in labs:
        tests = [t for t in lab.tests if t in sel]
        if not tests:
            continue
        print("lab%d %s (%d points)" % (lab.number, lab.title, sum(t.points for t in tests)))
        for t in tests:
            if t.host:
                print("  %-24s %3d pts  timeout %gs  host test tests/test_%s.c" % (
                    t.name, t.points, t.timeout, t.host))
                continue
            extra = []
            if t.boot != labsmod.DEFAULTS["boot"]:
                extra.append("boot=%s" % t.boot)
            if t.memory != labsmod.DEFAULTS["memory"]:
                extra.append("memory=%s" % t.memory)
            if t.cpus != labsmod.DEFAULTS["cpus"]:
                extra.append("cpus=%s" % t.cpus)
            print("  %-24s %3d pts  timeout %gs  %s%s" % (
                t.name, t.points, t.timeout, t.cmdline or '(no cmdline)',
                "  " + " ".join(extra) if extra else ""))
    print("Total: %d points in %d tests" % (sum(t.points for t in selected), len(selected)))
    return 0


def result_json(results, total, score, run_dir, setup_error=None):
    d = {"score": score, "max_score": total, "log_dir": run_dir, "setup_error": setup_error,
         "tests": []}
    for r in results:
        t = r.test
        d["tests"].append({
            "lab": t.lab.number, "lab_title": t.lab.title, "name": t.name, "id": t.id,
            "points": t.points,
            "score": t.points if r.verdict.ok else 0, "verdict": r.verdict.status,
            "reason": r.verdict.reason, "details": r.verdict.details,
            "seconds": round(r.seconds, 3),
            "cpu_seconds": round(r.res.cpu, 3) if r.res else 0.0,
            "idle_seconds": round(r.res.idle, 3) if r.res else 0.0,
            "exit_status": r.res.status if r.res else None,
            "ended": r.res.how if r.res else None,
            "timeout": t.timeout, "log": r.log,
            "kind": "host" if t.host else "qemu", "given": t.given})
    return d


def write_json(path, data):
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
