#@ LAB 8 FILE
# GDB helpers for Strata's CPUs (lab 8: src/kernel/cpu.h, smp.c, lock.c).
#
#   strata-cpus      every CPU in use: id, APIC ID, online, the thread it
#                    runs, the GDB thread that is its vCPU, where that vCPU
#                    is (eip, symbolized), the locks it holds, LAPIC ticks
#
# QEMU's gdbstub shows each vCPU as a GDB thread: vCPU k (QEMU's CPU index,
# which is Strata's cpus[] index, since both number the CPUs in MADT order)
# is the thread whose ptid has lwp k + 1. `info threads` lists them;
# `thread N` switches the registers GDB shows to that vCPU. strata-cpus
# reads each vCPU's eip by switching to its thread and back, so the
# selected thread does not change. strata-threads (threads.py) uses
# vcpu_registers() too: a thread running on CPU k is read from vCPU k.
#
# A module of the strata_gdb package (tools/gdb/strata.py loads it when a
# branch has it: lab 8 on).

import gdb

from .util import StrataError, out, reported, symbolize


def eval_expr(expr):
    try:
        return gdb.parse_and_eval(expr)
    except gdb.error as e:
        raise StrataError("cannot read %s (%s): is this a lab 8 kernel?" % (expr, e))


def vcpu_threads():
    """{cpu index: gdb.InferiorThread} of the vCPUs GDB sees."""
    out_ = {}
    for t in gdb.selected_inferior().threads():
        lwp = t.ptid[1] or t.num
        out_[lwp - 1] = t
    return out_


def vcpu_registers(k, names=("eip", "esp")):
    """The registers of vCPU k as a tuple of ints, or None if GDB has no
    such thread. The selected thread and frame are restored."""
    t = vcpu_threads().get(k)
    if t is None:
        return None
    old = gdb.selected_thread()
    try:
        frame = gdb.selected_frame() if old is not None else None
    except gdb.error:
        frame = None
    try:
        t.switch()
        f = gdb.newest_frame()
        return tuple(int(f.read_register(n)) & 0xFFFFFFFF for n in names)
    finally:
        if old is not None and old.is_valid():
            old.switch()
            if frame is not None and frame.is_valid():
                frame.select()


def held_locks(k):
    """Names of the locks CPU k holds, innermost last (lock.c's held stack,
    kept in the debug build), or None when the kernel has none."""
    try:
        n = int(gdb.parse_and_eval("n_held[%d]" % k))
        stack = gdb.parse_and_eval("held[%d]" % k)
    except gdb.error:
        return None
    return [stack[i]["name"].string() for i in range(max(0, min(n, 64)))]


class StrataCpusCommand(gdb.Command):
    """List the CPUs: APIC ID, ticks, running thread, vCPU eip, locks held.

Usage: strata-cpus

One line per CPU in use (cpus[0 .. ncpu)): its id, APIC ID, whether it is
online, the thread it runs (cpus[i].current), the eip of its vCPU (GDB
thread N: `thread N` selects it), the locks it holds (innermost last) and
its LAPIC timer's ticks. The CPU of the selected GDB thread is marked *."""

    def __init__(self):
        super().__init__("strata-cpus", gdb.COMMAND_STATUS)

    @reported("strata-cpus")
    def invoke(self, arg, from_tty):
        n = int(eval_expr("ncpu"))
        threads = vcpu_threads()
        sel = gdb.selected_thread()
        out("strata-cpus: %d CPU%s in use, %d vCPU%s in GDB" % (
            n, "" if n == 1 else "s", len(threads), "" if len(threads) == 1 else "s"))
        out("  %3s %4s %-7s %-20s %-6s %-30s %-12s %s" % ("CPU", "APIC", "STATE", "THREAD",
                                                         "GDB", "EIP", "LOCKS", "TICKS"))
        for k in range(n):
            c = eval_expr("cpus[%d]" % k)
            cur = int(c["current"])
            who = "-" if cur == 0 else "%d '%s'" % (int(c["current"]["tid"]),
                                                   c["current"]["name"].string())
            regs = vcpu_registers(k, ("eip",))
            eip = "(no vCPU)" if regs is None else "0x%08x %s" % (regs[0], symbolize(regs[0]))
            gt = threads.get(k)
            locks = held_locks(k)
            out("%s %3d %4d %-7s %-20s %-6s %-30s %-12s %d" % (
                "*" if gt is not None and sel is not None and gt.num == sel.num else " ",
                int(c["id"]), int(c["apic_id"]), "online" if int(c["online"]) else "off",
                who, "-" if gt is None else str(gt.num), eip,
                "?" if locks is None else (" ".join(locks) or "-"), int(c["ticks"])))


def load(plain_bt=None):
    StrataCpusCommand()
