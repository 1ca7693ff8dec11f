#!/usr/bin/env python3
"""test_gdb.py: the GDB workflow, tested for real against QEMU.

For test=pf_read and test=pf_write it boots the kernel halted in QEMU (as
`make qemu-gdb` does, on a free port of its own), runs GDB in batch mode with
tools/gdb/strata.py, and checks what strata-pf, strata-walk, strata-maps and
strata-bt say; then it lets the kernel go on and checks that the kernel's own
`page fault:` line agrees. One more run goes through the repository's
.gdbinit (aliases pf and walk), and one checks strata-connect's message when
make qemu-gdb is not running. From lab 2 on, strata-buddy is checked against
the kernel's [ppalloc] line, and on the host unit test build/host/test_buddy
against buddy.c's own figures and against corruptions poked into its
metadata (buddy_host_case) and for units lost by a split
(buddy_host_lost_case); from lab 6 on, strata-heap against malloc_stress's
live blocks and against the header malloc_corrupt_header overwrites; from
lab 7 on, strata-threads and strata-bt TID at a moment of test=preempt;
from lab 8 on, strata-cpus, and strata-threads reading each running thread
from its own vCPU, on -smp 6,sockets=2,cores=3 (test=smp_boot).

Run by `make test` as `python3 tools/gdb/test_gdb.py`. Needs build/kernel.elf
(runs `make kernel` if it is missing), qemu-system-i386 and gdb. Each case
is a unittest test (GdbWorkflow) made of named checks, printed as `ok NAME`
or `FAIL NAME: detail`; a case fails if any of its checks does. Ends with
the line `N passed, M failed` (checks); the exit status is non-zero if any
failed.
Never hangs: every GDB has a time limit, and QEMU runs in its own process
group, killed at the end whatever happens.
"""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KERNEL = os.path.join(ROOT, "build", "kernel.elf")
INITRD = os.path.join(ROOT, "build", "user.ar")	# lab 7's user programs
STRATA_PY = os.path.join(ROOT, "tools", "gdb", "strata.py")
GDBPORT = os.path.join(ROOT, "tools", "gdbport.py")
sys.path.insert(0, os.path.join(ROOT, "grader"))
from strata_grader import facts as factsmod  # noqa: E402
from strata_grader.labs import DEFAULTS  # noqa: E402
from strata_grader.qemucmd import qemu_argv  # noqa: E402

QEMU = os.environ.get("QEMU", "qemu-system-i386")
GDB = os.environ.get("GDB", "gdb")
# One GDB session's budget, in CPU seconds of GDB and the QEMUs under test
# (a normal one takes under 1 s): on a loaded machine a session waits for a
# CPU without using its budget, as the grader's tests do. A session that
# makes no progress at all is ended after GDB_WALL_MAX seconds.
GDB_TIMEOUT = 10
GDB_WALL_MAX = 120
EXIT_TIMEOUT = 5	# seconds for the kernel to finish after GDB detaches
UNMAPPED_VA = 0xdeadb000
FACTS = None	# the kernel's facts (KERNBASE, STATUS_PANIC...), loaded by main

passed = failed = 0
gdb_hung = False	# after one GDB hangs, the others are not started


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s" % name)
    else:
        failed += 1
        print("FAIL %s%s" % (name, ": " + detail if detail else ""))
    return ok


def show(output, lines=40):
    tail = output.strip().splitlines()[-lines:]
    print("     | " + "\n     | ".join(tail) if tail else "     | (no output)")


def kernel_symbols():
    """{name: (address, end)} of the kernel's text symbols, from nm."""
    out = subprocess.run(["nm", "-n", "--defined-only", KERNEL], capture_output=True,
                         text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tT":
            syms.append((int(parts[0], 16), parts[2]))
    table = {}
    for i, (addr, name) in enumerate(syms):
        end = syms[i + 1][0] if i + 1 < len(syms) else addr + 1
        table.setdefault(name, (addr, max(end, addr + 1)))
    return table


class Qemu:
    """The kernel halted in QEMU, waiting for GDB, as `make qemu-gdb` runs it."""

    def __init__(self, test, workdir, initrd=None, cpus=None):
        self.serial = os.path.join(workdir, "serial-%s.txt" % test)
        self.log = os.path.join(workdir, "qemu-%s.log" % test)
        portfile = os.path.join(workdir, "port-%s" % test)
        # tools/gdbport.py, as make qemu-gdb: the port is reserved for this
        # QEMU alone (no other program can take it between choice and use).
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, GDBPORT, portfile] + qemu_argv(
                    QEMU, facts=FACTS, kernel=KERNEL, cmdline="test=%s" % test, initrd=initrd,
                    memory=DEFAULTS["memory"], cpus=cpus or DEFAULTS["cpus"], console="file",
                    serial_file=self.serial, halted=True),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        qemu_groups.add(self.proc.pid)
        self.port = wait_port_file(portfile, self.proc)
        if self.port is None:
            self.kill()
            raise RuntimeError("QEMU did not start: %s" % self.log_text())

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read().strip()
        except OSError:
            return ""

    def serial_text(self):
        try:
            with open(self.serial, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_exit(self, seconds):
        try:
            return self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        qemu_groups.discard(self.proc.pid)


qemu_groups = set()	# process groups of the live Qemu objects


def group_cpu(pgids):
    """CPU seconds used so far by every process in these process groups."""
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in pgids:	# pgrp; utime, stime are fields 14, 15
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def run_gdb(args, env=None):
    """Runs GDB in batch mode; returns (output, None) or (output, error)."""
    global gdb_hung
    if gdb_hung:
        return "", "not run: an earlier gdb session hung"
    cmd = [GDB, "-batch", "-nx", "-iex", "set auto-load safe-path /"] + args
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    started = time.monotonic()
    cpu0 = group_cpu({proc.pid} | qemu_groups)
    try:
        while True:
            try:
                out, _ = proc.communicate(timeout=0.25)
                return out, None
            except subprocess.TimeoutExpired:
                used = group_cpu({proc.pid} | qemu_groups) - cpu0
                waited = time.monotonic() - started
                if used > GDB_TIMEOUT or waited > GDB_WALL_MAX:
                    break
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        gdb_hung = True
        return out, ("gdb did not finish within %d s of CPU time (%.1f s used, %.0f s waited; "
                     "killed)" % (GDB_TIMEOUT, used, waited))
    finally:
        if proc.poll() is None:	# interrupted (^C): leave no GDB behind
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def strata_commands(port):
    return ["-ex", "set pagination off", "-ex", "set confirm off",
            "-ex", "set architecture i386", "-ex", "file %s" % KERNEL,
            "-ex", "source %s" % STRATA_PY, "-ex", "strata-connect %d" % port]


def strata_session(name, qemu, *commands):
    """GDB with the helpers, attached to qemu, runs commands; returns its
    output, or None (after a failed check) if the session did not finish."""
    args = strata_commands(qemu.port)
    for c in commands:
        args += ["-ex", c]
    output, problem = run_gdb(args)
    if not check("%s: gdb session finished" % name, problem is None, problem or ""):
        show(output)
        return None
    return output


def line_after(output, prefix):
    """The first line starting with prefix and the line after it."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(prefix):
            return line, (lines[i + 1] if i + 1 < len(lines) else "")
    return None, None


def check_pf(name, output, syms, test, words, err):
    """strata-pf's report of the fault of ktest_<test>; returns its eip."""
    line, insn = line_after(output, "strata-pf:")
    if not check("%s: strata-pf stops at the page fault" % name, line is not None,
                 "no strata-pf: line"):
        return None
    m = re.match(r"strata-pf: va=(0x[0-9a-f]{8}) err=(0x[0-9a-f]+) \[([^\]]*)\] "
                 r"eip=(0x[0-9a-f]{8}) <([^>+]+)\+(\d+)>$", line)
    if not check("%s: strata-pf line is well formed" % name, m is not None, line):
        return None
    va, e, decoded, eip, sym = int(m.group(1), 16), int(m.group(2), 16), m.group(3), \
        int(m.group(4), 16), m.group(5)
    check("%s: va is 0x%08x (CR2)" % (name, UNMAPPED_VA), va == UNMAPPED_VA, line)
    check("%s: err=0x%x decodes to [%s]" % (name, err, words), e == err and decoded == words,
          line)
    func = "ktest_" + test
    lo, hi = syms.get(func, (None, None))
    check("%s: eip is inside %s" % (name, func),
          sym == func and lo is not None and lo <= eip < hi,
          "%s (%s is %s)" % (line, func,
                             "0x%08x-0x%08x" % (lo, hi) if lo is not None else "not in nm"))
    check("%s: strata-pf shows the faulting instruction" % name,
          re.match(r"\s*(=>\s*)?0x%08x <%s\+\d+>:\s+\S" % (eip, func), insn) is not None,
          repr(insn))
    check("%s: strata-pf shows the source line" % name,
          re.search(r"^  source: \S*ktests\.c:\d+", output, re.M) is not None)
    return eip


def check_walks(name, output, syms):
    line, _ = line_after(output, "strata-walk: va=0x%08x" % UNMAPPED_VA)
    check("%s: strata-walk 0x%08x says not mapped" % (name, UNMAPPED_VA),
          line is not None and "not mapped (P" in line, repr(line))
    kmain = syms.get("kernel_main", (None,))[0]
    if not check("%s: kernel_main is in the symbols" % name, kmain is not None):
        return
    expect = "strata-walk: va=0x%08x -> pa=0x%08x [P" % (kmain, kmain - FACTS.KERNBASE)
    walks = [l for l in output.splitlines() if l.startswith("strata-walk: va=0x%08x" % kmain)]
    check("%s: strata-walk &kernel_main translates to 0x%08x with P"
          % (name, kmain - FACTS.KERNBASE),
          len(walks) >= 1 and walks[0].startswith(expect), repr(walks[:1]))
    check("%s: strata-walk --phys agrees" % name,
          len(walks) >= 2 and walks[1].startswith(expect), repr(walks[1:2]))
    ok = False
    for m in re.finditer(r"^  (0x[0-9a-f]{8})-(0x[0-9a-f]{8}) -> (0x[0-9a-f]{8})-", output, re.M):
        va0, va1, pa0 = (int(m.group(i), 16) for i in (1, 2, 3))
        if va0 <= kmain <= va1:
            ok = pa0 + (kmain - va0) == kmain - FACTS.KERNBASE
    check("%s: strata-maps lists kernel_main's page at its physical address" % name, ok)


def check_bt(name, output, test):
    bt = output[output.find("strata-bt:"):] if "strata-bt:" in output else ""
    m = re.search(r"--- trap frame at 0x[0-9a-f]+: vector 14 .*---\n#\d+\s+0x[0-9a-f]+ ktest_%s\+"
                  % test, bt)
    check("%s: strata-bt goes through the trap frame into ktest_%s" % (name, test),
          m is not None)


def pf_case(test, words, err, syms, workdir):
    name = test
    qemu = Qemu(test, workdir)
    try:
        output = strata_session(name, qemu, "strata-pf", "strata-walk 0x%x" % UNMAPPED_VA,
                                "strata-walk &kernel_main", "strata-walk --phys &kernel_main",
                                "strata-maps", "strata-bt")
        if output is None:
            return
        before = failed
        eip = check_pf(name, output, syms, test, words, err)
        check_walks(name, output, syms)
        check_bt(name, output, test)
        # GDB detached: the kernel goes on, reports the fault itself, panics.
        status = qemu.wait_exit(EXIT_TIMEOUT)
        serial = qemu.serial_text()
        m = re.search(r"page fault: va=(0x[0-9a-f]+) eip=(0x[0-9a-f]+) err=(0x[0-9a-f]+) "
                      r"\[([^\]]*)\]", serial)
        check("%s: the kernel's own trace agrees with strata-pf" % name,
              m is not None and eip is not None and int(m.group(1), 16) == UNMAPPED_VA
              and int(m.group(2), 16) == eip and m.group(4) == words,
              m.group(0) if m else "no 'page fault:' line on the serial port")
        check("%s: QEMU exits with the panic status %d after gdb detaches"
              % (name, FACTS.STATUS_PANIC), status == FACTS.STATUS_PANIC, "status %s" % status)
        if failed != before:
            print("     gdb output:")
            show(output, 60)
            print("     serial output:")
            show(serial, 10)
    finally:
        qemu.kill()


def gdbinit_case(syms, workdir):
    """The repository's .gdbinit: symbols, helpers, aliases, connection."""
    name = "gdbinit"
    qemu = Qemu("pf_read", workdir)
    env = dict(os.environ, STRATA_GDB_PORT=str(qemu.port))
    try:
        output, problem = run_gdb(["-x", os.path.join(ROOT, ".gdbinit"),
                                   "-ex", "pf", "-ex", "walk $pf_va"], env=env)
        if not check("%s: gdb session finished" % name, problem is None, problem or ""):
            show(output)
            return
        ok = check("%s: banner lists the helpers" % name, "strata-walk" in output
                   and "strata-maps" in output and "strata-bt" in output)
        ok &= check_pf(name, output, syms, "pf_read", "read kernel not-present", 0) is not None
        line, _ = line_after(output, "strata-walk:")
        ok &= check("%s: walk $pf_va says not mapped" % name,
                    line is not None and line.startswith("strata-walk: va=0x%08x not mapped"
                                                         % UNMAPPED_VA), repr(line))
        if not ok:
            show(output)
    finally:
        qemu.kill()


def buddy_case(workdir):
    """strata-buddy reads the physical allocator as the kernel itself reports it."""
    name = "ppalloc_boot"
    qemu = Qemu(name, workdir)
    try:
        # At the test's own ppalloc_print: after it has set the allocator up
        # as the line shows it (from lab 8 on, the per-CPU page caches are
        # flushed into the buddy first), before anything else allocates.
        # The built-in layout (a kernel without debug information) must be
        # the debug information's, and strata-buddy must say the same with it.
        compare = ("python from strata_gdb import buddy_struct as bs; d = bs.layout(); "
                   "f = bs.fallback_for(int(gdb.parse_and_eval(\"'ppalloc.c'::phys\"))); "
                   "print('layouts: %s; differ in %s' % (d['source'], "
                   "sorted(k for k in d if k != 'source' and d[k] != f.get(k))))")
        output = strata_session(name, qemu, "break ktest_ppalloc_boot", "continue",
                                "break ppalloc_print", "continue", "strata-buddy",
                                "echo ==debug-info==\\n", "strata-buddy --check --allocs --all",
                                compare, "python bs.layout = bs.fallback_layout",
                                "echo ==built-in==\\n", "strata-buddy --check --allocs --all",
                                "echo ==end==\\n")
        if output is None:
            return
        ours = re.search(r"^\s*per order: ([0-9 ]+)$", output, re.M)
        qemu.wait_exit(EXIT_TIMEOUT)
        # The test prints the line again on entry, where GDB looked: the
        # last one counts (from lab 7 on, threads allocate after boot's).
        theirs = list(re.finditer(r"\[ppalloc\] free blocks per order: ([0-9 ]+)",
                                  qemu.serial_text()))
        theirs = theirs[-1] if theirs else None
        ok = check("%s: strata-buddy's free blocks per order match the kernel's [ppalloc] line"
                   % name, ours is not None and theirs is not None
                   and ours.group(1).split() == theirs.group(1).split(),
                   "gdb: %s, kernel: %s" % (ours and ours.group(1), theirs and theirs.group(1)))
        ok &= check("%s: strata-buddy finds its maps consistent" % name,
                    "free maps and lists agree with nfree[]" in output)
        ok &= check("%s: strata-buddy --check finds nothing wrong" % name,
                    "agree with nfree[]; --check found nothing wrong" in output)
        ok &= check("%s: the built-in i386 layout is the debug information's" % name,
                    "layouts: debug information; differ in []" in output,
                    (re.findall(r"^layouts: .*$", output, re.M) or ["no layouts: line"])[0])
        sec = sections(output)
        first = [l for l in sec.get("debug-info", "").splitlines() if l.startswith(" ")]
        ok &= check("%s: strata-buddy with the built-in layout prints the same" % name,
                    first and [l for l in sec.get("built-in", "").splitlines()
                               if l.startswith(" ")] == first)
        if not ok:
            show(output)
    finally:
        qemu.kill()


# Sourced by GDB in buddy_host_case: corrupts one thing at a time in the
# struct buddy `b` of the stopped host test (buddy_alloc's argument), through
# the helper's own reader to find where, and puts it back.
POKE_PY = r"""
import struct
import gdb
from strata_gdb import buddy_struct as bs

saved = []


def _buddy():
    return bs.Buddy(int(gdb.parse_and_eval("b")))


def _write(addr, data):
    inf = gdb.selected_inferior()
    saved.append((addr, bytes(inf.read_memory(addr, len(data)))))
    inf.write_memory(addr, data)


def _word_addr(b, m, level, index):
    return b.words_addr + 4 * (m.off[level] + index)


def _flip(b, m, bit):
    addr = _word_addr(b, m, 0, bit // 32)
    w = struct.unpack("<I", bytes(gdb.selected_inferior().read_memory(addr, 4)))[0]
    _write(addr, struct.pack("<I", w ^ (1 << (bit % 32))))


def restore():
    while saved:
        addr, data = saved.pop()
        gdb.selected_inferior().write_memory(addr, data)
    print("poke: restored")


def poke_list():
    # A listed order's first list entry -> a block whose bit is clear.
    b = _buddy()
    for k in range(b.orders - 1):
        m = b.freemap[k]
        if b.is_listed(k) and b.nfree[k] > 0 and m.nlevels > 1:
            e = b.list[k][0]
            bad = e ^ 1
            if bad < m.nbits and not m.test_bits([bad])[bad]:
                size = b.layout["size_t"]
                _write(b.addr + b.layout["list"] + k * b.list_max * size,
                       struct.pack("<I" if size == 4 else "<Q", bad))
                print("poke-list: order %d entry 0: %d -> %d" % (k, e, bad))
                return
    print("poke-list: no listed order with summary levels and a free block")


def poke_summary():
    # A listed order's top summary word -> not zero.
    b = _buddy()
    for k in range(b.orders):
        m = b.freemap[k]
        if b.is_listed(k) and m.nlevels > 1:
            top = m.nlevels - 1
            _write(_word_addr(b, m, top, 0), struct.pack("<I", 1))
            print("poke-summary: order %d level %d word 0 -> 0x00000001" % (k, top))
            return
    print("poke-summary: no listed order with summary levels")


def poke_bounds():
    # The end bit of a small allocation that another one follows -> clear.
    b = _buddy()
    allocs, _ = b.allocations()
    for (s, c), (t, _) in zip(allocs, allocs[1:]):
        if c <= bs.BIG:
            _flip(b, b.bounds, 2 * (s + c - 1) + 1)
            print("poke-bounds: end bit of the allocation at %d (%d units) cleared; next %d"
                  % (s, c, t))
            return
    print("poke-bounds: no small allocation followed by another")


def poke_bigend():
    # The bigend bit (level 0) of an allocation of more than BIG units -> clear.
    b = _buddy()
    allocs, _ = b.allocations()
    for s, c in allocs:
        if c > bs.BIG:
            _flip(b, b.bigend, s + c - 1)
            print("poke-bigend: bigend bit %d of the allocation at %d (%d units) cleared"
                  % (s + c - 1, s, c))
            return
    print("poke-bigend: no allocation of more than %d units" % bs.BIG)


def truth():
    # What buddy.c itself says, by calling it: free blocks per order, free
    # units, and buddy_check of each allocation strata-buddy lists.
    b = _buddy()
    per = [int(gdb.parse_and_eval("buddy_free_blocks(b, %d)" % k)) for k in range(b.orders)]
    print("truth: per order: %s" % " ".join(map(str, per)))
    print("truth: free units %d" % int(gdb.parse_and_eval("buddy_free_units(b)")))
    allocs, _ = b.allocations()
    bad = [(s, c) for s, c in allocs
           if int(gdb.parse_and_eval("buddy_check(b, %d, %d)" % (s, c))) != 0]
    print("truth: buddy_check refuses %d of %d allocations %s" % (len(bad), len(allocs), bad[:3]))
    print("truth: unlisted orders with summary levels: %s" % [
        k for k in range(b.orders) if not b.is_listed(k) and b.freemap[k].nlevels > 1])
    print("truth: allocations of more than %d units: %d, of at most: %d" % (
        bs.BIG, sum(c > bs.BIG for _, c in allocs), sum(c <= bs.BIG for _, c in allocs)))
"""

HOST_BUDDY = os.path.join(ROOT, "build", "host", "test_buddy")


def sections(output):
    """{name: text} of the output after each `==name==` line GDB echoed."""
    parts = re.split(r"^==([\w-]+)==$", output, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def run_sections(name, args, steps):
    """Runs GDB with args and one -ex per step: (its output, sections()), the
    sections None (and a failed check showing the output) if the session
    did not finish."""
    for c in steps:
        args += ["-ex", c]
    output, problem = run_gdb(args)
    if not check("%s: gdb session finished" % name, problem is None, problem or ""):
        show(output)
        return output, None
    return output, sections(output)


def problems(text):
    """The PROBLEM lines strata-buddy printed in text."""
    return re.findall(r"^  PROBLEM: (.*)$", text or "", re.M)


def buddy_host_case(workdir):
    """strata-buddy on the host unit test's allocator (64-bit size_t), at two
    moments of its random run: the first buddy_alloc (every order listed)
    and the 3001st (orders with many free blocks, on their summary levels;
    allocations of both sizes). Its figures must be those buddy.c itself
    returns, and each corruption poked into the metadata must be reported
    as its own PROBLEM."""
    name = "buddy-host"
    poke = os.path.join(workdir, "poke.py")
    with open(poke, "w") as f:
        f.write(POKE_PY)
    mark = lambda m: "echo ==%s==\\n" % m	# noqa: E731
    args = ["-ex", "set pagination off", "-ex", "set confirm off", "-ex", "file %s" % HOST_BUDDY,
            "-ex", "source %s" % STRATA_PY, "-ex", "source %s" % poke,
            "-ex", "set environment CK_FORK no", "-ex", "set environment CK_RUN_CASE random",
            "-ex", "break buddy_alloc", "-ex", "run"]
    steps = [mark("first"), "strata-buddy --check b",
             "python poke_list()", mark("list"), "strata-buddy b", mark("list-check"),
             "strata-buddy --check b", "python restore()",
             "python poke_summary()", mark("summary"), "strata-buddy b", "python restore()",
             "ignore 1 3000", "continue",
             mark("later"), "strata-buddy --check --allocs --all b", "python truth()",
             "python poke_bounds()", mark("bounds"), "strata-buddy b", "python restore()",
             "python poke_bigend()", mark("bigend"), "strata-buddy b", "python restore()",
             mark("restored"), "strata-buddy --check b", "kill"]
    output, sec = run_sections(name, args, steps)
    if sec is None:
        return
    ok = True

    clean = "free maps and lists agree with nfree[]; --check found nothing wrong"
    ok &= check("%s: at the first buddy_alloc, --check finds nothing wrong" % name,
                clean in sec.get("first", ""))
    m = re.search(r"^poke-list: order (\d+) entry 0: (\d+) -> (\d+)$", sec.get("first", ""), re.M)
    if check("%s: a listed order's list entry is poked" % name, m is not None):
        k, e, bad = (int(x) for x in m.groups())
        entry = ("order %d: list[%d][0] = %d (unit %d) but bit %d of its free map is clear"
                 % (k, k, bad, bad << k, bad))
        extra = ("order %d: bit %d (unit %d) of its free map is set but the block is not "
                 "in its list" % (k, e, e << k))
        ok &= check("%s: the poked entry is a PROBLEM (its bit is clear)" % name,
                    entry in problems(sec.get("list")), repr(problems(sec.get("list"))))
        ok &= check("%s: --check also finds the bit left out of the list" % name,
                    entry in problems(sec.get("list-check"))
                    and extra in problems(sec.get("list-check")),
                    repr(problems(sec.get("list-check"))))
    m = re.search(r"^poke-summary: order (\d+) level (\d+) word 0", sec.get("list-check", ""),
                  re.M)
    if check("%s: a listed order's summary word is poked" % name, m is not None):
        want = ("order %s is listed but level %s word 0 of its free map is 0x00000001 "
                "(a listed order's summary levels are zero)" % m.groups())
        ok &= check("%s: a non-zero summary word of a listed order is a PROBLEM" % name,
                    problems(sec.get("summary")) == [want], repr(problems(sec.get("summary"))))
    later = sec.get("later", "")
    ours = re.search(r"^  per order: ([0-9 ]+)$", later, re.M)
    theirs = re.search(r"^truth: per order: ([0-9 ]+)$", later, re.M)
    ok &= check("%s: free blocks per order as buddy_free_blocks says" % name,
                ours is not None and theirs is not None
                and ours.group(1).split() == theirs.group(1).split(),
                "%s / %s" % (ours and ours.group(1), theirs and theirs.group(1)))
    ours = re.search(r"^  free (\d+) units, allocated (\d+) in (\d+) allocations", later, re.M)
    theirs = re.search(r"^truth: free units (\d+)$", later, re.M)
    ok &= check("%s: free units as buddy_free_units says" % name,
                ours is not None and theirs is not None and ours.group(1) == theirs.group(1))
    ok &= check("%s: buddy_check accepts every allocation strata-buddy lists" % name,
                ours is not None and "truth: buddy_check refuses 0 of %s allocations"
                % ours.group(3) in later)
    ok &= check("%s: --check finds nothing wrong there" % name, clean in later)
    m = re.search(r"^truth: unlisted orders with summary levels: \[(\d.*)\]$", later, re.M)
    n = re.search(r"^truth: allocations of more than \d+ units: (\d+), of at most: (\d+)$",
                  later, re.M)
    ok &= check("%s: that state has unlisted orders and allocations of both kinds" % name,
                m is not None and n is not None and int(n.group(1)) > 0 and int(n.group(2)) > 0,
                "%s; %s" % (m and m.group(0), n and n.group(0)))
    m = re.search(r"^poke-bounds: end bit of the allocation at (\d+) \(\d+ units?\) cleared; "
                  r"next (\d+)$", later, re.M)
    if check("%s: an allocation's end bit is poked" % name, m is not None):
        want = "allocation at unit %s has no end bit before the next start (%s)" % m.groups()
        ok &= check("%s: the start without its end is a PROBLEM" % name,
                    want in problems(sec.get("bounds")), repr(problems(sec.get("bounds"))))
    m = re.search(r"^poke-bigend: bigend bit (\d+) of the allocation at (\d+) \((\d+) units\)",
                  sec.get("bounds", ""), re.M)
    if check("%s: a big allocation's bigend bit is poked" % name, m is not None):
        e, s, c = m.groups()
        want = ("allocation at unit %s of %s units (more than 16) has no bigend bit at its "
                "last unit %s" % (s, c, e))
        ok &= check("%s: the missing bigend bit is a PROBLEM" % name,
                    problems(sec.get("bigend")) == [want], repr(problems(sec.get("bigend"))))
    ok &= check("%s: all put back, --check finds nothing wrong again" % name,
                clean in sec.get("restored", ""))
    if not ok:
        show(output, 80)


def buddy_host_lost_case(workdir):
    """Lost units on the host, where a struct buddy does not record what was
    reserved: in test_tail_given_back, at buddy_free(b, 0, 5) (alloc(5, 5)
    done: free 5/0, 6/1, 8/3), unit 5 is taken off order 0's free map and
    nfree[0], as a buddy_split that forgot it would leave it. strata-buddy
    must report it from the allocation's block alone, and by count with
    --reserved 0; --reserved 1 says it is reserved."""
    name = "buddy-host-lost"
    mark = lambda m: "echo ==%s==\\n" % m	# noqa: E731
    args = ["-ex", "set pagination off", "-ex", "set confirm off", "-ex", "file %s" % HOST_BUDDY,
            "-ex", "source %s" % STRATA_PY,
            "-ex", "set environment CK_FORK no", "-ex", "set environment CK_RUN_CASE core",
            "-ex", "break test_tail_given_back_fn", "-ex", "run",
            "-ex", "break buddy_free", "-ex", "continue"]
    word = "b->words[b->freemap[0].off[0]]"
    steps = [mark("before"), "strata-buddy --allocs b", mark("before-counted"),
             "strata-buddy --reserved 0 b",
             "set var b->nfree[0] = 0", "set var %s &= ~(1 << 5)" % word,
             mark("tail"), "strata-buddy b", mark("counted"), "strata-buddy --reserved 0 b",
             mark("declared"), "strata-buddy --reserved=1 b",
             "set var b->nfree[0] = 1", "set var %s |= 1 << 5" % word,
             mark("restored"), "strata-buddy b", mark("end"), "kill"]
    output, sec = run_sections(name, args, steps)
    if sec is None:
        return

    clean = "free maps and lists agree with nfree[]"
    ok = check("%s: after alloc(5, 5) nothing is wrong, reserved or lost 0" % name,
               clean in sec.get("before", "") and not problems(sec.get("before"))
               and "allocated 5 in 1 allocation, reserved or lost 0" in sec.get("before", ""),
               sec.get("before", "")[-400:])
    ok &= check("%s: nor with --reserved 0" % name,
                clean in sec.get("before-counted", "")
                and "reserved 0" in sec.get("before-counted", ""))
    tail = ("unit 5, in the block 0-7 that the allocation at 0 (5 units) was split from, is "
            "neither free nor allocated: lost (does buddy_split() put every unused part back "
            "on a free list?), unless buddy_reserve() reserved it after the allocation "
            "(--reserved N counts them)")
    ok &= check("%s: the unit lost in the allocation's block is a PROBLEM" % name,
                problems(sec.get("tail")) == [tail]
                and "reserved or lost 1" in sec.get("tail", ""), repr(problems(sec.get("tail"))))
    counted = ("1 units are neither free nor allocated but only 0 were reserved at setup: "
               "1 units lost (does buddy_split() put every unused part back on a free list?)")
    ok &= check("%s: --reserved 0 reports it lost by count" % name,
                problems(sec.get("counted")) == [counted], repr(problems(sec.get("counted"))))
    ok &= check("%s: --reserved=1 takes it as reserved" % name,
                clean in sec.get("declared", "") and not problems(sec.get("declared"))
                and "reserved 1" in sec.get("declared", ""), sec.get("declared", "")[-300:])
    ok &= check("%s: put back, nothing wrong again" % name,
                clean in sec.get("restored", "") and not problems(sec.get("restored")))
    if not ok:
        show(output, 80)


def heap_case(workdir):
    """strata-heap agrees with the stress test's own bookkeeping mid-run, and
    names the chunk whose header malloc_corrupt_header overwrote."""
    name = "malloc_stress"
    qemu = Qemu(name, workdir)
    try:
        # At malloc's entry the heap is consistent, and every allocated chunk
        # is one the test holds in live[] (realloc calls malloc before it
        # frees the old block). Each ignored hit is a round trip to QEMU
        # (~1 ms): 400 keep the session short and the heap well filled.
        output = strata_session(
            name, qemu, "break malloc", "ignore 1 400", "continue", "strata-heap --summary",
            "python v = gdb.parse_and_eval('live'); print('live blocks: %d' % "
            "sum(1 for i in range(v.type.range()[1] + 1) if int(v[i]['p']) != 0))")
        if output is None:
            return
        used = re.search(r"^\s*used:.* in (\d+) chunks?", output, re.M)
        live = re.search(r"^live blocks: (\d+)$", output, re.M)
        ok = check("%s: strata-heap counts as many used chunks as the test holds blocks" % name,
                   used is not None and live is not None and int(live.group(1)) > 0
                   and used.group(1) == live.group(1),
                   "strata-heap: %s, live[]: %s" % (used and used.group(1),
                                                   live and live.group(1)))
        ok &= check("%s: strata-heap finds no anomalies in a healthy heap" % name,
                    "strata-heap: no anomalies" in output)
        if not ok:
            show(output)
    finally:
        qemu.kill()

    name = "malloc_corrupt_header"
    qemu = Qemu(name, workdir)
    try:
        output = strata_session(name, qemu, "break free", "continue", "strata-heap")
        if output is None:
            return
        status = qemu.wait_exit(EXIT_TIMEOUT)
        freed = re.search(r"freeing (0x[0-9a-f]+) after overwriting", qemu.serial_text())
        chunk = int(freed.group(1), 16) - 8 if freed else None
        ok = check("%s: strata-heap names the overwritten chunk (pointer - 8)" % name,
                   chunk is not None and None is not re.search(
                       r"^  !! chunk 0x%08x: bad size .*bad canary" % chunk, output, re.M),
                   "kernel freed %s" % (freed and freed.group(1)))
        ok &= check("%s: and the kernel panics on that free" % name,
                    status == FACTS.STATUS_PANIC,
                    "QEMU exit status %s" % status)
        if not ok:
            show(output)
    finally:
        qemu.kill()


def user_case(workdir):
    """strata-user loads a user program's symbols: a hardware breakpoint on
    its main stops in ring 3 (cs 0x1b) at a user address, and GDB names
    the function and its source (lab 7 on)."""
    name = "user"
    qemu = Qemu("user_hello", workdir, initrd=INITRD)
    try:
        output = strata_session(name, qemu, "strata-user hello", "hbreak main", "continue",
                                "p/x $cs", "info symbol $pc", "strata-user nosuchprog")
        if output is None:
            return
        ok = check("%s: strata-user loads hello's symbols" % name,
                   re.search(r"^strata-user: symbols of hello loaded \(.text at 0x004[0-9a-f]{5}\)$",
                             output, re.M) is not None)
        ok &= check("%s: the breakpoint stops in user mode (cs 0x1b)" % name,
                    re.search(r"^\$1 = 0x1b$", output, re.M) is not None)
        ok &= check("%s: at hello's main, named from its symbols" % name,
                    re.search(r"^main(?: \+ \d+)? in section \.text of .*build/user/hello$",
                              output, re.M) is not None)
        ok &= check("%s: a missing program is one clear error" % name,
                    "strata-user: no user program" in output)
        if not ok:
            show(output)
    finally:
        qemu.kill()


def user_prog(name):
    return os.path.join(ROOT, "build", "user", name)


def elf_entry(path):
    with open(path, "rb") as f:
        return struct.unpack_from("<I", f.read(0x1c), 0x18)[0]


def int80_in(path, function):
    """The address of the `int $0x80` in function of the user program."""
    text = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path], capture_output=True,
                          text=True, check=True).stdout
    inside = False
    for line in text.splitlines():
        if re.match(r"^[0-9a-f]+ <%s>:$" % re.escape(function), line):
            inside = True
        elif re.match(r"^[0-9a-f]+ <", line):
            inside = False
        elif inside and re.search(r"\bint\s+\$0x80", line):
            return int(line.split(":")[0], 16)
    return None


def user_syscall_case(workdir, syms):
    """A stop in user mode loads the running program's symbols by itself
    (no strata-user); then from user code through int $0x80 into the
    kernel's vector stub and user_trap, and back to the instruction after
    the int in user mode, with the result in eax (lab 7 on)."""
    name = "user-syscall"
    hello = user_prog("hello")
    entry, int80 = elf_entry(hello), int80_in(hello, "write")
    if not check("%s: hello's write has an int $0x80" % name, int80 is not None):
        return
    qemu = Qemu("user_hello", workdir, initrd=INITRD)
    try:
        output = strata_session(
            name, qemu, "hbreak *0x%x" % entry, "continue", "info symbol $pc", "delete",
            "hbreak *0x%x" % int80, "continue", "printf \"at-int pc=%#x cs=%#x eax=%d\\n\", $pc, $cs, $eax",
            "stepi", "printf \"after-stepi cs=%#x\\n\", $cs", "info symbol $pc",
            "hbreak user_trap", "continue",
            "printf \"user_trap eax=%d cs=%#x\\n\", tf->eax, tf->cs", "delete",
            "hbreak *0x%x" % (int80 + 2), "continue",
            "printf \"back pc=%#x cs=%#x eax=%d\\n\", $pc, $cs, $eax", "info symbol $pc")
        if output is None:
            return
        ok = check("%s: the stop at _start loads hello's symbols by itself" % name,
                   re.search(r"^strata-user: symbols of hello loaded \(.text at 0x004[0-9a-f]{5}\) "
                             r"\[auto, stopped in user mode: pid \d+ tid \d+\]$", output, re.M)
                   is not None)
        ok &= check("%s: GDB names the user entry point _start" % name,
                    re.search(r"^_start in section \.text of .*build/user/hello$", output, re.M)
                    is not None)
        ok &= check("%s: stopped at the int $0x80 in user mode, eax = SYS_WRITE" % name,
                    "at-int pc=%#x cs=0x1b eax=1" % int80 in output)
        v128 = syms.get("vector128", (None,))[0]
        ok &= check("%s: stepi goes through the gate into the kernel (vector128, cs 0x8)" % name,
                    "after-stepi cs=0x8" in output and
                    re.search(r"^vector128 in section \.text of .*build/kernel\.elf$", output, re.M)
                    is not None and v128 is not None)
        ok &= check("%s: user_trap gets the call (eax 1, cs 0x1b in its frame)" % name,
                    "user_trap eax=1 cs=0x1b" in output)
        m = re.search(r"^back pc=(0x[0-9a-f]+) cs=(0x[0-9a-f]+) eax=(-?\d+)$", output, re.M)
        ok &= check("%s: back in user mode after the int, eax = the count written" % name,
                    m is not None and int(m.group(1), 16) == int80 + 2 and m.group(2) == "0x1b"
                    and int(m.group(3)) > 0, m.group(0) if m else "no back line")
        ok &= check("%s: GDB names it write in hello" % name,
                    re.search(r"^write \+ \d+ in section \.text of .*build/user/hello$",
                              output, re.M) is not None)
        if not ok:
            show(output, 60)
    finally:
        qemu.kill()


def user_pf_case(test, workdir, words, where, stack, serial_line):
    """strata-pf on a fault of a user program: the first page fault of
    test=TEST, decoded as words, its eip named where (a user symbol and a
    source file, or the kernel's ucopy), the stack line if stack; then the
    kernel goes on and its serial output has serial_line (a regex that
    may use the fault's eip as {eip})."""
    name = "user-pf-" + test
    qemu = Qemu(test, workdir, initrd=INITRD)
    try:
        output = strata_session(name, qemu, "strata-pf")
        if output is None:
            return
        line, _ = line_after(output, "strata-pf:")
        m = re.match(r"strata-pf: va=(0x[0-9a-f]{8}) err=(0x[0-9a-f]+) \[([^\]]*)\] "
                     r"eip=(0x[0-9a-f]{8}) <([^>+]+)\+(\d+)>$", line or "")
        ok = check("%s: strata-pf stops at the fault, decoded [%s]" % (name, words),
                   m is not None and m.group(3) == words, repr(line))
        sym, src = where
        ok &= check("%s: its eip is in %s" % (name, sym), m is not None and m.group(5) == sym,
                    repr(line))
        ok &= check("%s: with the source line in %s" % (name, src),
                    re.search(r"^  source: \S*%s:\d+" % re.escape(src), output, re.M) is not None)
        if src.startswith("src/user/"):
            ok &= check("%s: the program's symbols were loaded for it" % name,
                        re.search(r"^strata-user: symbols of \w+ loaded .*\[strata-pf, a user fault: "
                                  r"pid \d+ tid \d+\]$", output, re.M) is not None)
        stack_line = re.search(r"^  stack:  in tid \d+'s reserved stack 0x[0-9a-f]{8}-0x[0-9a-f]{8}, "
                               r"below its mapped part .*: the stack grows \(\d+ page\(s\), "
                               r"from 0x[0-9a-f]{8}\)$", output, re.M)
        ok &= check("%s: %s" % (name, "the stack line says it grows" if stack
                                else "no stack line"), (stack_line is not None) == stack)
        status = qemu.wait_exit(EXIT_TIMEOUT)
        serial = qemu.serial_text()
        want = serial_line.replace("{eip}", m.group(4)[2:].lstrip("0") if m else "?")
        ok &= check("%s: the kernel goes on: %s" % (name, want),
                    re.search(want, serial, re.M) is not None and
                    status == FACTS.STATUS_PASS, "status %s" % status)
        if not ok:
            show(output, 40)
            show(serial, 10)
    finally:
        qemu.kill()


def threads_case(workdir, syms):
    """strata-threads lists every thread with the eip/esp its saved context
    holds, and strata-bt TID walks a blocked thread's stack and a preempted
    one's through the timer's trap frame (lab 7 on)."""
    name = "threads"
    qemu = Qemu("preempt", workdir)
    try:
        # At printer's entry: main waits in thread_join, three spinners were
        # preempted by the timer, idle has never run.
        output = strata_session(name, qemu, "break printer", "continue", "strata-threads",
                                "strata-bt 1", "strata-bt 3")
        if output is None:
            return
        rows = {}
        for m in re.finditer(r"^([ *])\s+(\d+)\s+(\d+) (\S+)\s+(\S+)\s+(0x[0-9a-f]{8}) (\S+)"
                             r"\s+(0x[0-9a-f]{8}) (0x[0-9a-f]{8})-(0x[0-9a-f]{8})$",
                             output, re.M):
            rows[int(m.group(2))] = m.groups()
        ok = check("%s: strata-threads lists 6 threads" % name,
                   re.search(r"^strata-threads: 6 threads, running: 6 'printer'$", output, re.M)
                   is not None and sorted(rows) == [1, 2, 3, 4, 5, 6], repr(sorted(rows)))
        main, idle, spin, printer = rows.get(1), rows.get(2), rows.get(3), rows.get(6)
        ok &= check("%s: main is blocked on its join queue, saved eip in sched" % name,
                    main is not None and main[3] == "blocked:join" and main[4] == "main"
                    and main[6].startswith("sched+"), repr(main))
        ok &= check("%s: main's saved esp is inside its stack" % name,
                    main is not None and int(main[8], 16) <= int(main[7], 16) < int(main[9], 16),
                    repr(main))
        ok &= check("%s: a spinner is runnable, switched away in sched" % name,
                    spin is not None and spin[3] == "runnable" and spin[6].startswith("sched+"),
                    repr(spin))
        ok &= check("%s: idle has never run: saved eip is thread_start" % name,
                    idle is not None and idle[6] == "thread_start"
                    and int(idle[5], 16) == syms.get("thread_start", (None,))[0], repr(idle))
        ok &= check("%s: the running printer is marked and read from the registers" % name,
                    printer is not None and printer[0] == "*" and printer[6] == "printer",
                    repr(printer))
        bt1 = output[output.find("strata-bt: thread 1"):output.find("strata-bt: thread 3")]
        want = ["sched", "waitq_sleep", "thread_join", "ktest_preempt", "ktest_run",
                "kernel_main"]
        got = re.findall(r"^#\d+\s+0x[0-9a-f]{8} ([A-Za-z_]\w*)", bt1, re.M)
        ok &= check("%s: strata-bt 1 walks main's saved stack: %s" % (name, " <- ".join(want)),
                    got[:len(want)] == want, repr(got))
        bt3 = output[output.find("strata-bt: thread 3"):]
        got = re.findall(r"^#\d+\s+0x[0-9a-f]{8} ([A-Za-z_]\w*)", bt3, re.M)
        # The timer is the PIT's IRQ 0 (vector 32) up to lab 7, each CPU's
        # LAPIC timer (vector 239, T_LAPIC_TIMER) from lab 8 on.
        timers = {"pit_irq": "vector 32", "lapic_timer_irq": "vector 239"}
        timer = got[3] if len(got) > 3 else ""
        ok &= check("%s: strata-bt 3 goes through the timer's trap frame to thread_start" % name,
                    got[:3] == ["sched", "thread_yield", "sched_tick"] and timer in timers
                    and got[4:6] == ["trap", "alltraps"]
                    and "--- trap frame at" in bt3 and timers[timer] in bt3
                    and got[-1:] == ["thread_start"], repr(got))
        if not ok:
            show(output)
    finally:
        qemu.kill()


def build_copy(workdir, name, other_tree=False):
    """A BUILD directory holding a copy of build/kernel.elf (make -o keeps it
    as it is), and from lab 7 on of build/user.ar (the same: make qemu-gdb
    would otherwise build every user program again in it, which takes
    longer than a port file may on a loaded machine). With other_tree, the
    copy's build id is changed: a kernel built from another tree, as far as
    strata-connect can tell."""
    d = os.path.join(workdir, name)
    os.makedirs(d)
    with open(KERNEL, "rb") as f:
        elf = bytearray(f.read())
    if other_tree:
        off, size = elf_section(elf, ".note.gnu.build-id")
        for i in range(off + 16, off + size):	# the id after the note's header
            elf[i] ^= 0xFF
    with open(os.path.join(d, "kernel.elf"), "wb") as f:
        f.write(elf)
    if os.path.exists(INITRD):
        shutil.copyfile(INITRD, os.path.join(d, "user.ar"))
    return d


def keep_as_built(d):
    """make's -o options for a build_copy folder's copies."""
    return [a for f in ("kernel.elf", "user.ar") if os.path.exists(os.path.join(d, f))
            for a in ("-o", os.path.join(d, f))]


def elf_section(elf, wanted):
    """(file offset, size) of an ELF32 file's section by name."""
    shoff, = struct.unpack_from("<I", elf, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x2E)
    def header(i):	# sh_name, sh_offset, sh_size
        f = struct.unpack_from("<10I", elf, shoff + i * shentsize)
        return f[0], f[4], f[5]
    strtab = header(shstrndx)[1]
    for i in range(shnum):
        name, off, size = header(i)
        if elf[strtab + name:elf.index(b"\0", strtab + name)].decode() == wanted:
            return off, size
    raise RuntimeError("%s has no section %s" % (KERNEL, wanted))


def wait_port_file(path, proc, seconds=10):
    """The port in a port file once it is written and listened on, or None."""
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None:
        try:
            with open(path) as f:
                port = int(f.read().strip())
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return port
        except (OSError, ValueError):
            time.sleep(0.05)
    return None


def connect_session(kernel, portfile):
    """GDB with kernel's symbols runs strata-connect PORTFILE; its output."""
    output, problem = run_gdb(["-ex", "set confirm off", "-ex", "set architecture i386",
                               "-ex", "file %s" % kernel, "-ex", "source %s" % STRATA_PY,
                               "-ex", "strata-connect %s" % portfile,
                               "-ex", "python print('connected: %s' % "
                               "(gdb.selected_inferior().pid != 0))"])
    return output if problem is None else output + "\n" + problem


def port_race_case(workdir):
    """Two `make qemu-gdb` started at the same moment (issue 15, item 7):
    each QEMU gets a port of its own and its port file says which, and
    strata-connect refuses the other tree's kernel."""
    name = "two make qemu-gdb at once"
    trees = [build_copy(workdir, "tree-a"), build_copy(workdir, "tree-b", other_tree=True)]
    procs = []
    try:
        for d in trees:
            with open(os.path.join(d, "make.log"), "w") as log:
                procs.append(subprocess.Popen(
                    ["make", "-s", "--no-print-directory"] + keep_as_built(d) +
                    ["BUILD=" + d, "qemu-gdb"], cwd=ROOT, stdin=subprocess.DEVNULL,
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            qemu_groups.add(procs[-1].pid)
        ports = [wait_port_file(os.path.join(d, "qemu-gdb.port"), p)
                 for d, p in zip(trees, procs)]
        time.sleep(0.3)	# a QEMU that cannot have its port fails at once
        logs = " | ".join(open(os.path.join(d, "make.log")).read().strip().replace("\n", " / ")
                          for d in trees)
        check("%s: both are listening on the port their file names" % name,
              None not in ports and all(p.poll() is None for p in procs),
              "ports %s; %s" % (ports, logs))
        check("%s: the two ports differ" % name,
              None not in ports and ports[0] != ports[1], "ports %s" % ports)
        if None in ports:
            return
        for d in trees:
            output = connect_session(os.path.join(d, "kernel.elf"), os.path.join(d, "qemu-gdb.port"))
            if not check("%s: strata-connect attaches to its own tree's kernel (%s)"
                         % (name, os.path.basename(d)),
                         "connected: True" in output and "build id" in output
                         and "matches" in output):
                show(output)
        output = connect_session(os.path.join(trees[0], "kernel.elf"),
                                 os.path.join(trees[1], "qemu-gdb.port"))
        if not check("%s: strata-connect refuses the other tree's kernel" % name,
                     "connected: False" in output and "not this tree's" in output):
            show(output)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            qemu_groups.discard(p.pid)


def no_qemu_case():
    output, problem = run_gdb(["-ex", "source %s" % STRATA_PY,
                               "-ex", "strata-connect /nonexistent/qemu-gdb.port"])
    check("strata-connect without make qemu-gdb says what to do",
          problem is None and "run make qemu-gdb first" in output,
          problem or output.strip() or "no output")


SYMS = None	# the kernel's text symbols (kernel_symbols), loaded by main
WORKDIR = None	# a temporary folder for the runs' serial output and logs
def cpus_case(workdir):
    """strata-cpus lists every CPU with its APIC ID (non-contiguous with
    sockets=2,cores=3) and the eip of its own vCPU; strata-threads reads the
    running thread from its CPU's vCPU whichever GDB thread is selected
    (lab 8 on)."""
    name = "cpus"
    qemu = Qemu("smp_boot", workdir, cpus="6,sockets=2,cores=3")
    try:
        output = strata_session(name, qemu, "break ktest_smp_boot", "continue", "strata-cpus",
                                "info threads", "thread 3", "strata-cpus", "strata-threads",
                                "strata-bt 1")
        if output is None:
            return
        first, _, second = output.partition("[Switching to thread 3")
        rows = re.findall(r"^([ *])\s+(\d+)\s+(\d+) (online|off)\s+()(.*?)\s+(\d+)\s+"
                          r"(0x[0-9a-f]{8}) (\S+)", first, re.M)
        ok = check("%s: strata-cpus: 6 CPUs, 6 vCPUs" % name,
                   re.search(r"^strata-cpus: 6 CPUs in use, 6 vCPUs in GDB$", first, re.M)
                   is not None and len(rows) == 6, repr(rows))
        ok &= check("%s: APIC IDs 0 1 2 4 5 6, every CPU online, GDB threads 1-6" % name,
                    [(int(r[1]), int(r[2]), r[3], int(r[6])) for r in rows] ==
                    [(0, 0, "online", 1), (1, 1, "online", 2), (2, 2, "online", 3),
                     (3, 4, "online", 4), (4, 5, "online", 5), (5, 6, "online", 6)], repr(rows))
        ok &= check("%s: CPU 0 (selected) runs main, its vCPU at ktest_smp_boot" % name,
                    rows[:1] and rows[0][0] == "*" and rows[0][5] == "1 'main'"
                    and rows[0][8].startswith("ktest_smp_boot+"), repr(rows[:1]))
        ok &= check("%s: the APs' vCPUs are elsewhere (not in ktest_smp_boot)" % name,
                    len(rows) == 6 and all(not r[8].startswith("ktest_smp_boot") for r in rows[1:]),
                    repr(rows[1:]))
        ok &= check("%s: info threads shows the 6 vCPUs" % name,
                    len(re.findall(r"Thread 1\.\d+ \(CPU#\d", first)) == 6)
        marked = re.findall(r"^\*\s+(\d+)\s+\d+ (?:online|off)", second, re.M)
        ok &= check("%s: after `thread 3`, strata-cpus marks CPU 2" % name, marked == ["2"],
                    repr(marked))
        ok &= check("%s: strata-threads reads main from CPU 0's vCPU, not the selected one" % name,
                    re.search(r"^strata-threads: \d+ threads, running: 1 'main' on cpu 0(, \d+ '\w+' on cpu [1-5])*$", second,
                              re.M) is not None and
                    re.search(r"^\*\s+1\s+0 running:0\s+main\s+0x[0-9a-f]{8} ktest_smp_boot\s",
                              second, re.M) is not None)
        ok &= check("%s: strata-bt 1 walks main on CPU 0 from another vCPU" % name,
                    "strata-bt: thread 1 'main' is running on cpu 0" in second and
                    re.findall(r"^#\d+\s+0x[0-9a-f]{8} ([A-Za-z_]\w*)",
                               second[second.find("strata-bt: thread 1"):], re.M)[:2] ==
                    ["ktest_smp_boot", "kernel_main"])
        if not ok:
            show(output)
    finally:
        qemu.kill()


class GdbWorkflow(unittest.TestCase):
    """One test per case, in this order; each fails if any of its checks
    (the ok/FAIL lines) failed. A case for a later lab is skipped in the
    branches before it."""

    def case(self, what, fn, *args):
        before = failed
        try:
            fn(*args)
        except RuntimeError as e:
            check("%s: QEMU starts" % what, False, str(e))
        self.assertEqual(failed, before, "%d check(s) failed (FAIL lines above)"
                         % (failed - before))

    def need(self, symbol, lab):
        if symbol not in SYMS:
            self.skipTest("lab %d on (no %s)" % (lab, symbol))

    def test_pf_read(self):
        self.case("pf_read", pf_case, "pf_read", "read kernel not-present", 0x0, SYMS, WORKDIR)

    def test_pf_write(self):
        self.case("pf_write", pf_case, "pf_write", "write kernel not-present", 0x2, SYMS,
                  WORKDIR)

    def test_buddy(self):
        self.need("ktest_ppalloc_boot", 2)
        self.case("ppalloc_boot", buddy_case, WORKDIR)

    def test_buddy_host(self):
        if not os.path.exists(os.path.join(ROOT, "tests", "test_buddy.c")):
            self.skipTest("lab 2 on (no tests/test_buddy.c)")
        if subprocess.run(["make", "-s", "--no-print-directory", "build/host/test_buddy"],
                          cwd=ROOT).returncode != 0:
            self.fail("make build/host/test_buddy failed")
        self.case("buddy-host", buddy_host_case, WORKDIR)
        self.case("buddy-host-lost", buddy_host_lost_case, WORKDIR)

    def test_heap(self):
        self.need("ktest_malloc_stress", 6)
        self.case("malloc", heap_case, WORKDIR)

    def test_threads(self):
        self.need("ktest_preempt", 7)
        self.case("threads", threads_case, WORKDIR, SYMS)

    def test_user(self):
        self.need("ktest_user_hello", 7)
        self.case("user", user_case, WORKDIR)

    def test_user_syscall(self):
        self.need("ktest_user_hello", 7)
        self.case("user-syscall", user_syscall_case, WORKDIR, SYMS)

    def test_user_pf(self):
        self.need("ktest_user_faults", 7)
        self.case("user-pf-user_faults", user_pf_case, "user_faults", WORKDIR,
                  "read user not-present", ("main", "src/user/fault.c"), False,
                  r"^user fault: pid \d+ tid \d+ 'fault' page fault va=0x00000000 "
                  r"eip=0x0*{eip} err=0x4 \[read user not-present\] -- killed$")

    def test_user_pf_stack(self):
        self.need("ktest_user_stack", 7)
        self.case("user-pf-user_stack", user_pf_case, "user_stack", WORKDIR,
                  "write user not-present", ("use", "src/user/stack.c"), True,
                  r"^stack: used 1 pages of stack$")

    def test_user_pf_kernel_copy(self):
        self.need("ktest_user_read", 7)
        self.case("user-pf-user_read", user_pf_case, "user_read", WORKDIR,
                  "write kernel not-present", ("ucopy_insn", "uentry.S"), True,
                  r"^input: read into a fresh stack buffer: 11: 'line three'$")

    def test_cpus(self):
        self.need("ktest_smp_boot", 8)
        self.case("cpus", cpus_case, WORKDIR)

    def test_gdbinit(self):
        self.case("gdbinit", gdbinit_case, SYMS, WORKDIR)

    def test_no_qemu(self):
        self.case("no QEMU", no_qemu_case)

    def test_port_race(self):
        self.case("two make qemu-gdb", port_race_case, WORKDIR)


def main():
    global FACTS, SYMS, WORKDIR
    for tool, pkg in ((QEMU, "qemu-system-x86"), (GDB, "gdb"), ("nm", "binutils")):
        if shutil.which(tool) is None:
            check("%s is installed" % tool, False, "sudo apt-get install %s (or: make deps)" % pkg)
    if failed:
        print("%d passed, %d failed" % (passed, failed))
        return 1
    if not os.path.exists(KERNEL):
        print("build/kernel.elf is missing: make kernel")
        if subprocess.run(["make", "kernel"], cwd=ROOT).returncode != 0 \
                or not os.path.exists(KERNEL):
            check("make kernel", False)
            print("%d passed, %d failed" % (passed, failed))
            return 1
    try:
        FACTS = factsmod.load(os.path.join(ROOT, "build"))
    except factsmod.FactsMissing as e:
        check("the kernel's facts", False, str(e))
        print("%d passed, %d failed" % (passed, failed))
        return 1
    started = time.time()
    SYMS = kernel_symbols()
    loader = unittest.TestLoader()
    loader.sortTestMethodsUsing = None	# in the order above
    with tempfile.TemporaryDirectory(prefix="strata-gdb-") as WORKDIR:
        result = unittest.TextTestRunner(stream=sys.stdout, verbosity=0).run(
            loader.loadTestsFromTestCase(GdbWorkflow))
    print("(%.1f s)" % (time.time() - started))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if result.wasSuccessful() and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
