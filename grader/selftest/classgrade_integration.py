"""Integration tests of class-scale grading, with the real kernel in QEMU:
pristine tests against a submission that edited its tests, the nonce
against a replayed transcript, Gradescope's run_autograder against a
folder laid out like /autograder, the Classroom workflow's grade step,
JUnit from a real run, and batch mode on three small submissions."""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import unittest
import zipfile

import integration as it
from classgrade_unit import check_classroom, check_gradescope, check_junit, load_packager, workflow
from harness import contains, eq
from strata_grader import pristine

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def setUpModule():
    it.setUpModule()


def tearDownModule():
    it.tearDownModule()


def lab1_totals():
    """(points, tests) of lab 1 as this tree declares it."""
    with open(os.path.join(it.REPO, "labs", "lab1-boot", "lab.json")) as f:
        tests = json.load(f)["tests"]
    return sum(t["points"] for t in tests), len(tests)


def copy_repo(name):
    """A submission: this tree's files (no .git, no build/)."""
    d = os.path.join(it.WORK, name)
    pristine.copy_tree(it.REPO, d)
    return d


def edit(path, old, new):
    with open(path) as f:
        text = f.read()
    assert old in text, (path, old)
    with open(path, "w") as f:
        f.write(text.replace(old, new, 1))


def break_build(sub):
    """A syntax error in the first student file the build compiles."""
    path = os.path.join(sub, "src/boot/start.S")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write("#error this submission does not build\n" + text)


def results(path):
    with open(path) as f:
        return {t["id"]: t for t in json.load(f)["tests"]}


def run(argv, env=None, timeout=300, cwd=None):
    tmp = it.new_tmp()
    p = subprocess.run(argv, env=env or it.grader_env(tmp), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, cwd=cwd)
    left = it.survivors(tmp)
    assert not left, "QEMU processes survived: %s" % left
    return p.returncode, p.stdout.decode("utf-8", "replace")


SELECTION = ["--test", "lab1/printk", "--test", "lab1/backtrace", "--test", "lab1/pf_read",
             "--test", "lab1/higher_half", "--test", "lab1/boot"]


@test
def pristine_tests_defeat_edited_tests_and_grader():
    sub = copy_repo("cheater")
    # two bugs in the student's code ...
    edit(os.path.join(sub, "src/kernel/panic.c"), "depth < BACKTRACE_MAX;", "depth < 1;")
    edit(os.path.join(sub, "src/lib/fmt.c"), "*f == 'X', \"\");", "0, \"\");")
    # ... hidden by an edited trace, an edited in-kernel test and an edited grader
    trace = os.path.join(sub, "labs/lab1-boot/backtrace.trace")
    with open(trace) as f:
        lines = [l for l in f if not re.match(r"  #[1-5] ", l)]
    with open(trace, "w") as f:
        f.writelines(lines)
    edit(os.path.join(sub, "labs/lab1-boot/ktests.c"),
         'printk("printk: [%x] [%X] [%08x] [%p]\\n", 0xbeef, 0xbeef,',
         'printk("printk: [%x] [BEEF] [%08x] [%p]\\n", 0xbeef,')
    with open(os.path.join(sub, "grader/strata_grader/verdict.py"), "a") as f:
        f.write("\n\ndef judge(*args, **kw):\n    return Verdict(Status.OK)\n")
    # and a second KTEST(boot) of their own, which would be run instead
    with open(os.path.join(sub, "src/kernel/mine.c"), "w") as f:
        f.write('#include "kernel/ktest.h"\n\nKTEST(boot)\n{\n}\n')
    own = os.path.join(it.WORK, "cheater-own.json")
    rc, out = run([sys.executable, os.path.join(sub, "grader/grade.py"), "-C", sub, "-j", "2",
                   "--json", own] + SELECTION)
    got = results(own)
    eq({k: v["verdict"] for k, v in got.items() if k != "lab1/boot"},
       {"lab1/printk": "OK", "lab1/backtrace": "OK", "lab1/pf_read": "OK",
        "lab1/higher_half": "OK"}, "the submission's own grader passes it:\n" + out)
    js = os.path.join(it.WORK, "cheater-pristine.json")
    rc, out = run([sys.executable, it.GRADE, "--pristine", it.REPO, "-C", sub, "-j", "2",
                   "--json", js, "--out", os.path.join(it.WORK, "cheater-logs")] + SELECTION)
    contains(out, "grading a copy of %s" % sub)
    got = results(js)
    eq({k: v["verdict"] for k, v in got.items()},
       {"lab1/printk": "FAIL", "lab1/backtrace": "FAIL", "lab1/pf_read": "FAIL",
        "lab1/higher_half": "OK", "lab1/boot": "FAIL"}, out)
    contains(got["lab1/printk"]["reason"], "`printk: [beef] [BEEF] [0000002a] [0xc0100000]`")
    contains(got["lab1/backtrace"]["reason"], "#1 {hex} bt_second+{hex}")
    contains(got["lab1/boot"]["reason"], "kernel exited with status 35")
    contains("\n".join(got["lab1/boot"]["details"]), "2 tests are named boot")
    eq(rc, 1, out)
    with open(trace) as f:
        assert "#1" not in f.read(), "the submission itself is not written to"


@test
def nonce_fails_a_replayed_transcript():
    labs = it.write_labs(
        [{"name": "real", "points": 1, "cmdline": "test=selftest_pass", "trace": "p.trace"}],
        {"p.trace": it.PASS_TRACE})
    js = os.path.join(it.WORK, "nonce-real.json")
    r = it.grade("--labs-dir", labs, "--no-build", "--json", js,
                 "--out", os.path.join(it.WORK, "nonce-logs"))
    t = results(js)["lab1/real"]
    eq(t["verdict"], "OK", r.text)
    with open(t["log"]) as f:
        transcript = f.read().split("\n----- strata grader:", 1)[0]
    m = re.search(r"TEST selftest_pass: PASS nonce=([0-9a-f]{16})$", transcript, re.M)
    assert m, transcript
    contains(transcript, "[boot] cmdline: 'build/kernel.elf nonce=%s test=selftest_pass'" % m.group(1))
    recorded = os.path.join(it.WORK, "recorded.txt")
    with open(recorded, "w") as f:
        f.write(transcript.replace("build/kernel.elf", "fake.elf"))
    labs2 = it.write_labs(
        [{"name": "replay", "points": 1, "cmdline": "test=replay", "trace": "p.trace"}],
        {"p.trace": it.PASS_TRACE})
    kernel = os.path.join(it.WORK, "fake-kernel.elf")	# an i386 ELF, as --kernel wants
    it.ensure_built()
    shutil.copyfile(os.path.join(it.REPO, "build", "kernel.elf"), kernel)
    js2 = os.path.join(it.WORK, "nonce-replay.json")
    tmp = it.new_tmp()
    r = it.grade("--labs-dir", labs2, "--qemu", it.fake_qemu_path(), "--kernel", kernel,
                 "--json", js2, "--out", os.path.join(it.WORK, "nonce-logs"),
                 env=it.grader_env(tmp, STRATA_FAKE_REPLAY=recorded))
    t = results(js2)["lab1/replay"]
    eq(t["verdict"], "FAIL", r.text)
    contains(t["reason"], "carries nonce=%s, not this run's nonce=" % m.group(1))
    contains(t["reason"], "a recorded transcript?")


@test
def junit_gradescope_classroom_from_a_real_run():
    labs = it.case_labs(["pass", "fail", "hang", "panic_expected"])
    d = os.path.join(it.WORK, "formats")
    os.makedirs(d)
    paths = {k: os.path.join(d, k) for k in ("j.xml", "gs.json", "cr.json")}
    r = it.grade("--labs-dir", labs, "--no-build", "--junit", paths["j.xml"],
                 "--gradescope", paths["gs.json"], "--classroom", paths["cr.json"],
                 "--out", os.path.join(d, "logs"))
    cases = check_junit(paths["j.xml"])
    eq({k: v[0] for k, v in cases.items()},
       {"lab1/pass": "ok", "lab1/fail": "failure", "lab1/hang": "error",
        "lab1/panic_expected": "ok"}, r.text)
    contains(cases["lab1/fail"][1].find("system-out").text, "TEST selftest_fail: FAIL selftest failure nonce=")
    with open(paths["gs.json"]) as f:
        gs = json.load(f)
    check_gradescope(gs)
    eq(gs["score"], 11)
    with open(paths["cr.json"]) as f:
        cr = json.load(f)
    check_classroom(cr)
    eq((cr["status"], cr["max_score"], sum(t["score"] for t in cr["tests"])), ("error", 13, 11))


@test
def formats_of_a_qemu_args_setup_error():
    """qemu_args QEMU refuses stop the run before any test (preflight.py):
    every format says SETUP ERROR and lists the tests as not run, none as
    the student's failure (they used to: junit <error> for that test only,
    the others graded, Gradescope 11/14)."""
    labs = it.case_labs(["pass", "fail", "qemu_error"])
    d = os.path.join(it.WORK, "formats-setup")
    os.makedirs(d)
    paths = {k: os.path.join(d, k) for k in ("j.xml", "gs.json", "cr.json")}
    r = it.grade("--labs-dir", labs, "--no-build", "--junit", paths["j.xml"],
                 "--gradescope", paths["gs.json"], "--classroom", paths["cr.json"],
                 "--out", os.path.join(d, "logs"))
    eq(r.rc, 2, r.text)
    cases = check_junit(paths["j.xml"])
    eq({k: v[0] for k, v in cases.items()},
       {"lab1/pass": "error", "lab1/fail": "error", "lab1/qemu_error": "error"}, r.text)
    with open(paths["j.xml"]) as f:
        contains(f.read(), "not run: ")
    with open(paths["gs.json"]) as f:
        gs = json.load(f)
    check_gradescope(gs)
    eq(gs["score"], 0)
    contains(gs["extra_data"]["setup_error"], "-no-such-option: invalid option")
    with open(paths["cr.json"]) as f:
        cr = json.load(f)
    check_classroom(cr)
    eq((cr["status"], cr["max_score"], sum(t["score"] for t in cr["tests"])), ("error", 12, 0))
    contains(cr["tests"][0]["message"], "not run: ")
    contains(cr["tests"][0]["message"], "qemu_args [\"-no-such-option\"]")


@test
def gradescope_run_autograder():
    pkg = load_packager()
    root = os.path.join(it.WORK, "autograder")
    zips = os.path.join(it.WORK, "gradescope-zips")
    eq(pkg.main(["--root", it.REPO, "--lab", "1", "--out", zips]), 0)
    with zipfile.ZipFile(os.path.join(zips, "gradescope-lab1.zip")) as z:
        names = z.namelist()
        assert "setup.sh" in names and "run_autograder" in names, names[:5]
        eq(z.getinfo("run_autograder").external_attr >> 16, 0o100755)
        setup = z.read("setup.sh").decode()
        z.extractall(os.path.join(root, "source"))
    for n in ("pristine/grader/pristine.manifest", "pristine/labs/lab1-boot/lab.json",
              "pristine/src/kernel/ktest.c", "pristine/Makefile", "pristine/LAB"):
        assert n in names, n
    assert not any(n.startswith("pristine/labs/lab2") for n in names), "lab 1 only"
    assert not any(n.startswith("pristine/src/mm/") for n in names), "no student code"
    contains(setup, "apt-get install -y --no-install-recommends " + " ".join(pkg.PACKAGES))
    script = os.path.join(root, "source", "run_autograder")
    sub = os.path.join(root, "submission")
    pristine.copy_tree(it.REPO, sub)
    env = dict(it.grader_env(it.new_tmp()), STRATA_AUTOGRADER_ROOT=root)
    rc, out = run(["bash", script], env=env)
    eq(rc, 0, out)
    with open(os.path.join(root, "results", "results.json")) as f:
        res = json.load(f)
    check_gradescope(res)
    eq((res["score"], len(res["tests"])), lab1_totals(), out)
    eq({t["status"] for t in res["tests"]}, {"passed"})
    # a submission that does not build: results.json says so
    break_build(sub)
    rc, out = run(["bash", script], env=env)
    with open(os.path.join(root, "results", "results.json")) as f:
        res = json.load(f)
    check_gradescope(res)
    contains(res["output"], "SETUP ERROR: build failed")
    contains(res["output"], "start.S")
    eq((res["score"], sum(t["max_score"] for t in res["tests"])), (0, lab1_totals()[0]))
    eq({t["tags"][1] for t in res["tests"]}, {"not run"})
    # the grader cannot even start (no python3): still a results.json that says so
    bindir = os.path.join(root, "bin")
    os.makedirs(bindir)
    for tool in ("mkdir", "rm", "mktemp", "timeout"):
        os.symlink(shutil.which(tool), os.path.join(bindir, tool))
    rc, out = run([shutil.which("bash"), script], env=dict(env, PATH=bindir))
    with open(os.path.join(root, "results", "results.json")) as f:
        res = json.load(f)
    contains(res["output"], "SETUP ERROR: the Strata autograder could not run (exit status 127")
    eq((res["score"], res["tests"]), (0, []))
    # past its time limit (Gradescope would stop it and have no results):
    # killed, and a results.json that says why
    shutil.rmtree(sub)
    pristine.copy_tree(it.REPO, sub)
    rc, out = run(["bash", script], env=dict(env, STRATA_AUTOGRADER_LIMIT="1"))
    with open(os.path.join(root, "results", "results.json")) as f:
        res = json.load(f)
    contains(res["output"], "SETUP ERROR: grading took longer than 1 s, the autograder's limit")
    eq((res["score"], res["tests"]), (0, []))


@test
def classroom_grade_step_writes_the_reporters_input():
    """The workflow's grade step, run as GitHub would run it (bash, with
    GITHUB_OUTPUT), in a generated lab 1 tree.  The workflow itself (the
    checkout, apt-get and the reporter action) is not run here."""
    tree = os.path.join(it.WORK, "classroom-lab1")
    p = subprocess.run([sys.executable, os.path.join(it.REPO, "tools/labgen/labgen.py"),
                        "--root", it.REPO, "--render", "1", "--solved", "--out-tree", tree],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    eq(p.returncode, 0, p.stdout.decode())
    wf = os.path.join(tree, ".github", "workflows", "classroom.yml")
    with open(wf) as f, open(os.path.join(it.REPO, "tools/labgen/classroom.yml")) as g:
        eq(f.read(), g.read(), "labgen puts the workflow into the student tree")
    step = [s for s in workflow()["jobs"]["run-autograding-tests"]["steps"]
            if s.get("id") == "strata"][0]
    output = os.path.join(it.WORK, "github-output")
    env = dict(it.grader_env(it.new_tmp()), GITHUB_OUTPUT=output)
    rc, out = run(["bash", "-e", "-c", step["run"]], env=env, cwd=tree)
    eq(rc, 0, out)
    with open(output) as f:
        line = f.read().strip()
    assert line.startswith("result="), line[:80]
    res = json.loads(base64.b64decode(line[len("result="):]))
    check_classroom(res)
    pts = lab1_totals()[0]
    eq((res["status"], res["max_score"], sum(t["score"] for t in res["tests"])),
       ("pass", pts, pts), out)
    check_junit(os.path.join(tree, "build", "junit.xml"))


@test
def batch_mode_three_submissions_and_regrade():
    subs = os.path.join(it.WORK, "class")
    os.makedirs(subs)
    p = subprocess.run(["git", "-C", it.REPO, "bundle", "create",
                        os.path.join(subs, "ref.bundle"), "HEAD"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:          # not a git checkout: a plain copy instead
        pristine.copy_tree(it.REPO, os.path.join(subs, "ref"))
    broken = os.path.join(subs, "broken")
    pristine.copy_tree(it.REPO, broken)
    break_build(broken)
    hang = os.path.join(subs, "hang")
    pristine.copy_tree(it.REPO, hang)
    edit(os.path.join(hang, "src/lib/fmt.c"), "case 'X': {", "case 'X': {\n\t\t\twhile (*f == 'X')\n\t\t\t\t;")
    outs = []
    for n in (1, 2):
        out = os.path.join(it.WORK, "class-out%d" % n)
        rc, text = run([sys.executable, it.GRADE, "--class", subs, "--pristine", it.REPO,
                        "--out", out, "--parallel", "2", "--timeout-scale", "0.2",
                        "--test", "lab1/boot", "--test", "lab1/printk"], timeout=600)
        eq(rc, 1, text)
        contains(text, "[3/3]")
        outs.append(out)
    with open(os.path.join(outs[0], "scores.csv")) as f, open(os.path.join(outs[1], "scores.csv")) as g:
        first, second = f.read(), g.read()
    eq(first, second, "regrading gives the same scores")
    eq(first.splitlines(), ["student,state,total,max,lab1/boot,lab1/printk",
                            "broken,build failed,0,20,,",
                            "hang,graded,10,20,10,0",
                            "ref,graded,20,20,10,10"])
    with open(os.path.join(outs[0], "summary.json")) as f:
        rows = {r["student"]: r for r in json.load(f)["students"]}
    eq(rows["hang"]["tests"]["lab1/printk"]["verdict"], "TIMEOUT")
    contains(rows["broken"]["error"], "build failed")
    for r in rows.values():
        assert r["cpu_seconds"] > 0 and r["peak_rss_mib"] > 0, r
    for name in ("ref", "hang"):
        sdir = os.path.join(outs[0], "students", name)
        for f in ("result.json", "grade.log", "gradescope.json"):
            assert os.path.isfile(os.path.join(sdir, f)), (name, f)
    with open(os.path.join(outs[0], "report.html"), encoding="utf-8") as f:
        page = f.read()
    eq(page.count("<svg"), 2)
    contains(page, "broken")


class ClassgradeIntegration(unittest.TestCase):
    """Every @test function above, as a unittest test case."""


for _fn in TESTS:
    setattr(ClassgradeIntegration, "test_" + _fn.__name__, lambda self, _fn=_fn: _fn())
