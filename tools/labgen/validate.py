#!/usr/bin/env python3
"""validate: the generated lab branches build, boot, pass the earlier labs'
tests and fail their own lab's tests cleanly; the carry-forward branches
merge cleanly. Run by `make test` on main.

Generates the student repository into a temporary folder (labgen.py --out),
then checks:
  markers        the marker syntax check of the reference tree
  generate       every tree rendered, no solution line leaks
  labN catch-up  branch labN: `make -s kernel iso` without warnings; the
                 grader (labs 1..N by the LAB file) exits 1, every test of
                 labs < N is OK, every test of lab N fails cleanly: a FAIL
                 verdict, not a TIMEOUT, a QEMU reset or triple fault, a QEMU
                 crash or unknown exit status, an ERROR or a SETUP ERROR
                 (see unclean())
  labN carry     branch carry/labN: `make -s kernel` without warnings; on a
                 branch from carry/lab(N-1) with labs 1..N-1 solved (a student
                 who finished lab N-1), `git merge carry/labN` is clean and
                 gives exactly the tree of labN. For the first lab, carry/labN
                 is the same commit as labN (built by its catch-up check).
and prints one line per check, then `N passed, M failed`. Exit status 0 when
every check passed, 1 otherwise.
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# tools/ first: `labgen` is the package in this folder (not labgen.py)
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "grader"))
import labgen  # noqa: E402
from strata_grader import facts as factsmod  # noqa: E402

GRADE_TIMEOUT = 600	# seconds, for one lab's whole grader run
BUILD_TIMEOUT = 300

# Variables a calling make (make test) passes on, that must not reach the
# branches' own builds: each branch takes its lab from its LAB file.
SCRUB = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "LAB", "BUILD", "V",
         "GRADEFLAGS", "CMDLINE", "QEMUEXTRA", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")

GIT_IDENT = {"GIT_AUTHOR_NAME": "Strata validate", "GIT_AUTHOR_EMAIL": "validate@strata.invalid",
             "GIT_COMMITTER_NAME": "Strata validate",
             "GIT_COMMITTER_EMAIL": "validate@strata.invalid",
             "GIT_AUTHOR_DATE": labgen.IDENT_DATE, "GIT_COMMITTER_DATE": labgen.IDENT_DATE}


def clean_env(extra=None):
    env = dict(os.environ)
    for k in SCRUB:
        env.pop(k, None)
    env.update(GIT_IDENT)
    env.update(extra or {})
    return env


def run(cmd, cwd, timeout=BUILD_TIMEOUT):
    try:
        r = subprocess.run(cmd, cwd=cwd, env=clean_env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        return None, (e.stdout or b"").decode(errors="replace"), \
            (e.stderr or b"").decode(errors="replace") + "\ntimed out after %ds" % timeout


def git(cwd, *args):
    return run(["git", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"]
               + list(args), cwd)


def clone(repo, branch, dest):
    rc, out, err = git(os.path.dirname(dest), "clone", "-q", "-b", branch, repo, dest)
    if rc != 0:
        raise RuntimeError("git clone -b %s: %s" % (branch, err.strip()))


def build(tree, targets, where=None):
    """None when `make -s TARGETS` succeeded without warnings, else why not.
    where(path, line): the reference tree's line for a compiler message."""
    rc, out, err = run(["make", "-s"] + targets, tree)
    if where:
        out, err = annotate(out, where), annotate(err, where)
    if rc != 0:
        return "`make -s %s` failed (%s):\n%s" % (" ".join(targets), "timeout" if rc is None
                                                 else "exit %d" % rc, tail(out + err))
    warnings = [l for l in (out + err).splitlines() if "warning:" in l]
    if warnings:
        return "`make -s %s` warned:\n%s" % (" ".join(targets), "\n".join(warnings[:20]))
    return None


def annotate(text, where):
    """Compiler messages about a rendered file, with the line in main."""
    def one(m):
        try:
            src = where(m.group(1), int(m.group(2)))
        except Exception:	# an annotation is only a help
            src = None
        if src is None:
            return m.group(0)
        return "%s [main: %s:%d]" % (m.group(0), m.group(1), src)
    return re.sub(r"(?m)^([\w./-]+\.(?:c|h|S)):(\d+):(?:\d+:)?", one, text)


def tail(text, n=25):
    lines = [l for l in text.rstrip().splitlines()
             if not l.startswith(("  CC ", "  AS ", "  LD ", "  ISO ", "  HOSTCC "))]
    return "\n".join(("    " + l) for l in lines[-n:])


def clean_statuses(facts):
    """Exit statuses of a kernel that ran its test to the end: passed, failed,
    panicked (QEMU's isa-debug-exit; the values are the kernel's facts), or a
    reset that the test's trace expects."""
    return (facts.STATUS_PASS, facts.STATUS_FAIL, facts.STATUS_PANIC, 0)


def unclean(t, clean):
    """(category, why) when the grader's result t (a test of the lab the stubs
    are for) is not a clean failure, else None. Clean: a FAIL verdict of a
    kernel that ran the test and exited (wrong output, the test's own FAIL,
    a panic), or of a monitor-driven test whose kernel sits at its prompt
    waiting for input that will not come; not a TIMEOUT, not a QEMU reset
    or triple fault, not a QEMU that crashed, hung or exited with an unknown
    status, not an ERROR. How the run ended is the grader's `ended` (see
    grader/README.md, "JSON results"); clean: clean_statuses()."""
    verdict, reason, status = t.get("verdict"), t.get("reason") or "", t.get("exit_status")
    ended = t.get("ended")
    if verdict == "TIMEOUT":
        return "TIMEOUT", "timed out (the stubs hang): " + reason
    if verdict != "FAIL":
        return verdict, "%s, expected a clean FAIL%s" % (verdict, ": " + reason if reason else "")
    if ended == "input":
        return None
    if ended == "flood":
        return "flood", "output flood (a print loop that never ends): " + reason
    if ended != "exit":
        return "no exit", "QEMU did not exit (ended: %s): %s" % (ended, reason)
    if reason.startswith("QEMU reset"):
        return "QEMU reset", "QEMU reset or triple fault: " + reason
    if status is None or status < 0 or status not in clean:
        return "QEMU crash", "QEMU crashed or exited with an unknown status: " + reason
    if reason.startswith("kernel has no test"):
        return "not run", "the test did not run: " + reason
    return None


def unclean_host(t):
    """(category, why) when a host test's FAIL is not clean: it must fail
    through Check (a failed or crashed Check test), not build failures,
    timeouts or a program that never reports."""
    verdict, reason = t.get("verdict"), t.get("reason") or ""
    if verdict == "TIMEOUT":
        return "TIMEOUT", "the host test hangs with the stubs: " + reason
    if verdict != "FAIL":
        return verdict, "%s, expected a clean FAIL: %s" % (verdict, reason)
    if reason.startswith("host test "):
        return "host test", reason
    return None


def judge_grade(n, first, res, rc, facts, exercises=True):
    """The catch-up branch labN's grader results (the --json data res, the
    grader's exit status rc; facts: the branch's kernel facts): (summary
    parts, problems). exercises: lab N has stubs. A lab whose exercises
    are not written yet (a lab being built on main) has nothing for its
    tests to fail on: they must then pass, like the earlier labs', and
    the summary says that the stubs are still missing."""
    problems = []
    if rc not in (0, 1) or res.get("setup_error"):
        problems.append("  grader exit %s (expected 1)%s" % (
            "timeout" if rc is None else rc,
            ": SETUP ERROR: " + res["setup_error"].replace("\n", "\n    ")
            if res.get("setup_error") else ""))
    tests = res.get("tests", [])
    earlier = [t for t in tests if t["lab"] < n]
    own = [t for t in tests if t["lab"] == n]
    later = [t for t in tests if t["lab"] > n]
    bad = [t for t in earlier if t["verdict"] != "OK"]
    for t in bad:
        problems.append("  lab%d/%s: %s, expected OK (the solved earlier lab): %s"
                        % (t["lab"], t["name"], t["verdict"], t.get("reason") or ""))
    # A test marked "given" (a host test of code the lab hands out, such as
    # lab 1's formatter) passes with the stubs; every other must fail.
    passing = [t for t in own if t["verdict"] == "OK" and not t.get("given")]
    if not exercises:
        for t in own:
            if t["verdict"] != "OK":
                problems.append("  lab%d/%s: %s, expected OK (lab %d has no exercises yet): %s"
                                % (t["lab"], t["name"], t["verdict"], n, t.get("reason") or ""))
        if rc != 0 and not problems:
            problems.append("  grader exit %s, expected 0" % rc)
        parts = ["%s: %d/%d OK" % (lab_range(first, n), sum(t["verdict"] == "OK" for t in tests),
                                   len(tests)),
                 "lab %d has no exercises yet (no LAB %d STUB): its tests pass" % (n, n)]
        return parts, problems
    for t in passing:
        problems.append("  lab%d/%s: OK with the lab %d stubs in place; the test must fail "
                        "until the student's code is written" % (t["lab"], t["name"], n))
    verdicts = {}
    clean = 0
    for t in own:
        if t["verdict"] == "OK":
            continue
        why = unclean(t, clean_statuses(facts)) if t.get("kind") != "host" else unclean_host(t)
        if why:
            verdicts[why[0]] = verdicts.get(why[0], 0) + 1
            problems.append("  lab%d/%s: does not fail cleanly with the lab %d stubs: %s"
                            % (t["lab"], t["name"], n, why[1]))
        else:
            clean += 1
    if clean:
        verdicts["FAIL"] = clean
    if not own:
        problems.append("  lab %d has no tests in the grader's results" % n)
    for t in later:
        problems.append("  lab%d/%s: graded in the lab %d branch" % (t["lab"], t["name"], n))
    for m in sorted(set(range(first, n)) - set(t["lab"] for t in earlier)):
        problems.append("  lab %d: no tests graded" % m)
    if rc != 1 and not problems:
        problems.append("  grader exit %s, expected 1" % rc)
    parts = []
    rng = lab_range(first, n - 1)
    if rng:
        parts.append("%s: %d/%d OK" % (rng, len(earlier) - len(bad), len(earlier)))
    parts.append("lab %d: %d/%d fail with stubs%s" % (
        n, clean, len(own), " (%s)" % ", ".join(
            "%d %s" % (verdicts[k], k) for k in sorted(verdicts, key=lambda k: (k != "FAIL", k)))
        if verdicts else ""))
    if passing:
        parts.append("PASS with stubs: " + ", ".join(t["name"] for t in passing))
    return parts, problems


def check_quotes(tree, n, res):
    """The `<!-- quote: stub -->` blocks of lab n's handout against the logs
    of lab n's tests in this grading run (see quotes.py)."""
    import glob
    from labgen import quotes
    parts, problems, found = [], [], []
    for path in glob.glob(os.path.join(tree, "handouts", "lab%d-*.md" % n)):
        with open(path, encoding="utf-8") as f:
            try:
                found += [q for q in quotes.parse(os.path.relpath(path, tree), f.read())
                          if q.state == "stub"]
            except ValueError as e:
                problems.append("  %s" % e)
    if not found:
        return parts, problems
    lines = []
    for t in res.get("tests", []):
        if t["lab"] == n and t.get("log"):
            try:
                with open(t["log"], encoding="utf-8", errors="replace") as f:
                    lines += f.read().split("\n")
            except OSError:
                pass
    bad = 0
    for q in found:
        miss = quotes.missing(q, lines)
        if miss:
            bad += 1
            problems.append("  %s: quoted output the stubs do not print: %s"
                            % (q.where(), "; ".join("`%s`" % m for m in miss)))
    parts.append("%d/%d handout quotes as printed" % (len(found) - bad, len(found)))
    return parts, problems


def lab_range(first, last):
    if last < first:
        return None
    return "lab %d" % first if first == last else "labs %d-%d" % (first, last)


class Checker:
    def __init__(self, src, repo, tmp, jobs):
        self.src, self.repo, self.tmp, self.jobs = src, repo, tmp, jobs
        self.grade_lock = threading.Lock()	# one grader at a time, with -j jobs
        self.first = min(src.labs)

    # ---- catch-up: labN

    def catchup(self, n):
        name = "lab%d catch-up" % n
        d = os.path.join(self.tmp, "lab%d" % n)
        clone(self.repo, "lab%d" % n, d)
        why = build(d, ["kernel", "iso"], lambda p, l: self.src.source_line("catchup", n, p, l))
        if why:
            return False, "%s: %s" % (name, why)
        jf = os.path.join(self.tmp, "lab%d-grade.json" % n)
        with self.grade_lock:
            rc, out, err = run([sys.executable, "grader/grade.py", "--no-build", "--json", jf,
                                "-j", str(self.jobs)], d, timeout=GRADE_TIMEOUT)
        try:
            with open(jf) as f:
                res = json.load(f)
        except (OSError, ValueError) as e:
            return False, "%s: build OK, grader (exit %s) wrote no results (%s):\n%s" % (
                name, rc, e, tail(out + err))
        try:
            facts = factsmod.load(os.path.join(d, "build"))
        except factsmod.FactsMissing as e:
            return False, "%s: build OK, but %s" % (name, e)
        parts, problems = judge_grade(n, self.first, res, rc, facts, self.has_exercises(n))
        qparts, qproblems = check_quotes(d, n, res)
        parts += qparts
        problems += qproblems
        if problems and rc not in (0, 1):
            problems.append("  grader output:\n" + tail(out + err))
        line = "%s: %s" % (name, ", ".join(["build OK"] + parts))
        if problems:
            return False, line + "\n" + "\n".join(problems)
        return True, line

    def has_exercises(self, n):
        """Whether lab n has an exercise (a `LAB n exercise K` stub) yet."""
        pat = re.compile(r"\bLAB %d exercise \d+\b" % n)
        return any(f.path.startswith("src/") and f.text and pat.search(f.text)
                   for f in self.src.files)

    # ---- carry-forward: carry/labN

    def carry(self, n):
        name = "lab%d carry" % n
        if n == self.first:
            # labgen makes labN the very commit of carry/labN for the first
            # lab: its catch-up check builds and grades it.
            carry, lab = self.commit("carry/lab%d" % n), self.commit("lab%d" % n)
            if carry and carry == lab:
                return True, "%s: same commit as lab%d (built by its catch-up check)" % (name, n)
            return False, "%s: carry/lab%d is %s, lab%d is %s: expected the same commit" % (
                name, n, carry or "missing", n, lab or "missing")
        d = os.path.join(self.tmp, "carry%d" % n)
        clone(self.repo, "carry/lab%d" % n, d)
        why = build(d, ["kernel"], lambda p, l: self.src.source_line("carry", n, p, l))
        ok, parts, notes = why is None, ["build OK" if why is None else "build FAILED"], []
        if why:
            notes.append(why)
        merged, what, note = self.merge(n)
        parts.append(what)
        ok = ok and merged
        if note:
            notes.append(note)
        line = "%s: %s" % (name, ", ".join(parts))
        return ok, "\n".join([line] + ["  " + x for x in notes])

    def merge(self, n):
        """A student who finished the previous lab merges carry/labN:
        (ok, summary, details)."""
        prev = max(k for k in self.src.labs if k < n)
        m = os.path.join(self.tmp, "merge%d" % n)
        clone(self.repo, "carry/lab%d" % prev, m)
        # What that student has: carry/lab(prev) with labs 1..prev solved.
        for s in (("checkout", "-q", "-b", "student"), ("rm", "-r", "-q", ".")):
            rc, out, err = git(m, *s)
            if rc != 0:
                return False, "merge not tried", "git %s: %s" % (" ".join(s), err.strip())
        labgen.write_tree(self.src.render("solved", prev), m)
        for s in (("add", "-A"), ("commit", "-q", "-m", "Labs 1..%d done" % prev)):
            rc, out, err = git(m, *s)
            if rc != 0:
                return False, "merge not tried", "git %s: %s" % (" ".join(s), (out + err).strip())
        rc, out, err = git(m, "merge", "--no-edit", "-q", "origin/carry/lab%d" % n)
        if rc != 0:
            _, conflicts, _ = git(m, "diff", "--name-only", "--diff-filter=U")
            git(m, "merge", "--abort")
            return False, "merge into solved lab %d CONFLICTS" % prev, \
                "conflicts in: %s\n%s" % (" ".join(conflicts.split()), tail(out + err))
        _, head, _ = git(m, "rev-parse", "HEAD^{tree}")
        _, want, _ = git(m, "rev-parse", "origin/lab%d^{tree}" % n)
        if head.strip() != want.strip():
            _, stat, _ = git(m, "diff", "--stat", "origin/lab%d" % n, "HEAD")
            return False, "merge clean, tree != lab%d" % n, \
                "lab%d -> merged:\n%s" % (n, tail(stat, 40))
        return True, "merge clean, tree = lab%d" % n, None

    def commit(self, ref):
        """The commit id of branch ref in the student repository, or None."""
        rc, out, _ = git(self.repo, "rev-parse", "-q", "--verify", "refs/heads/%s^{commit}" % ref)
        return out.strip() if rc == 0 else None


def guarded(fn, *args):
    try:
        return fn(*args)
    except Exception as e:	# a crash of one check is that check's failure
        return False, "%s%s: error: %s: %s" % (fn.__name__, args, type(e).__name__, e)


def selftest():
    """labgen's own tests (test_labgen.py), on small synthetic trees."""
    import io
    import unittest
    import test_labgen
    suite = unittest.defaultTestLoader.loadTestsFromModule(test_labgen)
    stream = io.StringIO()
    res = unittest.TextTestRunner(stream=stream, verbosity=0).run(suite)
    bad = len(res.failures) + len(res.errors)
    line = "labgen self-test: %d/%d OK" % (res.testsRun - bad, res.testsRun)
    if bad:
        return False, line + "\n" + tail(stream.getvalue(), 60)
    return True, line


def main(argv=None):
    ap = argparse.ArgumentParser(description="Validate the generated lab branches.")
    ap.add_argument("--root", default=labgen.DEFAULT_ROOT, help="the reference tree")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="labs validated at once, and the grader's -j (default: CPUs)")
    ap.add_argument("--lab", type=int, action="append", help="validate only this lab (repeatable)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)

    t0 = time.time()
    results = []

    def report(ok, line):
        results.append(ok)
        print(("" if ok else "FAIL ") + line, flush=True)

    tmp = tempfile.mkdtemp(prefix="labgen-validate-")
    try:
        report(*selftest())
        src = labgen.Source(args.root)
        errors = src.check()
        nmarkers = sum(len(f.marker_labs()) for f in src.files)
        if errors:
            report(False, "markers: %d error(s)\n%s" % (len(errors), "\n".join("  " + e for e in errors)))
        else:
            report(True, "markers: OK (%d markers, labs %s)"
                   % (nmarkers, ",".join(map(str, sorted(src.labs)))))
        repo = os.path.join(tmp, "student")
        log = []
        try:
            if errors:
                raise labgen.LabgenError("marker errors")
            labgen.generate(src, repo, log=log.append)
            report(True, "generate: %d branches, no solution line leaks"
                   % sum(1 for l in log if l.startswith(("lab", "carry/"))))
        except labgen.LabgenError as e:
            report(False, "generate: %s\n%s" % (e, "\n".join("  " + l for l in log
                                                          if not l.startswith(("lab", "carry/")))))
        if results[-1] and not errors:
            labs = sorted(src.labs) if not args.lab else sorted(set(args.lab) & set(src.labs))
            chk = Checker(src, repo, tmp, max(1, args.jobs))
            with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
                futs = []
                for n in labs:
                    futs.append(pool.submit(guarded, chk.catchup, n))
                    futs.append(pool.submit(guarded, chk.carry, n))
                for f in futs:
                    report(*f.result())
    finally:
        if args.keep:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    passed = sum(1 for r in results if r)
    failed = len(results) - passed
    print("validated in %.0fs" % (time.time() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
