"""Host unit tests as graded tests: a lab.json test with "host": "NAME" is
the Check program tests/test_NAME.c, linked with the student's sources of
the Makefile's TEST_SRCS_NAME and run on the host.  OK iff every Check test
passes; a FAIL's reason is Check's message of the first failed test.

The test sources come from the tests/ folder beside the labs folder being
graded (`--labs-dir DIR` takes them from DIR/../tests, the pristine copy),
the code under test from the repository.  Each grading run builds its host
tests into its own temporary folder."""

import os
import re
import resource
import shutil
import signal
import subprocess
import time

from .qemu import RunResult
from .setup import SetupError
from .status import Ended, Status
from .verdict import Verdict

# Check's result lines: FILE:LINE:F|E:CASE:TEST:ITER: MESSAGE (CK_VERBOSITY
# verbose also prints :P: lines for the passed ones).
CHECK_LINE = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+):(?P<kind>[PFE]):(?P<case>[^:]*):"
                        r"(?P<test>[^:]+):(?P<iter>\d+): ?(?P<msg>.*)$")
CHECK_SUMMARY = re.compile(r"^\d+%: Checks: (\d+), Failures: (\d+), Errors: (\d+)")


def tests_dir(labs_dir):
    return os.path.normpath(os.path.join(labs_dir, os.pardir, "tests"))


def build_host_tests(registry, root, labs_dir, tmp, names):
    """make the host test programs `names` into TMP/host, with the test
    sources of labs_dir's tests/ folder.  Returns {name: (binary, None)} or
    {name: (None, build output)} for a program that did not build (its test
    FAILs: the student's code does not compile against the tests).  A
    missing Check or make is a SetupError."""
    tdir = tests_dir(labs_dir)
    out = {}
    if not names:
        return out
    if shutil.which("make") is None:
        raise SetupError("make not found — install the Debian package make")
    if shutil.which("pkg-config") is None or subprocess.run(
            ["pkg-config", "--exists", "check"]).returncode != 0:
        raise SetupError("the host tests need Check: install the Debian packages check "
                         "and pkg-config (make deps)")
    hostdir = os.path.join(tmp, "host")
    os.makedirs(hostdir, exist_ok=True)
    for name in names:
        src = os.path.join(tdir, "test_%s.c" % name)
        if not os.path.isfile(src):
            raise SetupError("host test %s: %s not found (with --labs-dir, the pristine "
                             "copy's tests/ folder must be beside its labs folder)" % (name, src))
        binary = os.path.join(hostdir, "test_" + name)
        argv = ["make", "-s", "--no-print-directory", "TESTS_DIR=" + tdir,
                "HOSTBUILD=" + hostdir, binary]
        proc = registry.spawn(argv, cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, gentle=True)
        try:
            text, _ = proc.communicate()
        finally:
            registry.release(proc)
        text = text.decode("utf-8", "replace")
        if proc.returncode != 0 or not os.path.isfile(binary):
            out[name] = (None, text)
        else:
            out[name] = (binary, None)
    return out


def _limit_cpu(seconds):
    def preexec():
        s = max(1, int(seconds + 0.999))
        resource.setrlimit(resource.RLIMIT_CPU, (s, s + 1))
    return preexec


def run_host_test(registry, test, built, timeout):
    """Runs one host test program: (RunResult, Verdict).  `timeout` limits
    the CPU time of the program and of each test it forks; the wall-clock
    safety net is max(60 s, 6 x timeout)."""
    res = RunResult()
    binary, build_out = built
    if binary is None:
        tail = build_out.rstrip().splitlines()[-12:]
        res.how, res.output = Ended.EXIT, bytearray(build_out.encode())
        return res, Verdict(Status.FAIL, "host test test_%s.c does not build against this code"
                            % test.host, tail)
    env = dict(os.environ, CK_FORK="yes", CK_VERBOSITY="verbose", CK_TIMEOUT_MULTIPLIER="3")
    res.argv = [binary]
    start = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = registry.spawn([binary], cwd=os.path.dirname(binary), env=env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, preexec_fn=_limit_cpu(timeout))
    try:
        out, _ = proc.communicate(timeout=max(60.0, 6 * timeout))
        res.how, res.status = Ended.EXIT, proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        res.how = Ended.WALL
    finally:
        registry.release(proc)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    res.wall = time.monotonic() - start
    res.cpu = max(0.0, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime))
    res.output = bytearray(out)
    for line in out.decode("utf-8", "replace").splitlines():
        res.splitter.feed((line + "\n").encode())
    return res, judge_host(res, timeout)


def _where(m):
    """Check's FILE:LINE, with the file as tests/NAME (the pristine folder's
    absolute path says nothing to a student)."""
    return "tests/%s:%s" % (os.path.basename(m.group("file")), m.group("line"))


def judge_host(res, timeout):
    text = bytes(res.output).decode("utf-8", "replace")
    failed, summary = [], None
    for line in text.splitlines():
        m = CHECK_LINE.match(line)
        if m and m.group("kind") in "FE":
            failed.append(m)
        s = CHECK_SUMMARY.match(line)
        if s:
            summary = line
    if res.how == Ended.WALL:
        return Verdict(Status.TIMEOUT, "host test ran past the wall-clock limit (%.0fs)"
                       % max(60.0, 6 * timeout), text.splitlines()[-10:])
    details = ["%s: %s (%s)" % (m.group("test"), m.group("msg"), _where(m)) for m in failed[1:]]
    if summary:
        details.append(summary)
    if failed:
        m = failed[0]
        msg = m.group("msg")
        if m.group("kind") == "E" and ("CPU time" in msg or "signal 24" in msg):
            msg += " (the CPU-time limit of %.0fs: a loop that never ends?)" % timeout
        return Verdict(Status.FAIL, "%s: %s (%s)" % (m.group("test"), msg, _where(m)), details)
    if res.status != 0:
        why = ("killed by signal %d" % -res.status if res.status < 0 else
               "exited with status %d" % res.status)
        if res.status == -signal.SIGXCPU:
            why += " (the CPU-time limit of %.0fs)" % timeout
        return Verdict(Status.FAIL, "host test %s and reported no failed Check test" % why,
                       text.splitlines()[-10:])
    if summary is None:
        return Verdict(Status.FAIL, "host test printed no Check summary", text.splitlines()[-10:])
    return Verdict(Status.OK)
