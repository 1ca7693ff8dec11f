#@ LAB 7 FILE
# GDB helpers for Strata's threads (lab 7, src/kernel/thread.h, sched.c).
#
#   strata-threads         every thread: tid, process, state (and the wait
#                          queue it sleeps on), name, saved eip and esp, stack
#   strata-bt TID [MAX]    the backtrace of thread TID; for a thread that is
#                          not running it walks the stack from the registers
#                          switch_threads saved (its struct context), through
#                          trap frames (a preempted thread was switched away
#                          inside the timer interrupt)
#   strata-bt              as before: the running code's backtrace
#
# A thread that is not running has, at t->context, what switch_threads
# pushed: edi, esi, ebx, ebp, then the return address into sched(). So its
# saved eip is context->eip, its saved esp is the address just above that
# frame (context + 20, where switch_threads returns), and the ebp chain from
# context->ebp is its call stack. A new thread's frame says eip =
# thread_start, ebp = 0. A running thread (cpus[k].current for each CPU k
# in use: ncpu of them from lab 8 on, else cpus[0] alone) is read from the
# live registers: from lab 8 on those of vCPU k (cpus.py: GDB shows each
# vCPU as a thread), and its state says its CPU, running:k.
#
# A module of the strata_gdb package (tools/gdb/strata.py loads it when a
# branch has it: lab 7 on).

import re

import gdb

from .traps import follow_ebp, trap_entry_range
from .util import StrataError, out, read_u32, reported, split_args, symbol_addr

CONTEXT_SIZE = 20	# struct context: edi esi ebx ebp eip
MAX_THREADS = 10000	# a list longer than this is corrupt (or circular)


def eval_expr(expr):
    try:
        return gdb.parse_and_eval(expr)
    except gdb.error as e:
        raise StrataError("cannot read %s (%s): is this a lab 7 kernel, stopped after "
                          "process_init?" % (expr, e))


try:	# lab 8 on: the registers of another vCPU
    from .cpus import vcpu_registers
except ImportError:
    vcpu_registers = None


def ncpus():
    """The CPUs in use: ncpu from lab 8 on, else 1."""
    try:
        return max(1, int(gdb.parse_and_eval("ncpu")))
    except gdb.error:
        return 1


def running():
    """{address of a running thread: its CPU} (cpus[k].current)."""
    eval_expr("cpus[0].current")
    found = {}
    for k in range(ncpus()):
        t = int(gdb.parse_and_eval("cpus[%d].current" % k))
        if t:
            found[t] = k
    return found


def thread_list():
    """Every thread on all_threads, as gdb.Values (struct thread)."""
    threads = []
    t = eval_expr("all_threads")
    while int(t) != 0:
        if len(threads) >= MAX_THREADS:
            raise StrataError("all_threads has more than %d entries: the list is corrupt"
                              % MAX_THREADS)
        threads.append(t.dereference())
        t = t["all_next"]
    return threads


def thread_state(t, cpu=None):
    """Its state; for a blocked thread the wait queue (blocked:join), for
    a running one on a machine of several CPUs its CPU (running:1)."""
    state = str(t["state"]).replace("THREAD_", "").lower()
    if state == "blocked" and int(t["waiting"]) != 0:
        state += ":" + t["waiting"]["name"].string()
    if state == "running" and cpu is not None and ncpus() > 1:
        state += ":%d" % cpu
    return state


def symbol(pc):
    """'name+0xoff' for pc (C and assembly symbols), or '?'."""
    try:
        s = gdb.execute("info symbol 0x%x" % pc, to_string=True).strip()
    except gdb.error:
        return "?"
    m = re.match(r"(\S+)(?: \+ (\d+))? in section", s)
    if not m:
        return "?"
    return m.group(1) + ("+0x%x" % int(m.group(2)) if m.group(2) else "")


def source(pc, is_return_address):
    sal = gdb.find_pc_line(pc - 1 if is_return_address else pc)
    if sal.symtab is None or sal.line == 0:
        return ""
    return " at %s:%d" % (sal.symtab.filename, sal.line)


def thread_frame_line(n, pc, is_return_address):
    return "#%-2d 0x%08x %s%s" % (n, pc, symbol(pc), source(pc, is_return_address))


def live(cpu, names=("eip", "esp")):
    """The registers of the vCPU of CPU cpu (lab 8), else the selected
    frame's."""
    if vcpu_registers is not None and cpu is not None:
        regs = vcpu_registers(cpu, names)
        if regs is not None:
            return regs
    frame = gdb.selected_frame()
    return tuple(int(frame.read_register(n)) & 0xFFFFFFFF for n in names)


def saved(t, is_running, cpu=None):
    """(eip, esp) of thread t: live registers for a running one (those of
    its CPU's vCPU), else the ones its saved context gives."""
    if is_running:
        return live(cpu)
    ctx = int(t["context"])
    if ctx == 0:
        return None, None
    return read_u32(ctx + 16), ctx + CONTEXT_SIZE


class StrataThreadsCommand(gdb.Command):
    """List the kernel's threads with their saved registers.

Usage: strata-threads

One line per thread on all_threads (newest first): tid, pid, state (for a
blocked thread, the name of the wait queue it sleeps on; for a running one
with several CPUs, its CPU: running:1), name, saved eip (symbolized) and
esp, and its kernel stack. For a thread that is not running they come from
the struct context switch_threads left on its stack; for a running thread
(marked *) from the live registers of the vCPU that runs it."""

    def __init__(self):
        super().__init__("strata-threads", gdb.COMMAND_STATUS)

    @reported("strata-threads")
    def invoke(self, arg, from_tty):
        on = running()
        threads = thread_list()
        now = sorted(((on[int(t.address)], t) for t in threads if int(t.address) in on),
                     key=lambda x: x[0])
        several = ncpus() > 1
        out("strata-threads: %d thread%s, running: %s" % (
            len(threads), "" if len(threads) == 1 else "s",
            ", ".join("%d '%s'%s" % (int(t["tid"]), t["name"].string(),
                                     " on cpu %d" % k if several else "")
                      for k, t in now) or "none"))
        out("  %4s %4s %-14s %-16s %-36s %-10s %s" % ("TID", "PID", "STATE", "NAME",
                                                      "SAVED EIP", "SAVED ESP", "STACK"))
        for t in threads:
            cpu = on.get(int(t.address))
            eip, esp = saved(t, cpu is not None, cpu)
            lo = int(t["stack"])
            hi = lo + int(t["stack_pages"]) * 4096
            where = "%-36s %-10s" % ("(none)", "") if eip is None else \
                "%-36s 0x%08x" % ("0x%08x %s" % (eip, symbol(eip)), esp)
            out("%s %4d %4d %-14s %-16s %s 0x%08x-0x%08x" % (
                "*" if cpu is not None else " ", int(t["tid"]), int(t["process"]["pid"]),
                thread_state(t, cpu), t["name"].string(), where, lo, hi))


class StrataThreadsBtCommand(gdb.Command):
    """Backtrace of a thread, running or not, through trap frames.

Usage: strata-bt [TID [MAX]]

Without TID: the running code's backtrace (GDB's frames, then on through
trap frames). With TID: that thread's. For a thread that is not running it
starts at the saved context (the return address into sched() and the saved
%ebp) and follows the %ebp chain; at a return into the trap entry code
(alltraps) it reads the struct trapframe trap() was given and goes on from
the interrupted eip and ebp. MAX frames (default 64)."""

    def __init__(self, plain):
        super().__init__("strata-bt", gdb.COMMAND_STACK)
        self.plain = plain

    @reported("strata-bt")
    def invoke(self, arg, from_tty):
        args = split_args(arg)
        if not args:
            return self.plain(64)
        tid = int(args[0], 0)
        limit = int(args[1], 0) if len(args) > 1 else 64
        on = running()
        for t in thread_list():
            if int(t["tid"]) == tid:
                break
        else:
            raise StrataError("no thread %d on all_threads (strata-threads lists them)" % tid)
        cpu = on.get(int(t.address))
        if cpu is not None and (vcpu_registers is None or ncpus() == 1 or
                                cpu == selected_cpu()):
            out("strata-bt: thread %d '%s' is running: its live frames" % (
                tid, t["name"].string()))
            return self.plain(limit)
        if cpu is not None:	# on another CPU: from its vCPU's eip and ebp
            eip, ebp = live(cpu, ("eip", "ebp"))
            out("strata-bt: thread %d '%s' is running on cpu %d: from its vCPU's eip and ebp"
                % (tid, t["name"].string(), cpu))
            return self.walk(eip, ebp, limit, False)
        ctx = int(t["context"])
        if ctx == 0:
            raise StrataError("thread %d has no saved context" % tid)
        out("strata-bt: thread %d '%s' (%s), saved context at 0x%08x:" % (
            tid, t["name"].string(), thread_state(t), ctx))
        pc = read_u32(ctx + 16)
        self.walk(pc, read_u32(ctx + 12), limit, pc != symbol_addr("thread_start"))

    @staticmethod
    def walk(pc, ebp, limit, is_return_address=True):
        rng, seen = trap_entry_range(), set()
        out(thread_frame_line(0, pc, is_return_address))
        n = 1
        while True:
            n, tf = follow_ebp(n, ebp, limit, seen, thread_frame_line, rng)
            if tf is None:
                return
            frame = gdb.Value(tf).cast(
                gdb.lookup_type("struct trapframe").pointer()).dereference()
            eip = int(frame["eip"])
            out("    --- trap frame at 0x%08x: vector %d, eip=0x%08x ---"
                % (tf, int(frame["trapno"]), eip))
            if n < limit:
                out(thread_frame_line(n, eip, False))
                n += 1
            ebp = int(frame["ebp"])


def selected_cpu():
    """The CPU of the selected GDB thread (vCPU lwp - 1), or None."""
    t = gdb.selected_thread()
    return None if t is None else (t.ptid[1] or t.num) - 1


def load(plain_bt=None):
    """plain_bt: the strata-bt command of traps.py, whose backtrace of the
    running code a TID-less strata-bt still prints."""
    StrataThreadsCommand()
    if plain_bt is not None:
        StrataThreadsBtCommand(plain_bt.backtrace)
    else:
        StrataThreadsBtCommand(lambda limit: gdb.execute("backtrace %d" % limit))
