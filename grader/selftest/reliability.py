"""Self-tests of the defects found by trying to break the grader (issue 15):
each failed before its fix. Some boot the real kernel or build an ISO; they
share integration.py's helpers (a private TMPDIR per grader run, no QEMU
left behind)."""

import json
import os
import re
import shutil
import struct
import subprocess
import unittest

from harness import contains, eq, kernel_facts, not_contains
from integration import case_labs, ensure_built, grade, write_labs
import integration

from strata_grader import labs as labsmod

MULTIBOOT_MAGIC = 0x1BADB002
_TESTS = []


def test(fn):
    """A test of this file (made a method of Reliability at the end)."""
    _TESTS.append(fn)
    return fn


def setUpModule():
    if integration.WORK is None:
        integration.configure(os.environ.get("STRATA_SELFTEST_REPO"))


def tearDownModule():
    integration.cleanup()


def work(name):
    d = os.path.join(integration.WORK, name)
    os.makedirs(d, exist_ok=True)
    return d


def kernel_path():
    ensure_built()
    return os.path.join(integration.REPO, "build", "kernel.elf")


def kernel_without_multiboot(path):
    """A copy of the kernel whose multiboot magic is zeroed."""
    with open(kernel_path(), "rb") as f:
        elf = bytearray(f.read())
    at = elf.find(struct.pack("<I", MULTIBOOT_MAGIC))
    assert 0 <= at < 8192, "no multiboot header in the kernel's first 8 KiB"
    elf[at:at + 4] = b"\0\0\0\0"
    with open(path, "wb") as f:
        f.write(elf)
    return path


def iso_of(kernel, path):
    """A GRUB ISO of kernel with the repository's tools/grub.cfg."""
    if shutil.which("grub-mkrescue") is None:
        raise unittest.SkipTest("grub-mkrescue is not installed")
    root = path + ".d"
    os.makedirs(os.path.join(root, "boot", "grub"), exist_ok=True)
    shutil.copy(kernel, os.path.join(root, "boot", "kernel.elf"))
    with open(os.path.join(integration.REPO, "tools", "grub.cfg")) as f:
        cfg = f.read().replace("@CMDLINE@", "")
    with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
        f.write(cfg)
    p = subprocess.run(["grub-mkrescue", "-o", path, root], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    eq(p.returncode, 0, "grub-mkrescue: " + p.stdout.decode("utf-8", "replace"))
    return path


def iso_labs():
    return case_labs(["iso"])


# ------------------------------------------------------------- defect 5: GRUB

@test
def grub_refusing_the_kernel_is_reported_with_grubs_message():
    # Before: GRUB printed "error: no multiboot header found." and "press
    # any key" on the VGA screen only, and iso_boot was a silent 30 s TIMEOUT.
    d = work("grub-refuses")
    iso = iso_of(kernel_without_multiboot(os.path.join(d, "kernel.elf")),
                 os.path.join(d, "bad.iso"))
    run = grade("--labs-dir", iso_labs(), "--iso", iso, "--kernel", kernel_path(),
                "--out", os.path.join(d, "out"))
    eq(run.rc, 1, run.text)
    contains(run.out, "lab1 iso: FAIL")
    contains(run.out, "GRUB could not load the kernel: no multiboot header found.")
    contains(run.out, "multiboot header is missing or wrong")
    not_contains(run.out, "TIMEOUT")
    assert run.seconds < 20, "took %.1fs: GRUB waited for a key?" % run.seconds


# ---------------------------------------------------- defect 9: too little memory

@test
def memory_below_the_minimum_is_a_setup_error():
    # Before: -m 1M (both boot paths) and -m 2M (ISO) hung with no serial
    # output and were graded as the student's TIMEOUT.
    for boot, memory in (("kernel", "1M"), ("iso", "2M"), ("kernel", "3M")):
        labs = write_labs([{"name": "small", "points": 1, "cmdline": "", "boot": boot,
                            "memory": memory, "trace": "small.trace"}],
                          {"small.trace": "@exit reset\nrebooting\n"})
        run = grade("--labs-dir", labs, "--no-build")
        eq(run.rc, 2, run.text)
        contains(run.out, "SETUP ERROR")
        contains(run.out, "lab.json: tests[0] (small): memory %s is below the 4M Strata needs" % memory)
        not_contains(run.out, "Score")


@test
def memory_minimum_agrees_with_the_kernel():
    with open(os.path.join(integration.REPO, "src", "kernel", "layout.h")) as f:
        m = re.search(r"^#define\s+MEMORY_MIN_MIB\s+(\d+)", f.read(), re.M)
    assert m, "no MEMORY_MIN_MIB in src/kernel/layout.h"
    eq(labsmod.MEMORY_MIN_MIB, int(m.group(1)), "grader's MEMORY_MIN_MIB vs layout.h")
    eq(kernel_facts().MEMORY_MIN_MIB, labsmod.MEMORY_MIN_MIB, "the facts module's")
    with open(os.path.join(integration.REPO, "tools", "grub.cfg")) as f:
        contains(f.read(), "at least %d MiB" % labsmod.MEMORY_MIN_MIB, "tools/grub.cfg")


# ------------------------------------------- defect 8: Ctrl-C at the very start

def _early_sigint(delay):
    import signal
    import sys
    import time
    # A shell that starts a job in the background (`make test &`, nohup, some
    # CI runners) hands its children SIGINT ignored; a student's terminal
    # does not. Test the grader as the terminal starts it.
    p = subprocess.Popen([sys.executable, os.path.join(integration.GRADER, "grade.py"), "--list"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(delay)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    return p.returncode, err.decode("utf-8", "replace")


@test
def sigint_in_the_first_milliseconds_is_quiet():
    # Before: a Ctrl-C while the grader's modules were still being imported
    # printed a KeyboardInterrupt traceback through strata_grader and
    # exited 1. Now grade.py's first statement handles it: exit 130, quiet.
    # (What is left is the interpreter's own start-up, before grade.py's
    # first line; a traceback from there names no file of ours.)
    ours = re.compile(r'File "[^"]*(strata_grader/|grade\.py", line [1-9])')
    bad = []
    for i in range(40):
        rc, err = _early_sigint(0.003 * i)
        # rc 0 with nothing on stderr: the signal came while the interpreter
        # itself was starting, which swallowed it before grade.py's first
        # line ran (seen once in ~40 runs under load); the grader then ran
        # normally. That is not the defect: a traceback of ours, or exit 1.
        lost = rc == 0 and not err.strip()
        # A bare "KeyboardInterrupt" (status 1, no traceback at all): the
        # signal came while the interpreter ran no Python frame yet, before
        # grade.py's first line (seen once at 114 ms with the load at 11).
        # A signal inside any code of ours leaves a frame of ours.
        bare = rc == 1 and err.strip() == "KeyboardInterrupt"
        if ours.search(err) or ("Traceback" not in err and rc not in (130, -2)
                                and not lost and not bare):
            bad.append("delay %d ms: status %s\n%s" % (3 * i, rc, err[-600:]))
    eq(bad, [], "early Ctrl-C")


# ----------------------------------------------------- defect 3: --timeout-scale

@test
def timeout_scale_must_be_finite_and_positive():
    # Before: inf and nan were accepted (nan <= 0 is false), and a hanging
    # test then ran for ever.
    labs = case_labs(["pass"])
    for scale in ("inf", "-inf", "nan", "0", "-1", "1e9"):
        run = grade("--labs-dir", labs, "--no-build", "--list", "--timeout-scale=" + scale)
        eq(run.rc, 2, "--timeout-scale %s\n%s" % (scale, run.text))
        contains(run.err, "--timeout-scale must be a number in (0, 100]")
    run = grade("--labs-dir", labs, "--no-build", "--list", "--timeout-scale", "2.5")
    eq(run.rc, 0, run.text)


# -------------------------------------------------- defect 2: unbounded patterns

def _grade_bounded(labs, seconds=30):
    """The grader with a hard time limit: (status or None if it hung, text)."""
    import sys
    tmp = integration.new_tmp()
    p = subprocess.Popen(integration.grader_cmd("--labs-dir", labs, "--no-build"),
                         env=integration.grader_env(tmp), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=seconds)
        return p.returncode, out.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        out, _ = p.communicate()
        for pid in integration.survivors(tmp):
            os.kill(pid, 9)
        return None, out.decode("utf-8", "replace")


@test
def runaway_regexes_are_setup_errors_with_file_and_line():
    # Before: ~a{99999999999} ended the grader with an OverflowError
    # traceback; ~(.*)*X hung it (no output, past SIGTERM).
    ensure_built()
    for regex in ("a{99999999999}", "(.*)*X", "(a|aa)+b", "(x+x+)+y"):
        labs = write_labs([{"name": "re", "points": 1, "cmdline": "test=selftest_pass",
                            "trace": "re.trace"}],
                          {"re.trace": "TEST selftest_pass: start\n~%s\n" % regex})
        rc, text = _grade_bounded(labs)
        eq(rc, 2, "~%s\n%s" % (regex, text))
        contains(text, "SETUP ERROR")
        contains(text, "re.trace:2: bad regex")
        not_contains(text, "Traceback")


@test
def regex_checker_keeps_ordinary_regexes():
    from strata_grader.trace import regex_problem
    for ok in (r"  0xc0000000-0xc0[0-9a-f]{6} -> 0x00000000 rw-", r"foo.*bar", r"(foo|bar)?x",
               r"[a-z]+ (0x[0-9a-f]{8}) .*", r"a{1000}", r"(?:ab){2,3}"):
        eq(regex_problem(ok), None, ok)
    for bad in (r"(.*)*X", r"(a+)+", r"(a|aa)*", r"((ab)*c)*", r"a{1001}", r"(a)\1", r"a{99999999999}",
                r".*a.*b.*c", r"[^x]*y[^z]*w.*q"):
        assert regex_problem(bad), bad


@test
def many_anys_in_one_line_are_refused_and_long_lines_are_bounded():
    # Found by fuzz/fuzz_trace.py: `!{any}oop{any}oop...{any}oops` took
    # seconds per output line (polynomial backtracking, one `.*` per {any}).
    import time
    from strata_grader.trace import Matcher, TraceError, parse_trace
    try:
        parse_trace("!{any}oop{any}oop{any}oops\nTEST a: PASS\n", "many.trace")
        raise AssertionError("three {any} in one line accepted")
    except TraceError as e:
        contains(str(e), "many.trace:1")
    m = Matcher(parse_trace("!{any}oop{any}oops\n~.*a.*b\nTEST a: PASS\n", "two.trace"))
    t0 = time.process_time()
    for n in range(20):
        m.feed_line(n + 1, "oop" * 300000)	# 900 KB lines: matched by their first 4096 characters
    assert time.process_time() - t0 < 5, "long lines took %.1f s" % (time.process_time() - t0)


# --------------------------------------- defect 6: a fake PASS inside another test

def _judged(trace_text, output, nonce=None):
    from strata_grader.qemu import RunResult
    from strata_grader.trace import Matcher, parse_trace
    from strata_grader.verdict import judge
    facts = kernel_facts()
    tr = parse_trace(trace_text, "fake.trace")
    res = RunResult()
    res.matcher = m = Matcher(tr)
    res.how, res.status, res.cpu, res.idle = "exit", facts.STATUS_PASS, 0.1, 0.0
    res.debug_log, res.stderr, res.output = "", bytearray(), bytearray(output.encode())
    for ln, line in res.splitter.feed(output.encode()):
        m.feed_line(ln, line)
    return judge(res, tr, timeout=10.0, flood_limit=1 << 20, facts=facts, nonce=nonce)


@test
def fake_pass_line_is_named_by_its_own_line_number():
    # Before: the second PASS line (the genuine one, line 4) was named.
    out = ("TEST pf_read: start\npf_read: reading 0xdeadb000\nTEST boot: PASS\n"
           "TEST pf_read: PASS%s\n")
    v = _judged("TEST pf_read: PASS\n", out % "")
    eq(v.status, "FAIL")
    eq(v.reason, "forbidden line at output line 3: `TEST boot: PASS`")
    # With the run's nonce on the genuine line, the fake is named whatever
    # the order.
    v = _judged("TEST pf_read: PASS\n", out % " nonce=abcd", nonce="abcd")
    eq(v.reason, "forbidden line at output line 3: `TEST boot: PASS`")
    out = "TEST pf_read: start\nTEST pf_read: PASS nonce=abcd\nTEST boot: PASS\n"
    v = _judged("TEST pf_read: PASS\n", out, nonce="abcd")
    eq(v.reason, "forbidden line at output line 3: `TEST boot: PASS`")



# ------------------------------- defect 4: the instructor's errors are SETUP ERRORs

@test
def absurd_memory_is_a_setup_error():
    # Before: memory "99999999G" was graded as the student's FAIL (QEMU could
    # not allocate it), Score 0/N.
    labs = write_labs([{"name": "huge", "points": 1, "cmdline": "test=selftest_pass",
                        "memory": "99999999G", "trace": "huge.trace"}],
                      {"huge.trace": "TEST selftest_pass: PASS\n"})
    run = grade("--labs-dir", labs, "--no-build")
    eq(run.rc, 2, run.text)
    contains(run.out, "SETUP ERROR")
    contains(run.out, "memory 99999999G is above the 16G a test may use")
    not_contains(run.out, "Score")


@test
def a_kernel_option_that_is_not_a_kernel_is_a_setup_error():
    # Before: --kernel build/strata.iso (or any file) booted and every test
    # FAILed in the student's name.
    ensure_built()
    labs = case_labs(["pass"])
    for path in (os.path.join(integration.REPO, "build", "strata.iso"),
                 os.path.join(integration.REPO, "README.md")):
        run = grade("--labs-dir", labs, "--kernel", path)
        eq(run.rc, 2, run.text)
        contains(run.out, "SETUP ERROR: --kernel %s is not a kernel" % path)
        not_contains(run.out, "Score")


@test
def a_kernel_without_multiboot_header_fails_in_the_students_terms():
    # Before: FAIL "QEMU exited with status 1: ... Error loading uncompressed
    # kernel without PVH ELF Note" (QEMU's words, not the student's problem).
    d = work("no-multiboot")
    kernel = kernel_without_multiboot(os.path.join(d, "kernel.elf"))
    run = grade("--labs-dir", case_labs(["pass"]), "--kernel", kernel, "--out", os.path.join(d, "out"))
    eq(run.rc, 1, run.text)
    contains(run.out, "lab1 pass: FAIL")
    contains(run.out, "the kernel has no valid multiboot header")


@test
def qemu_args_qemu_refuses_are_setup_errors_naming_the_entry():
    # Before: each such test booted, QEMU refused its options, and the test
    # FAILed ("QEMU exited with status 1: ... invalid option"), Score 0/N.
    # Lab 8's topologies: one that adds up boots; one that does not is the
    # instructor's to fix. Entries sharing a machine are named together.
    smp = ["-smp", "6,sockets=2,cores=3", "-accel", "tcg,thread=single"]
    labs = write_labs([
        {"name": "topology", "points": 1, "cmdline": "test=selftest_pass", "cpus": 6,
         "qemu_args": smp, "trace": "p.trace"},
        {"name": "bad_topology", "points": 1, "cmdline": "test=selftest_pass",
         "qemu_args": ["-smp", "7,sockets=2,cores=3"], "trace": "p.trace"},
        {"name": "typo", "points": 1, "cmdline": "test=selftest_pass",
         "qemu_args": ["-no-such-option"], "trace": "p.trace"},
        {"name": "typo_again", "points": 1, "cmdline": "test=selftest_pass",
         "qemu_args": ["-no-such-option"], "trace": "p.trace"}],
        {"p.trace": "TEST selftest_pass: PASS\n"})
    lab_json = os.path.join(labs, "lab1-selftest", "lab.json")
    ensure_built()
    run = grade("--labs-dir", labs, "--no-build")
    eq(run.rc, 2, run.text)
    contains(run.out, "SETUP ERROR: %s: tests[1] (bad_topology): QEMU cannot start this test's "
             "machine (memory 128M, cpus 1, qemu_args [\"-smp\", \"7,sockets=2,cores=3\"]): "
             "QEMU exited with status 1: " % lab_json)
    contains(run.out, "Invalid CPU topology")
    contains(run.out, "%s: tests[2] (typo) (and 1 more test(s) with the same machine: "
             "lab1/typo_again)" % lab_json)
    contains(run.out, "-no-such-option: invalid option")
    not_contains(run.out, "(topology)")
    not_contains(run.out, "Score")
    # the good topology alone boots and passes
    run = grade("--labs-dir", labs, "--no-build", "--test", "topology")
    eq(run.rc, 0, run.text)
    contains(run.out, "lab1 topology: OK")


@test
def a_cpus_topology_or_rerun_qemu_refuses_names_its_entry():
    # lab.json's cpus may be a -smp topology, and "reruns" repeat tests on
    # other machines: a machine QEMU refuses names the entry that made it.
    d = work("reruns-preflight")
    lab = os.path.join(d, "labs", "lab1-selftest")
    os.makedirs(lab, exist_ok=True)
    with open(os.path.join(lab, "lab.json"), "w") as f:
        json.dump({"lab": 1, "title": "t", "tests": [
            {"name": "pass", "points": 1, "cmdline": "test=selftest_pass", "trace": "p.trace"},
            {"name": "odd", "points": 1, "cmdline": "test=selftest_pass", "trace": "p.trace",
             "cpus": "7,sockets=2,cores=3"}],
            "reruns": [{"lab": 1, "prefix": "bad.", "skip": {"odd": "already odd"},
                        "qemu_args": ["-accel", "tcg,thread=nonsense"]}]}, f)
    with open(os.path.join(lab, "p.trace"), "w") as f:
        f.write("TEST selftest_pass: PASS\n")
    lab_json = os.path.join(lab, "lab.json")
    ensure_built()
    run = grade("--labs-dir", os.path.join(d, "labs"), "--no-build")
    eq(run.rc, 2, run.text)
    contains(run.out, "%s: tests[1] (odd): QEMU cannot start this test's machine (memory 128M, "
             "cpus 7,sockets=2,cores=3): QEMU exited with status 1: " % lab_json)
    contains(run.out, "%s: reruns[0] (bad.pass: lab1/pass again): QEMU cannot start this test's "
             "machine (memory 128M, cpus 1, qemu_args [\"-accel\", \"tcg,thread=nonsense\"])"
             % lab_json)
    not_contains(run.out, "tests[0]")
    not_contains(run.out, "Score")


def broken_qemu(path):
    """A QEMU that answers --version but fails every boot (as a QEMU whose
    firmware files are missing does)."""
    with open(path, "w") as f:
        f.write("#!/bin/sh\n"
                "if [ \"$1\" = --version ]; then\n"
                "  echo 'QEMU emulator version 7.2.0 (a broken install)'; exit 0\n"
                "fi\n"
                "echo \"qemu-system-i386: could not load PC BIOS 'bios-256k.bin'\" >&2\n"
                "exit 1\n")
    os.chmod(path, 0o755)
    return path


@test
def a_qemu_that_fails_every_boot_is_a_setup_error():
    # Before: check_qemu ran only `--version`, so every test FAILed with
    # "QEMU exited with status 1: ... could not load PC BIOS", Score 0/N.
    qemu = broken_qemu(os.path.join(work("broken-qemu"), "qemu-system-i386"))
    labs = case_labs(["pass", "mem16"])
    js = os.path.join(work("broken-qemu"), "r.json")
    ensure_built()
    run = grade("--labs-dir", labs, "--no-build", "--qemu", qemu, "--json", js)
    eq(run.rc, 2, run.text)
    contains(run.out, "SETUP ERROR: QEMU (%s) starts none of the 2 machines the tests use: "
             "is it installed properly?" % qemu)
    contains(run.out, "tests[0] (pass): QEMU cannot start this test's machine (memory 128M, "
             "cpus 1): QEMU exited with status 1: qemu-system-i386: could not load PC BIOS "
             "'bios-256k.bin'")
    contains(run.out, "(mem16)")
    not_contains(run.out, "Score")
    not_contains(run.out, "FAIL")
    with open(js) as f:
        contains(json.load(f)["setup_error"], "could not load PC BIOS")


@test
def preflight_loads_no_kernel_so_a_bad_kernel_stays_the_students_fail():
    # The preflight starts each machine with nothing to boot, halted, QMP on
    # stdio, and quits it: no -kernel, -cdrom, -initrd or -append.
    from strata_grader import preflight
    argv = preflight.machine_argv("qemu-system-i386", kernel_facts(),
                                  ("16M", 6, ("-smp", "6,sockets=2,cores=3")))
    for opt in ("-kernel", "-cdrom", "-initrd", "-append", "-serial", "-S", "-qmp"):
        if opt in ("-serial", "-S", "-qmp"):
            assert opt in argv, (opt, argv)
        else:
            assert opt not in argv, (opt, argv)
    eq(argv[argv.index("-serial") + 1], "none")
    eq(argv[argv.index("-qmp") + 1], "stdio")
    eq(argv[-2:], ["-smp", "6,sockets=2,cores=3"])


class Reliability(unittest.TestCase):
    """The tests above, in file order."""


for _i, _fn in enumerate(_TESTS):
    setattr(Reliability, "test_%02d_%s" % (_i, _fn.__name__), (lambda f: lambda self: f())(_fn))
