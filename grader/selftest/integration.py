"""Integration tests: the grader against the real kernel in QEMU.

Every grader run gets its own TMPDIR; QEMU's command line always contains
a path inside it (the -D debug log), which is how these tests find any
QEMU the grader left behind."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

from harness import GRADER, contains, eq, kernel_facts, matches, not_contains

GRADE = os.path.join(GRADER, "grade.py")
REPO = os.path.dirname(GRADER)
WORK = None


def configure(repo):
    global REPO, WORK
    if repo:
        REPO = os.path.abspath(repo)
    WORK = tempfile.mkdtemp(prefix="strata-selftest-")


def setUpModule():
    """Also when run by plain unittest: STRATA_SELFTEST_REPO picks the
    repository (run.py --repo sets it)."""
    if WORK is None:
        configure(os.environ.get("STRATA_SELFTEST_REPO"))


def tearDownModule():
    cleanup()


def cleanup():
    global WORK
    if WORK:
        leftover = survivors(WORK)
        for pid in leftover:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(WORK, ignore_errors=True)
    WORK = None


# ---------------------------------------------------------------- helpers


def survivors(marker):
    """PIDs of live processes whose command line mentions marker."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmd = f.read()
            with open("/proc/%s/stat" % name, "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmd and state != b"Z" and b"qemu" in cmd:
            out.append(int(name))
    return out


class Run:
    def __init__(self, rc, out, err, tmp, seconds):
        self.rc, self.out, self.err, self.tmp, self.seconds = rc, out, err, tmp, seconds
        self.text = out + err


def new_tmp():
    d = os.path.join(WORK, "tmp-" + uuid.uuid4().hex[:12])
    os.makedirs(d)
    return d


def grader_cmd(*args):
    return [sys.executable, GRADE, "-C", REPO] + list(args)


def grader_env(tmp, **extra):
    env = dict(os.environ, TMPDIR=tmp)
    env.update(extra)
    return env


def grade(*args, env=None, timeout=120):
    if "--no-build" in args:
        ensure_built()
    tmp = new_tmp()
    t0 = time.monotonic()
    p = subprocess.run(grader_cmd(*args), env=env or grader_env(tmp), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    run = Run(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"),
              tmp, time.monotonic() - t0)
    left = survivors(tmp)
    if left:
        raise AssertionError("QEMU processes survived the grader: %s" % left)
    return run


def write_labs(lab_tests, traces):
    d = os.path.join(WORK, "labs-" + uuid.uuid4().hex[:8])
    os.makedirs(os.path.join(d, "lab1-selftest"))
    with open(os.path.join(d, "lab1-selftest", "lab.json"), "w") as f:
        json.dump({"lab": 1, "title": "grader selftest", "tests": lab_tests}, f, indent=1)
    for name, text in traces.items():
        with open(os.path.join(d, "lab1-selftest", name), "w") as f:
            f.write(text)
    return d


PASS_TRACE = "TEST selftest_pass: start\nselftest: passing\nTEST selftest_pass: PASS\n"


MONITOR_BANNER = "Strata kernel monitor. Type 'help' for a list of commands."


# name -> (lab.json entry, trace text)
CASES = {
    "pass": ("test=selftest_pass", PASS_TRACE, {}),
    "fail": ("test=selftest_fail", "TEST selftest_fail: PASS\n", {}),
    "fail_expected": ("test=selftest_fail",
                      "@exit fail\nTEST selftest_fail: start\nTEST selftest_fail: FAIL selftest failure\n", {}),
    "panic": ("test=selftest_panic", "TEST selftest_panic: PASS\n", {}),
    "panic_expected": ("test=selftest_panic",
                       "@exit panic\npanic: selftest panic\nbacktrace:\n"
                       "  #0 {hex} ktest_selftest_panic+{hex}\n  #1 {hex} {sym}\n", {}),
    "hang": ("test=selftest_hang", "TEST selftest_hang: start\nTEST selftest_hang: PASS\n", {"timeout": 2}),
    "triple": ("test=selftest_triple", "TEST selftest_triple: PASS\n", {}),
    "triple_expected": ("test=selftest_triple", "@exit triple\nTEST selftest_triple: start\n", {}),
    "triple_not_reboot": ("test=selftest_triple", "@exit reset\nTEST selftest_triple: start\n", {}),
    "flood": ("test=selftest_flood", "TEST selftest_flood: PASS\n", {}),
    "mismatch": ("test=selftest_pass",
                 "TEST selftest_pass: start\nselftest: passed ok\nTEST selftest_pass: PASS\n", {}),
    "forbidden": ("test=selftest_pass", "!selftest: pass\n" + PASS_TRACE, {}),
    "forbidden_absent": ("test=selftest_pass", "!selftest: never printed\n!panic\n" + PASS_TRACE, {}),
    "exit_mismatch": ("test=selftest_pass", "@exit panic\nTEST selftest_pass: PASS\n", {}),
    "placeholders": ("test=selftest_pass",
                     "[boot] cmdline: '{any}test=selftest_pass'\n"
                     "[boot] kernel: {hex}-{hex}, physical 0x{word}\n"
                     "[memmap] {dec} KiB available\n"
                     "TEST {word}: start\n"
                     "~selftest: pass(ing|ed)\n"
                     "TEST selftest_pass: PASS\n", {}),
    "monitor": ("", "@exit reset\n" + MONITOR_BANNER + "\n> help\n"
                "help       list the commands\n> nonsense\nunknown command 'nonsense' (try help)\n"
                "> reboot\nrebooting\n", {}),
    "prompt": ("", "@exit reset\nK>\n> help\nhelp       list the commands\nK>\n> reboot\n"
               "rebooting\n", {}),
    "bindings": ("", "@exit reset\n"
                 "[memmap] 0x0000000000100000-{hex:END} available\n"
                 "[memmap] {dec:KIB} KiB available\n"
                 + MONITOR_BANNER + "\n> memmap\n"
                 "[memmap] 0x0000000000100000-{=END} available\n"
                 "[memmap] {=KIB} KiB available\n> reboot\n", {}),
    "bindings_mismatch": ("", "@exit reset\n"
                          "[memmap] 0x0000000000000000-{hex:END} available\n"
                          + MONITOR_BANNER + "\n> memmap\n"
                          "[memmap] 0x0000000000100000-{=END} available\n> reboot\n", {"timeout": 2}),
    "unknown": ("test=no_such_selftest", "TEST no_such_selftest: PASS\n", {}),
    "unknown_expected": ("test=no_such_selftest",
                         "@exit fail\nunknown test 'no_such_selftest'; known tests:{any} selftest_pass {any}\n", {}),
    "paused": ("test=selftest_pass", "TEST selftest_pass: PASS\n", {"qemu_args": ["-S"], "timeout": 1}),
    "mem16": ("test=selftest_pass", "[memmap] 0x0000000000100000-0x0000000000fdffff available\n"
              "TEST selftest_pass: PASS\n", {"memory": "16M"}),
    "iso": ("", "@exit reset\n[boot] loader: GRUB {any}\n[boot] cmdline: '{any}'\n" + MONITOR_BANNER +
            "\n> reboot\nrebooting\n", {"boot": "iso", "timeout": 30}),
}

# Cases the grader refuses before any test runs (preflight.py): not in the
# main run, which they would stop; case_labs gives them by name.
SETUP_CASES = {
    "qemu_error": ("test=selftest_pass", "TEST selftest_pass: PASS\n", {"qemu_args": ["-no-such-option"]}),
}


EXPECT = {  # name -> verdict
    "pass": "OK", "fail": "FAIL", "fail_expected": "OK", "panic": "FAIL", "panic_expected": "OK",
    "hang": "TIMEOUT", "triple": "FAIL", "triple_expected": "OK", "triple_not_reboot": "FAIL",
    "flood": "FAIL",
    "mismatch": "FAIL", "forbidden": "FAIL", "forbidden_absent": "OK", "exit_mismatch": "FAIL",
    "placeholders": "OK", "monitor": "OK", "prompt": "OK", "bindings": "OK",
    "bindings_mismatch": "FAIL", "unknown": "FAIL", "unknown_expected": "OK", "paused": "TIMEOUT",
    "mem16": "OK", "iso": "OK",
}


def case_labs(names=None):
    entries, traces = [], {}
    for name, (cmdline, trace, extra) in ({**CASES, **SETUP_CASES} if names else CASES).items():
        if names and name not in names:
            continue
        e = {"name": name, "points": 1 if name != "pass" else 10, "cmdline": cmdline,
             "trace": name + ".trace"}
        e.update(extra)
        entries.append(e)
        traces[name + ".trace"] = trace
    return write_labs(entries, traces)


_MAIN = {}


_BUILT = []


def ensure_built():
    """For tests that pass --no-build: the images must exist."""
    if _BUILT:
        return
    if not (os.path.exists(os.path.join(REPO, "build", "kernel.elf"))
            and os.path.exists(os.path.join(REPO, "build", "strata.iso"))):
        p = subprocess.run(["make", "-s", "kernel", "iso"], cwd=REPO, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
        if p.returncode != 0:
            raise AssertionError("make kernel iso failed:\n" + p.stdout.decode("utf-8", "replace"))
    _BUILT.append(True)


def main_run():
    """One grader run over every case (builds kernel and ISO)."""
    if not _MAIN:
        labs = case_labs()
        out = os.path.join(WORK, "out-main")
        js = os.path.join(WORK, "main.json")
        run = grade("--labs-dir", labs, "--out", out, "--json", js, "-j", "2")
        _MAIN["run"] = run
        _MAIN["out"] = out
        try:
            with open(js) as f:
                _MAIN["json"] = json.load(f)
        except (OSError, ValueError) as e:
            raise AssertionError("no JSON results (%s); grader said:\n%s" % (e, run.text))
        _MAIN["tests"] = {t["name"]: t for t in _MAIN["json"]["tests"]}
    return _MAIN["run"], _MAIN["tests"]


def case(name):
    run, tests = main_run()
    if name not in tests:
        raise AssertionError("no result for %s; grader said:\n%s" % (name, run.text))
    t = tests[name]
    eq(t["verdict"], EXPECT[name], "verdict of %s (%s)" % (name, t["reason"]))
    return t, t["reason"] + "\n" + "\n".join(t["details"])


def block(run, name):
    """The text the grader printed for one test."""
    lines = run.out.splitlines()
    for i, l in enumerate(lines):
        if l.startswith("lab1 %s: " % name):
            j = i + 1
            while j < len(lines) and lines[j].startswith("  "):
                j += 1
            return "\n".join(lines[i:j])
    raise AssertionError("no line for %s in:\n%s" % (name, run.out))


# ---------------------------------------------------------------- the main run


class MainRun(unittest.TestCase):
    def test_main_run_exit_status_and_score(self):
        run, tests = main_run()
        eq(run.rc, 1, "exit status with failing tests\n" + run.text)
        ok = sum(1 for n, v in EXPECT.items() if v == "OK")
        total = sum(10 if n == "pass" else 1 for n in EXPECT)
        score = sum(10 if n == "pass" else 1 for n, v in EXPECT.items() if v == "OK")
        contains(run.out, "Score: %d/%d" % (score, total))
        eq(run.out.rstrip().splitlines()[-1], "Score: %d/%d" % (score, total))
        eq(len(tests), len(CASES))
        eq(sum(1 for t in tests.values() if t["verdict"] == "OK"), ok)

    def test_results_in_declaration_order(self):
        run, _ = main_run()
        heads = [l.split(":")[0] for l in run.out.splitlines() if l.startswith("lab1 ")]
        eq(heads, ["lab1 " + n for n in CASES])
        matches(run.out, r"^lab1 pass: OK \(\d+\.\ds\)$")
        matches(run.out, r"^lab1 hang: TIMEOUT \(\d+\.\ds\)$")
        matches(run.out, r"^lab1 fail: FAIL \(\d+\.\ds\)$")

    def test_verdict_pass(self):
        t, _ = case("pass")
        eq(t["exit_status"], kernel_facts().STATUS_PASS)
        eq(t["score"], 10)

    def test_verdict_fail_quotes_reason(self):
        t, text = case("fail")
        eq(t["reason"], "kernel exited with status %d (test failed: selftest failure), "
           "expected pass" % kernel_facts().STATUS_FAIL)
        contains(text, "TEST selftest_fail: FAIL selftest failure")
        run, _ = main_run()
        contains(block(run, "fail"), "TEST selftest_fail: FAIL selftest failure")
        case("fail_expected")

    def test_verdict_panic_message_and_backtrace(self):
        t, text = case("panic")
        eq(t["reason"], "kernel panic: selftest panic")
        contains(text, "panic: selftest panic")
        matches(text, r"#0 0x[0-9a-f]+ ktest_selftest_panic\+0x[0-9a-f]+")
        eq(t["exit_status"], kernel_facts().STATUS_PANIC)
        case("panic_expected")

    def test_verdict_hang_times_out(self):
        t, text = case("hang")
        contains(t["reason"], "limit 2.0s CPU")
        contains(t["reason"], "last expected line matched: `TEST selftest_hang: start`")
        contains(t["reason"], "waiting for: `TEST selftest_hang: PASS`")
        assert 1.9 <= t["cpu_seconds"] + t["idle_seconds"] < 4, t
        assert t["seconds"] < 10, t

    def test_verdict_paused_qemu_times_out_on_idle_time(self):
        # QEMU -S: the guest never runs and QEMU sleeps; the budget must still
        # run out after ~1 s, not at the 60 s wall-clock safety net.
        t, text = case("paused")
        contains(t["reason"], "idle")
        assert t["seconds"] < 5, t

    def test_verdict_triple_fault(self):
        t, text = case("triple")
        contains(t["reason"], "QEMU reset")
        contains(t["reason"], "triple fault")
        eq(t["exit_status"], 0)
        case("triple_expected")
        t, text = case("triple_not_reboot")
        contains(t["reason"], "not by a reboot")

    def test_verdict_flood(self):
        t, text = case("flood")
        eq(t["reason"], "output flood: more than 1 MiB of output")
        # Stopped at the flood, well inside the 10 s budget: QEMU CPU time,
        # as the grader's limits count it (wall time varies with load).
        assert t["cpu_seconds"] < 5, t

    def test_verdict_mismatch_shows_expected_line_and_output(self):
        t, text = case("mismatch")
        eq(t["reason"], "expected line 2 not found: `selftest: passed ok` (mismatch.trace:2)")
        contains(text, "last matched: expected line 1 `TEST selftest_pass: start`")
        matches(text, r"\d+\| selftest: passing")
        contains(text, "closest line")

    def test_verdict_forbidden_line(self):
        t, text = case("forbidden")
        matches(t["reason"], r"^forbidden line at output line \d+: `selftest: passing`$")
        contains(text, "`!selftest: pass`")
        case("forbidden_absent")

    def test_verdict_exit_mismatch(self):
        t, _ = case("exit_mismatch")
        eq(t["reason"], "kernel exited with status %d (test passed), expected panic"
           % kernel_facts().STATUS_PASS)

    def test_placeholders_regex_and_memory(self):
        case("placeholders")
        case("mem16")

    def test_monitor_driven_by_sends(self):
        case("monitor")
        case("prompt")
        case("iso")

    def test_bindings_against_kernel_output(self):
        case("bindings")
        t, text = case("bindings_mismatch")
        # the monitor sits at its prompt, halted: the grader stops at once
        contains(t["reason"], "sits at its prompt `K>` waiting for input")
        contains(t["reason"], "sends nothing more before: `[memmap] 0x0000000000100000-{=END} "
                 "available` (expected line 3, bindings_mismatch.trace:5)")
        assert t["seconds"] < 5, t
        contains(text, "closest line")
        contains(text, "[memmap] 0x0000000000100000-0x0000000007fdffff available")

    def test_unknown_test_name(self):
        t, text = case("unknown")
        contains(t["reason"], "kernel has no test `no_such_selftest`")
        contains(t["reason"], "selftest_pass")
        case("unknown_expected")

    def test_qemu_error_is_a_setup_error(self):
        """qemu_args QEMU refuses are the instructor's error, found before
        any test runs (it used to be the test's FAIL, Score 0/1)."""
        labs = case_labs(["pass", "qemu_error"])
        js = os.path.join(WORK, "qemu-error.json")
        run = grade("--labs-dir", labs, "--no-build", "--json", js)
        eq(run.rc, 2, run.text)
        contains(run.out, "SETUP ERROR: %s: tests[1] (qemu_error): QEMU cannot start this test's "
                 "machine (memory 128M, cpus 1, qemu_args [\"-no-such-option\"]): QEMU exited with "
                 "status 1: " % os.path.join(labs, "lab1-selftest", "lab.json"))
        contains(run.out, "-no-such-option: invalid option")
        not_contains(run.out, "Score")
        not_contains(run.out, "lab1 pass:")
        with open(js) as f:
            data = json.load(f)
        contains(data["setup_error"], "-no-such-option: invalid option")
        eq([t["name"] for t in data["not_run"]], ["pass", "qemu_error"])
        eq(data["tests"], [])

    def test_logs_written_per_run_with_latest_link(self):
        run, tests = main_run()
        latest = os.path.join(_MAIN["out"], "latest")
        assert os.path.islink(latest), "no latest symlink"
        target = os.path.realpath(latest)
        eq(os.path.dirname(target), os.path.realpath(_MAIN["out"]))
        assert os.path.basename(target).startswith("run-%d-" % 0) or os.path.basename(target).startswith("run-"), target
        eq(os.path.realpath(tests["pass"]["log"]), os.path.join(target, "lab1-pass.log"))
        with open(os.path.join(latest, "lab1-pass.log"), encoding="utf-8", errors="replace") as f:
            log = f.read()
        contains(log, "TEST selftest_pass: PASS")
        contains(log, "----- strata grader: lab1/pass -----")
        lines = log.splitlines()
        contains(lines[0], "Strata", "the log starts with the serial output (line 1 = output line 1)")
        contains(run.out, "log: ")
        eq(sorted(os.listdir(latest)), sorted("lab1-%s.log" % n for n in CASES))


# ---------------------------------------------------------------- other runs


class OtherRuns(unittest.TestCase):
    def test_verbose_prints_serial_log(self):
        labs = case_labs(["pass"])
        run = grade("--labs-dir", labs, "--no-build", "--out", os.path.join(WORK, "out-v"), "-v")
        eq(run.rc, 0, run.text)
        matches(run.out, r"^lab1 pass: OK")
        matches(run.out, r"\d+\| TEST selftest_pass: PASS")
        eq(run.out.rstrip().splitlines()[-1], "Score: 10/10")

    def test_list_and_selection(self):
        labs = case_labs()
        run = grade("--labs-dir", labs, "--list")
        eq(run.rc, 0, run.text)
        contains(run.out, "lab1 grader selftest")
        matches(run.out, r"^\s+hang\s+1 pts\s+timeout 2s")
        matches(run.out, r"^\s+iso\s+1 pts.*boot=iso")
        run = grade("--labs-dir", labs, "--no-build", "--test", "lab1/pass", "--test", "fail_expected",
                    "--out", os.path.join(WORK, "out-sel"))
        eq(run.rc, 0, run.text)
        eq([l.split(":")[0] for l in run.out.splitlines() if l.startswith("lab1")],
           ["lab1 pass", "lab1 fail_expected"])
        contains(run.out, "Score: 11/11")
        for args, msg in ((["--test", "nosuch"], "no test 'nosuch'"), (["--lab", "2"], "no lab 2")):
            run = grade("--labs-dir", labs, "--no-build", *args)
            eq(run.rc, 2, run.text)
            contains(run.out, "SETUP ERROR")
            contains(run.out, msg)
            not_contains(run.out, "Score")

    def test_sigint_and_sigterm_kill_qemu(self):
        labs = case_labs(["hang", "pass"])
        # make the hang long so it is surely running when the signal comes
        with open(os.path.join(labs, "lab1-selftest", "lab.json")) as f:
            decl = json.load(f)
        for t in decl["tests"]:
            if t["name"] == "hang":
                t["timeout"] = 60
        with open(os.path.join(labs, "lab1-selftest", "lab.json"), "w") as f:
            json.dump(decl, f)
        ensure_built()
        for sig, rc in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
            tmp = new_tmp()
            p = subprocess.Popen(grader_cmd("--labs-dir", labs, "--no-build", "-j", "2",
                                            "--out", os.path.join(WORK, "out-sig")),
                                 env=grader_env(tmp), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                deadline = time.monotonic() + 20
                while not survivors(tmp) and time.monotonic() < deadline and p.poll() is None:
                    time.sleep(0.02)
                assert survivors(tmp), "QEMU never started"
                time.sleep(0.3)
                p.send_signal(sig)
                out, err = p.communicate(timeout=20)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            text = (out + err).decode("utf-8", "replace")
            eq(p.returncode, rc, "grader exit status after %s\n%s" % (sig.name, text))
            contains(text, "interrupted")
            left = survivors(tmp)
            eq(left, [], "QEMU processes left after %s" % sig.name)

    def test_two_graders_at_once(self):
        labs = case_labs(["pass", "monitor", "fail_expected"])
        out = os.path.join(WORK, "out-two")
        procs = []
        for i in range(2):
            tmp = new_tmp()
            js = os.path.join(WORK, "two-%d.json" % i)
            procs.append((subprocess.Popen(grader_cmd("--labs-dir", labs, "--out", out, "--json", js),
                                           env=grader_env(tmp), stdin=subprocess.DEVNULL,
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE), tmp, js))
        dirs = set()
        for p, tmp, js in procs:
            o, e = p.communicate(timeout=120)
            text = (o + e).decode("utf-8", "replace")
            eq(p.returncode, 0, "concurrent grader\n" + text)
            contains(text, "Score: 12/12")
            eq(survivors(tmp), [])
            with open(js) as f:
                dirs.add(json.load(f)["log_dir"])
        eq(len(dirs), 2, "each grader has its own log folder")
        for d in dirs:
            eq(len(os.listdir(d)), 3)
        assert os.path.realpath(os.path.join(out, "latest")) in {os.path.realpath(d) for d in dirs}

    def test_missing_qemu_is_setup_error(self):
        labs = case_labs(["pass"])
        js = os.path.join(WORK, "noqemu.json")
        run = grade("--labs-dir", labs, "--no-build", "--qemu", "/nonexistent/qemu-system-i386", "--json", js)
        eq(run.rc, 2, run.text)
        contains(run.out, "SETUP ERROR")
        contains(run.out, "qemu-system-x86")
        not_contains(run.out, "Score")
        with open(js) as f:
            contains(json.load(f)["setup_error"], "QEMU not found")
        # QEMU not on PATH at all
        empty = os.path.join(WORK, "emptybin")
        os.makedirs(empty, exist_ok=True)
        tmp = new_tmp()
        run = grade("--labs-dir", labs, "--no-build", env=grader_env(tmp, PATH=empty))
        eq(run.rc, 2, run.text)
        contains(run.out, "SETUP ERROR")
        contains(run.out, "apt-get install qemu-system-x86")
        # QEMU present but broken
        fake = os.path.join(WORK, "broken-qemu")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\necho 'error while loading shared libraries' >&2\nexit 127\n")
        os.chmod(fake, 0o755)
        run = grade("--labs-dir", labs, "--no-build", "--qemu", fake)
        eq(run.rc, 2, run.text)
        contains(run.out, "SETUP ERROR")
        contains(run.out, "shared libraries")

    def test_build_failure_is_setup_error(self):
        repo = os.path.join(WORK, "badrepo")
        os.makedirs(os.path.join(repo, "labs"), exist_ok=True)
        with open(os.path.join(repo, "Makefile"), "w") as f:
            f.write("kernel:\n\t@echo 'src/kernel/main.c:12:5: error: expected ; before }' >&2; exit 1\n")
        labs = case_labs(["pass"])
        tmp = new_tmp()
        p = subprocess.run([sys.executable, GRADE, "-C", repo, "--labs-dir", labs],
                           env=grader_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=60)
        out = p.stdout.decode()
        eq(p.returncode, 2, out + p.stderr.decode())
        contains(out, "SETUP ERROR: build failed")
        contains(out, "main.c:12:5: error: expected ; before }")
        not_contains(out, "Score")

    def test_bad_declarations_are_setup_errors(self):
        for decl, trace, msg in (
                ({"name": "a", "points": 1, "cmdline": "test=selftest_pass", "trace": "a.trace", "timout": 3},
                 "x\n", "unknown key"),
                ({"name": "a", "points": 1, "cmdline": "test=selftest_pass", "trace": "a.trace"},
                 "ok\n{nope}\n", "a.trace:2"),
                ({"name": "a", "points": 1, "cmdline": "test=selftest_pass", "trace": "missing.trace"},
                 "x\n", "cannot read trace")):
            labs = write_labs([decl], {"a.trace": trace})
            run = grade("--labs-dir", labs, "--no-build")
            eq(run.rc, 2, run.text)
            contains(run.out, "SETUP ERROR")
            contains(run.out, msg)

    def test_prebuilt_kernel_option(self):
        labs = case_labs(["pass"])
        kernel = os.path.join(REPO, "build", "kernel.elf")
        ensure_built()
        run = grade("--labs-dir", labs, "--kernel", kernel, "--out", os.path.join(WORK, "out-k"))
        eq(run.rc, 0, run.text)
        not_contains(run.err, "building")
        run = grade("--labs-dir", labs, "--kernel", "/nonexistent/kernel.elf")
        eq(run.rc, 2, run.text)
        contains(run.out, "SETUP ERROR")
        contains(run.out, "/nonexistent/kernel.elf not found")

    def test_make_grade_passes_qemu_on(self):
        """make grade QEMU=X grades with X (it used to ignore QEMU=)."""
        tmp = new_tmp()
        p = subprocess.run(["make", "-s", "--no-print-directory", "grade",
                            "QEMU=/nonexistent/qemu-from-make", "GRADEFLAGS=--lab 1 --no-build"],
                           cwd=REPO, env=grader_env(tmp), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        text = p.stdout.decode("utf-8", "replace")
        eq(p.returncode, 2, text)
        contains(text, "SETUP ERROR: QEMU not found: '/nonexistent/qemu-from-make'")

    def test_missing_facts_is_setup_error(self):
        """Without the kernel's facts (build/strata_facts.py: exit statuses)
        nothing can be judged: with --no-build that is a SETUP ERROR that
        says how to make them."""
        labs = case_labs(["pass"])
        ensure_built()
        repo = os.path.join(WORK, "nofacts")
        os.makedirs(os.path.join(repo, "build"))
        kernel = os.path.join(repo, "build", "kernel.elf")
        shutil.copyfile(os.path.join(REPO, "build", "kernel.elf"), kernel)
        run = grade("-C", repo, "--labs-dir", labs, "--kernel", kernel, "--no-build")
        eq(run.rc, 2, run.text)
        contains(run.out, "SETUP ERROR: %s is missing" % os.path.join(repo, "build",
                                                                     "strata_facts.py"))
        contains(run.out, "make facts")


# ---------------------------------------------------------------- fake QEMU


FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_qemu.py")


def fake_qemu_path():
    """fake_qemu.py behind a wrapper whose path contains 'qemu' and which
    runs it with this Python."""
    path = os.path.join(WORK, "fake-qemu-system-i386")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write("#!/bin/sh\nexec '%s' '%s' \"$@\"\n" % (sys.executable, FAKE))
        os.chmod(path, 0o755)
    return path


class FakeQemu(unittest.TestCase):
    def test_fake_qemu_runner_behaviour(self):
        labs = write_labs([
            {"name": "noexit", "points": 1, "cmdline": "test=noexit", "trace": "noexit.trace"},
            {"name": "child", "points": 1, "cmdline": "test=child", "trace": "child.trace", "timeout": 1},
            {"name": "echo", "points": 1, "cmdline": "test=echo", "trace": "echo.trace"},
        ], {"noexit.trace": "TEST noexit: PASS\n",
            "child.trace": "child started\nnever\n",
            "echo.trace": "fake qemu: echo\n> hello {{x}}\ngot 'hello {{x}}\\r'\n> quit\n"})
        kernel = os.path.join(WORK, "fake-kernel.elf")	# an i386 ELF, as --kernel wants
        ensure_built()
        shutil.copyfile(os.path.join(REPO, "build", "kernel.elf"), kernel)
        js = os.path.join(WORK, "fake.json")
        # grade() asserts that nothing with the run's TMPDIR in its command
        # line survives: this covers the child QEMU left behind.
        run = grade("--labs-dir", labs, "--qemu", fake_qemu_path(), "--kernel", kernel,
                    "--out", os.path.join(WORK, "out-fake"), "--json", js)
        with open(js) as f:
            t = {x["name"]: x for x in json.load(f)["tests"]}
        eq(sorted(t), ["child", "echo", "noexit"], run.text)
        eq(t["noexit"]["verdict"], "FAIL", run.text)
        contains(t["noexit"]["reason"], "kernel printed `TEST noexit: PASS` (line 2) but QEMU did not exit")
        assert t["noexit"]["seconds"] < 5, t["noexit"]
        eq(t["child"]["verdict"], "TIMEOUT", run.text)
        eq(t["echo"]["verdict"], "OK", run.text + json.dumps(t["echo"]))

    def test_lab_file_sets_default_selection(self):
        repo = os.path.join(WORK, "labrepo")
        labs = os.path.join(repo, "labs")
        for n in (1, 2, 3):
            os.makedirs(os.path.join(labs, "lab%d-l%d" % (n, n)))
            with open(os.path.join(labs, "lab%d-l%d" % (n, n), "lab.json"), "w") as f:
                json.dump({"lab": n, "title": "l%d" % n, "tests": [
                    {"name": "t%d" % n, "points": n, "cmdline": "test=selftest_pass", "trace": "t.trace"}]}, f)
            with open(os.path.join(labs, "lab%d-l%d" % (n, n), "t.trace"), "w") as f:
                f.write("TEST selftest_pass: PASS\n")
        with open(os.path.join(repo, "LAB"), "w") as f:
            f.write("2\n")
        def listed(*args):
            tmp = new_tmp()
            p = subprocess.run([sys.executable, GRADE, "-C", repo, "--list"] + list(args),
                               env=grader_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, timeout=60)
            eq(p.returncode, 0, p.stdout.decode())
            return [l.split()[0] for l in p.stdout.decode().splitlines() if l.startswith("  ")]
        eq(listed(), ["t1", "t2"])
        eq(listed("--lab", "3"), ["t3"])
        eq(listed("--upto", "1"), ["t1"])
        eq(listed("--test", "t3"), ["t3"])
        ensure_built()
        tmp = new_tmp()
        p = subprocess.run([sys.executable, GRADE, "-C", repo, "--kernel",
                            os.path.join(REPO, "build", "kernel.elf"), "-j", "1"],
                           env=grader_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=60)
        text = p.stdout.decode()
        eq(p.returncode, 0, text)
        contains(text, "lab2 t2: OK")
        not_contains(text, "lab3")
        contains(text, "Score: 3/3")
        assert os.path.islink(os.path.join(repo, "build", "grade", "latest")), "default log folder"


# ---------------------------------------------------------------- host tests


PRISTINE_FMT = r'''#include <check.h>
#include <stdlib.h>
#include "lib/fmt.h"
START_TEST(test_pristine_marker)
{
	ck_assert_msg(0, "the pristine copy's test ran");
}
END_TEST
int main(void)
{
	Suite *s = suite_create("pristine");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_pristine_marker);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
'''


class HostTestRuns(unittest.TestCase):
    def test_host_test_graded_from_the_labs_dirs_tests(self):
        """A host test is graded with the repository's code and the test source
        of the tests/ folder beside --labs-dir: here a pristine copy whose
        test_fmt.c fails on purpose, so its message must be the reason."""
        base = os.path.join(WORK, "pristine-" + uuid.uuid4().hex[:8])
        os.makedirs(os.path.join(base, "labs", "lab1-selftest"))
        os.makedirs(os.path.join(base, "tests"))
        with open(os.path.join(base, "labs", "lab1-selftest", "lab.json"), "w") as f:
            json.dump({"lab": 1, "tests": [{"name": "host_fmt", "points": 3, "host": "fmt"}]}, f)
        with open(os.path.join(base, "tests", "test_fmt.c"), "w") as f:
            f.write(PRISTINE_FMT)
        out = os.path.join(WORK, "host-%s.json" % uuid.uuid4().hex[:8])
        run = grade("--labs-dir", os.path.join(base, "labs"), "--json", out)
        eq(run.rc, 1, run.out + run.err)
        contains(run.out, "lab1 host_fmt: FAIL")
        contains(run.out, "test_pristine_marker: the pristine copy's test ran (tests/test_fmt.c:")
        with open(out) as f:
            t = json.load(f)["tests"][0]
        eq((t["verdict"], t["kind"], t["score"], t["points"]), ("FAIL", "host", 0, 3))
        with open(t["log"]) as f:
            contains(f.read(), "host test: tests/test_fmt.c")
        # The repository's own test_fmt.c passes.
        run = grade("--test", "lab1/host_fmt")
        eq(run.rc, 0, run.out + run.err)
        contains(run.out, "lab1 host_fmt: OK")
