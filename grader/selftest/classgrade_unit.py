"""Unit tests of class-scale grading (no QEMU): the nonce, the pristine
overlay, the result files for Gradescope, GitHub Classroom and JUnit, the
class report, and the Classroom workflow's YAML."""

import csv
import json
import os
import re
import tempfile
import unittest
import xml.etree.ElementTree as ET

from harness import GRADER, contains, eq, kernel_facts, raises

import miniyaml
from strata_grader import classreport, classroom, gradescope, junit, nonce, pristine
from strata_grader.qemu import RunResult
from strata_grader.trace import Matcher, parse_trace
from strata_grader.verdict import judge

REPO = os.path.dirname(GRADER)
WORKFLOW = os.path.join(REPO, "tools", "labgen", "classroom.yml")
TESTS = []
F = None     # the kernel's facts


def test(fn):
    TESTS.append(fn)
    return fn


def setUpModule():
    global F
    F = kernel_facts()


# ---------------------------------------------------------------- nonce

def run_of(trace_text, output, status=None, value=None):
    tr = parse_trace(trace_text, "n.trace")
    res = RunResult()
    res.matcher = m = Matcher(tr)
    res.how, res.status = "exit", F.STATUS_PASS if status is None else status
    res.output = bytearray(output.encode())
    for ln, line in res.splitter.feed(output.encode()):
        m.feed_line(ln, line)
    return judge(res, tr, timeout=10.0, flood_limit=1 << 20, facts=F, nonce=value)


@test
def nonce_split_and_cmdline():
    eq(nonce.split("TEST boot: PASS nonce=00ff"), ("TEST boot: PASS", "00ff"))
    eq(nonce.split("TEST a: FAIL x == 1 nonce=ab"), ("TEST a: FAIL x == 1", "ab"))
    eq(nonce.split("TEST a: PANIC nonce=ab"), ("TEST a: PANIC", "ab"))
    eq(nonce.split("TEST a: start nonce=ab"), ("TEST a: start nonce=ab", None), "not a final line")
    eq(nonce.split("hello nonce=ab"), ("hello nonce=ab", None))
    eq(nonce.split("TEST a: PASS"), ("TEST a: PASS", None))
    eq(nonce.cmdline("test=boot", "abc"), "nonce=abc test=boot")
    assert nonce.applies("kernel", "test=boot", "pass")
    assert nonce.applies("kernel", "test=x malloc_poison", "panic")
    assert not nonce.applies("iso", "", "reset"), "GRUB's ISO boot has no command line of ours"
    assert not nonce.applies("kernel", "", "reset"), "the monitor is not the test framework"
    assert not nonce.applies("kernel", "test=selftest_triple", "triple")
    assert not nonce.applies("kernel", "latest=1", "pass")
    assert re.fullmatch(r"[0-9a-f]{16}", nonce.new()) and nonce.new() != nonce.new()


@test
def nonce_checked_in_the_verdict():
    trace = "TEST a: start\nTEST a: PASS\n"
    eq(run_of(trace, "TEST a: start\nTEST a: PASS nonce=1234\n", value="1234").status, "OK")
    v = run_of(trace, "TEST a: start\nTEST a: PASS nonce=9999\n", value="1234")
    eq(v.status, "FAIL")
    contains(v.reason, "carries nonce=9999, not this run's nonce=1234")
    contains(v.reason, "recorded transcript")
    v = run_of(trace, "TEST a: start\nTEST a: PASS\n", value="1234")
    eq(v.status, "FAIL")
    contains(v.reason, "carries no nonce")
    v = run_of("x\n", "x\n", value="1234")
    contains(v.reason, "no final `TEST NAME: PASS|FAIL|PANIC nonce=...` line")
    # the last final line counts: a replayed PASS before the real end does not help
    v = run_of(trace, "TEST a: start\nTEST a: PASS nonce=1234\nTEST a: PASS nonce=0000\n",
               value="1234")
    eq(v.status, "FAIL")
    # without a nonce to check (monitor tests), as before
    eq(run_of(trace, "TEST a: start\nTEST a: PASS\n").status, "OK")
    # a FAIL line is matched without its nonce; an earlier reason wins over the nonce
    v = run_of("@exit fail\nTEST a: FAIL bad\n", "TEST a: FAIL bad nonce=77\n", status=F.STATUS_FAIL,
               value="77")
    eq(v.status, "OK")
    v = run_of(trace, "TEST a: start\nTEST a: FAIL bad nonce=77\n", status=F.STATUS_FAIL,
               value="77")
    contains(v.reason, "kernel exited with status %d" % F.STATUS_FAIL)


# ---------------------------------------------------------------- pristine

def _write(root, files):
    for path, text in files.items():
        p = os.path.join(root, path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)


@test
def pristine_overlay_owns_its_paths():
    d = tempfile.mkdtemp(prefix="strata-pristine-")
    prist, sub, work = (os.path.join(d, x) for x in ("pristine", "sub", "work"))
    _write(prist, {"grader/pristine.manifest": "# owned\nlabs/\nsrc/kernel/ktest.c\nLAB\n",
                   "labs/lab1-a/a.trace": "pristine trace\n", "labs/lab1-a/lab.json": "{}\n",
                   "src/kernel/ktest.c": "pristine ktest\n", "src/mm/x.c": "instructor's x\n"})
    _write(sub, {"labs/lab1-a/a.trace": "edited\n", "labs/lab1-a/extra.trace": "added\n",
                 "labs/lab9-mine/lab.json": "{}\n", "src/kernel/ktest.c": "edited\n",
                 "src/mm/x.c": "student's x\n", "LAB": "1\n", "build/kernel.elf": "prebuilt\n",
                 ".git/HEAD": "ref\n", "Makefile": "all:\n"})
    os.symlink("/etc", os.path.join(sub, "outside"))
    os.symlink("mm/x.c", os.path.join(sub, "src", "inside.c"))
    root, n = pristine.prepare(sub, prist, work)
    eq(root, sub)
    eq(n, 3)
    read = lambda p: open(os.path.join(work, p)).read()
    eq(read("labs/lab1-a/a.trace"), "pristine trace\n")
    eq(read("src/kernel/ktest.c"), "pristine ktest\n")
    eq(read("src/mm/x.c"), "student's x\n", "not owned: the student's")
    for gone in ("labs/lab1-a/extra.trace", "labs/lab9-mine", "LAB", "build", ".git", "outside"):
        assert not os.path.lexists(os.path.join(work, gone)), gone
    eq(os.readlink(os.path.join(work, "src", "inside.c")), "mm/x.c", "links inside the tree stay")
    eq(open(os.path.join(sub, "labs/lab1-a/a.trace")).read(), "edited\n", "submission untouched")
    # a submission that redirects an owned folder through a symbolic link
    sub2, work2, elsewhere = (os.path.join(d, x) for x in ("sub2", "work2", "elsewhere"))
    _write(sub2, {"Makefile": "all:\n", "src/kernel/main.c": "x\n"})
    os.makedirs(elsewhere)
    os.symlink(elsewhere, os.path.join(sub2, "labs"))
    pristine.prepare(sub2, prist, work2)
    eq(os.listdir(elsewhere), [], "nothing written through the link")
    assert os.path.isfile(os.path.join(work2, "labs/lab1-a/a.trace"))
    # a zip of the repository folder: its only folder is the root
    sub3 = os.path.join(d, "sub3")
    _write(sub3, {"strata-student/Makefile": "all:\n", "strata-student/src/a.c": "\n"})
    eq(pristine.find_root(sub3), os.path.join(sub3, "strata-student"))
    raises(pristine.PristineError, pristine.prepare, sub, sub, os.path.join(d, "w4"),
           contains_text="not a pristine tree")
    _write(d, {"bad/grader/pristine.manifest": "../etc\n"})
    raises(pristine.PristineError, pristine.read_manifest, os.path.join(d, "bad"),
           contains_text="relative path inside the tree")
    raises(pristine.PristineError, pristine.copy_tree, sub, os.path.join(d, "w5"), 10,
           contains_text="submission too large")


@test
def pristine_manifest_of_this_tree():
    owned = dict(pristine.read_manifest(REPO))
    for path in ("labs", "src/kernel/ktest.c", "src/kernel/ktest.h", "tests", "grader", "Makefile"):
        assert path in owned, path
    for path, is_dir in owned.items():
        assert os.path.exists(os.path.join(REPO, path)) or path == "LAB", path
        eq(os.path.isdir(os.path.join(REPO, path)), is_dir, path)


# ---------------------------------------------------------------- result files

def sample(log_dir):
    log = os.path.join(log_dir, "lab1-b.log")
    with open(log, "w") as f:
        f.write("boot\n\x1b[31mred\x1b[0m \x01 ctrl\nTEST b: FAIL no nonce=12\n")
    t = lambda name, verdict, pts, **kw: dict(
        {"lab": 1, "lab_title": "boot", "name": name, "id": "lab1/" + name, "points": pts,
         "score": pts if verdict == "OK" else 0, "verdict": verdict, "reason": "",
         "details": [], "seconds": 0.25, "cpu_seconds": 0.2, "idle_seconds": 0.0,
         "exit_status": 33, "ended": "exit", "timeout": 10.0, "log": None}, **kw)
    return {"score": 10, "max_score": 33, "log_dir": log_dir, "setup_error": None, "seconds": 2.6,
            "tests": [t("a", "OK", 10),
                      t("b", "FAIL", 5, reason="expected line 2 not found", details=["ctx"],
                        exit_status=35, log=log),
                      t("c", "TIMEOUT", 8, ended="timeout", exit_status=None),
                      dict(t("d", "FAIL", 10, ended="exit", exit_status=1), lab=2,
                           lab_title="buddy", id="lab2/d")]}


GS_VIS = {"hidden", "after_due_date", "after_published", "visible"}
GS_FORMATS = {"text", "html", "simple_format", "md", "ansi"}


def check_gradescope(d):
    """results.json against the fields of Gradescope's specification."""
    for key, typ in (("score", (int, float)), ("execution_time", int), ("output", str),
                     ("visibility", str), ("stdout_visibility", str), ("tests", list)):
        assert isinstance(d.get(key), typ), (key, d.get(key))
    assert d["visibility"] in GS_VIS and d["stdout_visibility"] in GS_VIS
    numbers = set()
    for t in d["tests"]:
        for key, typ in (("name", str), ("number", str), ("score", (int, float)),
                         ("max_score", (int, float)), ("status", str), ("output", str),
                         ("output_format", str), ("tags", list), ("visibility", str),
                         ("extra_data", dict)):
            assert isinstance(t.get(key), typ), (t.get("name"), key, t.get(key))
        assert t["status"] in ("passed", "failed"), t
        assert t["output_format"] in GS_FORMATS and t["visibility"] in GS_VIS
        assert 0 <= t["score"] <= t["max_score"], t
        assert all(isinstance(x, str) for x in t["tags"])
        assert isinstance(t["extra_data"].get("seconds"), (int, float)), t
        assert t["number"] not in numbers, t["number"]
        numbers.add(t["number"])
    eq(d["score"], sum(t["score"] for t in d["tests"]), "score is the tests' sum")
    json.dumps(d)


def check_classroom(d):
    """The command grader's result format, as the reporter reads it."""
    eq(d.get("version"), 1)
    assert d.get("status") in ("pass", "fail", "error"), d.get("status")
    assert isinstance(d.get("max_score"), int) and isinstance(d.get("tests"), list)
    for t in d["tests"]:
        for key, typ in (("name", str), ("status", str), ("score", int), ("message", str),
                         ("test_code", str), ("filename", str), ("line_no", int),
                         ("duration", int)):
            assert isinstance(t.get(key), typ), (t.get("name"), key, t.get(key))
        assert t["status"] in ("pass", "fail", "error")
    assert sum(t["score"] for t in d["tests"]) <= d["max_score"]


def check_junit(path):
    """Well-formed, one testsuite per lab, required attributes; returns
    {id: (kind, element)}."""
    root = ET.parse(path).getroot()
    eq(root.tag, "testsuites")
    out = {}
    for suite in root:
        eq(suite.tag, "testsuite")
        for a in ("name", "tests", "failures", "errors", "time"):
            assert a in suite.attrib, (a, suite.attrib)
        cases = suite.findall("testcase")
        eq(int(suite.get("tests")), len(cases))
        eq(int(suite.get("failures")), len(suite.findall("testcase/failure")))
        eq(int(suite.get("errors")), len(suite.findall("testcase/error")))
        for c in cases:
            for a in ("name", "classname", "time"):
                assert a in c.attrib, (a, c.attrib)
            float(c.get("time"))
            props = {p.get("name"): p.get("value") for p in c.findall("properties/property")}
            assert "points" in props, c.attrib
            kind = "failure" if c.find("failure") is not None else (
                "error" if c.find("error") is not None else "ok")
            out[c.get("classname").split(".")[-1] + "/" + c.get("name")] = (kind, c)
    return out


@test
def gradescope_results_fields():
    d = gradescope.results(sample(tempfile.mkdtemp(prefix="strata-gs-")))
    check_gradescope(d)
    eq(d["score"], 10)
    eq([t["status"] for t in d["tests"]], ["passed", "failed", "failed", "failed"])
    eq([t["number"] for t in d["tests"]], ["1.1", "1.2", "1.3", "2.1"])
    b = d["tests"][1]
    contains(b["output"], "expected line 2 not found")
    contains(b["output"], "----- serial log -----")
    eq(b["extra_data"]["seconds"], 0.25)
    long = gradescope.results({"tests": [dict(sample("/tmp")["tests"][1], details=["x" * 100000],
                                             log=None)]})
    assert len(long["tests"][0]["output"]) < 1000, "a flood's megabyte line is cut"
    contains(long["tests"][0]["output"], "(99500 more characters)")
    eq(d["execution_time"], 3)
    bad = gradescope.results({"score": 0, "max_score": 0, "setup_error": "build failed: x",
                              "tests": [], "not_run": [{"lab": 1, "name": "a", "id": "lab1/a",
                                                        "points": 7}]})
    check_gradescope(bad)
    contains(bad["output"], "SETUP ERROR: build failed: x")
    contains(bad["output"], "not a grade of your work")
    eq((bad["tests"][0]["max_score"], bad["tests"][0]["score"]), (7, 0))


@test
def classroom_result_format():
    d = classroom.result(sample(tempfile.mkdtemp(prefix="strata-cr-")))
    check_classroom(d)
    eq(d["status"], "error", "a TIMEOUT is an error for the reporter")
    eq(d["max_score"], 33)
    eq([t["score"] for t in d["tests"]], [10, 0, 0, 0])
    eq(d["tests"][0]["duration"], 250, "milliseconds")
    eq(classroom.result({"tests": [sample("/tmp")["tests"][0]]})["status"], "pass")
    bad = classroom.result({"setup_error": "build failed: y", "tests": []})
    check_classroom(bad)
    eq((bad["status"], bad["tests"][0]["status"]), ("error", "error"))
    contains(bad["tests"][0]["message"], "build failed: y")


@test
def junit_xml_per_lab():
    d = tempfile.mkdtemp(prefix="strata-junit-")
    path = os.path.join(d, "j.xml")
    junit.write(path, sample(d))
    cases = check_junit(path)
    eq({k: v[0] for k, v in cases.items()},
       {"lab1/a": "ok", "lab1/b": "failure", "lab1/c": "error", "lab2/d": "error"},
       "FAIL is a failure; TIMEOUT and a crashed QEMU (status 1) are errors")
    root = ET.parse(path).getroot()
    eq([s.get("name") for s in root], ["lab1 boot", "lab2 buddy"])
    b = cases["lab1/b"][1]
    eq(b.find("failure").get("message"), "expected line 2 not found")
    out = b.find("system-out").text
    contains(out, "TEST b: FAIL no nonce=12")
    contains(out, "\ufffd", "control characters XML cannot hold are replaced")
    eq({p.get("name"): p.get("value") for p in b.findall("properties/property")},
       {"points": "5", "score": "0"})
    junit.write(path, {"setup_error": "build failed: z", "tests": []})
    eq(check_junit(path)["setup/build"][0], "error")


# ---------------------------------------------------------------- class report

def rows():
    mk = lambda name, state, tests, score, mx: {
        "student": name, "state": state, "score": score, "max_score": mx, "seconds": 3.0,
        "cpu_seconds": 2.0, "peak_rss_mib": 50.0, "error": None if state == "graded" else
        "build failed: `make` exited with status 2", "tests": tests, "not_run": []}
    ok = lambda pts: {"verdict": "OK", "score": pts, "points": pts, "reason": ""}
    bad = lambda pts: {"verdict": "FAIL", "score": 0, "points": pts, "reason": "x"}
    return [mk("alice", "graded", {"lab1/a": ok(10), "lab1/b": ok(5)}, 15, 15),
            mk("bob", "graded", {"lab1/a": ok(10), "lab1/b": bad(5)}, 10, 15),
            mk("carol", "build failed", {}, 0, 15)]


@test
def class_report_files():
    d = tempfile.mkdtemp(prefix="strata-class-")
    classreport.write_all(d, {"submissions": "/s", "pristine": "/p", "wall_seconds": 9.0,
                              "parallel": 2, "students": rows()})
    with open(os.path.join(d, "scores.csv")) as f:
        table = list(csv.reader(f))
    eq(table[0], ["student", "state", "total", "max", "lab1/a", "lab1/b"])
    eq(table[2], ["bob", "graded", "10", "15", "10", "0"])
    eq(table[3], ["carol", "build failed", "0", "15", "", ""])
    eq(classreport.pass_rates(rows()[:2])[0], ("lab1/b", 1, 2), "most failed test first")
    eq(classreport.histogram(rows()[:2])[0], [0, 0, 0, 0, 0, 0, 1, 0, 0, 1])
    page = open(os.path.join(d, "report.html"), encoding="utf-8").read()
    eq(page.count("<svg"), 2)
    contains(page, "carol")
    contains(page, "build failed: `make` exited with status 2")
    ET.fromstring(page[page.index("<svg"):page.index("</svg>") + 6])


# ---------------------------------------------------------------- workflow YAML

def load_packager():
    """tools/labgen/gradescope.py (the Gradescope packager), by path."""
    import importlib.util
    import sys
    sys.path.insert(0, os.path.dirname(WORKFLOW))
    spec = importlib.util.spec_from_file_location(
        "strata_gradescope_pkg", os.path.join(os.path.dirname(WORKFLOW), "gradescope.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def workflow():
    with open(WORKFLOW) as f:
        return miniyaml.load(f.read())


@test
def classroom_workflow_yaml():
    w = workflow()
    eq(w["name"], "Autograding Tests")
    assert "push" in w["on"], w["on"]
    eq(w["permissions"]["checks"], "write")
    job = w["jobs"]["run-autograding-tests"]
    steps = job["steps"]
    ids = [s.get("id") for s in steps]
    assert "strata" in ids, ids
    grade = steps[ids.index("strata")]
    contains(grade["run"], "--classroom build/classroom.json")
    contains(grade["run"], 'echo "result=$(base64 -w 0 build/classroom.json)" >> "$GITHUB_OUTPUT"')
    rep = steps[-1]
    eq(rep["uses"], "classroom-resources/autograding-grading-reporter@v1")
    eq(rep["with"]["runners"], "strata")
    eq(rep["env"]["STRATA_RESULTS"], "${{ steps.strata.outputs.result }}",
       "the reporter reads RUNNER_RESULTS for each runner id")
    install = [s for s in steps if "apt-get install" in (s.get("run") or "")][0]
    gs_pkg = load_packager()
    pkgs = install["run"].split("--no-install-recommends", 1)[1].split()
    eq(pkgs, gs_pkg.PACKAGES, "the workflow installs what Gradescope's setup.sh installs")
    for s in steps:
        assert set(s) <= {"name", "id", "if", "uses", "with", "env", "run"}, s
        assert ("uses" in s) != ("run" in s), s


@test
def mini_yaml_rejects_what_it_does_not_understand():
    for bad, why in (("a: 1\na: 2\n", "duplicate key"), ("a:\n\t- x\n", "tab"),
                     ("a: \"x\n", "unterminated"), ("a:\n  b: 1\n c: 2\n", "indentation"),
                     ("x: {a: 1}\n", "outside the YAML subset"), ("- a\nb: 1\n", "unexpected")):
        raises(miniyaml.YamlError, miniyaml.load, bad, contains_text=why)
    eq(miniyaml.load("a:\n  - b: 1\n    c: |\n      x\n      y\n  - 'q'\n"),
       {"a": [{"b": "1", "c": "x\ny\n"}, "q"]})


class ClassgradeUnit(unittest.TestCase):
    """Every @test function above, as a unittest test case."""


for _fn in TESTS:
    setattr(ClassgradeUnit, "test_" + _fn.__name__, lambda self, _fn=_fn: _fn())
