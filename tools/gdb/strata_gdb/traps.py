"""Traps: vector names, trap frames, strata-bt (a backtrace that goes on
through trap frames) and strata-pf (run to the next page fault and explain
it). The trap frame's layout, the vectors and the page-fault error bits are
the kernel's (facts.K), or its debug information's."""

import re
import struct

import gdb

from .facts import K
from .util import (StrataError, eval_addr, out, parse_options, read_bytes, read_u32, register,
                   reported, source_of, split_args, symbol_addr, symbolize, to_int)


def pf_decode(err):
    """The same words as the kernel's pf_decode() (src/kernel/trap.c)."""
    s = "%s %s %s" % ("fetch" if err & K.PF_FETCH else "write" if err & K.PF_WRITE else "read",
                      "user" if err & K.PF_USER else "kernel",
                      "protection" if err & K.PF_PRESENT else "not-present")
    if err & K.PF_RSVD:
        s += " reserved-bit"
    return s


def read_exception(trapno):
    """(mnemonic, name) from exceptions[] in src/kernel/trap.c, or None."""
    table = gdb.parse_and_eval("'trap.c'::exceptions")
    lo, hi = table.type.strip_typedefs().range()
    if not lo <= trapno <= hi:
        return None
    entry = table[trapno]
    return entry["mnemonic"].string(), entry["name"].string()


def kernel_exception(trapno):
    """(mnemonic, name) of a CPU exception from the kernel's own table,
    exceptions[] in src/kernel/trap.c, or None: not an exception, or no
    symbols. The table is read-only data: when the target cannot show it
    (paging still off), GDB reads it from the ELF file instead
    (trust-readonly-sections)."""
    try:
        return read_exception(trapno)
    except (gdb.error, RuntimeError, ValueError, UnicodeDecodeError):
        pass
    try:
        was = gdb.parameter("trust-readonly-sections")
        gdb.execute("set trust-readonly-sections on", to_string=True)
        try:
            return read_exception(trapno)
        finally:
            gdb.execute("set trust-readonly-sections %s" % ("on" if was else "off"),
                        to_string=True)
    except (gdb.error, RuntimeError, ValueError, UnicodeDecodeError):
        return None


def trap_name(trapno):
    if K.T_IRQ0 <= trapno < K.T_IRQ0 + 16:
        return "-", "hardware interrupt (IRQ %d)" % (trapno - K.T_IRQ0)
    if trapno == K.T_SYSCALL:
        return "-", "system call"
    return kernel_exception(trapno) or ("-", "vector %d" % trapno)


def read_trapframe(addr):
    """The trap frame at addr, as a dict of its fields."""
    try:
        t = gdb.lookup_type("struct trapframe")
        fields = [(f.name, f.bitpos // 8) for f in t.fields()]
        size = t.sizeof
    except gdb.error:	# no debug information: the header's layout
        fields = [(n, K.TRAPFRAME[n][0]) for n in K.TRAPFRAME_FIELDS]
        size = K.SIZEOF_TRAPFRAME
    data = read_bytes(addr, size)
    tf = {n: struct.unpack_from("<I", data, off)[0] for n, off in fields}
    tf["addr"] = addr
    return tf


def trap_entry_range():
    """[alltraps, end of trapret) : return addresses there mean 'called by the
    trap entry code', i.e. the callee's first argument is a trap frame."""
    lo, hi = symbol_addr("alltraps"), symbol_addr("trapret")
    if lo is None or hi is None:
        return None
    return lo, hi + 1


def in_trap_entry(pc, rng):
    return rng is not None and rng[0] <= pc < rng[1]


def describe_trapframe(tf):
    mn, name = trap_name(tf["trapno"])
    from_user = tf.get("cs", 0) & 3 == 3
    s = ("trap frame at 0x%08x: vector %d (%s%s) err=0x%x eip=0x%08x cs=0x%x eflags=0x%x"
         % (tf["addr"], tf["trapno"], name, ", #" + mn if mn != "-" else "", tf["err"],
            tf["eip"], tf.get("cs", 0), tf.get("eflags", 0)))
    if from_user:
        s += " user esp=0x%08x ss=0x%x" % (tf.get("esp", 0), tf.get("ss", 0))
    return s


def frame_line(n, pc, is_return_address):
    s = "#%-2d 0x%08x %s" % (n, pc, symbolize(pc))
    src = source_of(pc, is_return_address)
    if src:
        s += " at %s:%d" % src[:2]
    return s


class BtCommand(gdb.Command):
    """Backtrace that continues through trap frames.

Usage: strata-bt [MAX]

Starts with GDB's own unwinding; at a frame in the trap entry code (alltraps,
src/kernel/trapentry.S) it reads the struct trapframe that alltraps built,
prints its vector, error code and eip, and goes on from the interrupted code:
its eip and its saved ebp, following the ebp chain (the kernel is built with
frame pointers) and any further trap frames. MAX frames (default 64)."""

    def __init__(self):
        super().__init__("strata-bt", gdb.COMMAND_STACK)

    @reported("strata-bt")
    def invoke(self, arg, from_tty):
        self.backtrace(eval_addr(arg) if arg.strip() else 64)

    def backtrace(self, limit):
        rng = trap_entry_range()
        out("strata-bt:")
        n = 0
        f = gdb.newest_frame()
        tf = None
        while f is not None and n < limit:
            if f.type() == gdb.INLINE_FRAME:	# its pc is its caller's: one line, not two
                f = f.older()
                continue
            pc = f.pc()
            out(frame_line(n, pc, n > 0))
            n += 1
            if in_trap_entry(pc, rng):
                if n == 1:
                    out("    (stopped inside the trap entry code: no complete trap frame yet)")
                    return
                esp = to_int(f.read_register("esp"))
                tf = read_trapframe(read_u32(esp))	# the argument pushed for trap()
                break
            try:
                f = f.older()
            except gdb.error:
                f = None
        if tf is None:
            return
        seen = set()
        while n < limit:
            out("    --- %s ---" % describe_trapframe(tf))
            out(frame_line(n, tf["eip"], False))
            n, tf_addr = follow_ebp(n + 1, tf["ebp"], limit, seen, frame_line, rng)
            if tf_addr is None:
                return
            tf = read_trapframe(tf_addr)


def follow_ebp(n, ebp, limit, seen, line, rng):
    """Prints the return addresses on the frame-pointer chain from ebp, as
    line(n, ra, True) numbered from n, until limit frames, the end of the
    chain, a frame seen before, or a return into the trap entry code.
    Returns (the next n, the trap frame's address in that last case or None)."""
    while n < limit and ebp and ebp not in seen:
        seen.add(ebp)
        try:
            ra, next_ebp = read_u32(ebp + 4), read_u32(ebp)
        except StrataError:
            out("    (frame pointer 0x%08x is not readable)" % ebp)
            return n, None
        if ra == 0:
            return n, None
        out(line(n, ra, True))
        n += 1
        if in_trap_entry(ra, rng):
            return n, read_u32(ebp + 8)	# trap()'s argument: the trap frame
        ebp = next_ebp
    return n, None


# ---- strata-pf ---------------------------------------------------------------

def page_fault_breakpoint_spec():
    for spec in ("trap.c:page_fault", "page_fault"):
        try:
            gdb.decode_line(spec)
            return spec
        except gdb.error:
            continue
    raise StrataError("no page_fault function in the symbols (is build/kernel.elf loaded?)")


# Where a page fault is handled: the kernel's (trap.c), and from lab 7 on a
# user-mode one's (syscall.c's user_fault, for vector 14 only).
FAULT_FUNCTIONS = ("page_fault", "user_fault")


def in_function(frame, name):
    try:
        return frame is not None and frame.name() == name
    except gdb.error:
        return False


def in_fault_function(frame):
    return any(in_function(frame, name) for name in FAULT_FUNCTIONS)


def user_fault_breakpoint():
    """A temporary breakpoint on user_fault for page faults, or None (no
    user mode in this kernel)."""
    try:
        gdb.decode_line("user_fault")
    except gdb.error:
        return None
    bp = gdb.Breakpoint("user_fault", temporary=True)
    bp.condition = "tf->trapno == 14"
    return bp


def stack_note(va):
    """What va is to the running thread's user stack (lab 7), or None."""
    try:
        try:
            n = max(gdb.selected_thread().num - 1, 0)
        except AttributeError:
            n = 0
        t = gdb.parse_and_eval("cpus[%d].current" % n).dereference()
        guard, low, top = (int(t[f]) for f in ("ustack_guard", "ustack_low", "ustack_top"))
        tid = int(t["tid"])
    except (gdb.error, gdb.MemoryError, RuntimeError):
        return None
    if not top:
        return None
    if guard <= va < guard + 0x1000:
        return ("tid %d's guard page 0x%08x-0x%08x: stack overflow, the process is killed"
                % (tid, guard, guard + 0x1000))
    if guard + 0x1000 <= va < low:
        return ("in tid %d's reserved stack 0x%08x-0x%08x, below its mapped part "
                "0x%08x-0x%08x: the stack grows (%d page(s), from 0x%08x)"
                % (tid, guard + 0x1000, top, low, top, (low - (va & ~0xfff)) // 0x1000,
                   va & ~0xfff))
    return None


def load_user_symbols():
    """For a fault from user mode: the running program's symbols (lab 7's
    strata-user), so that its eip has a name and a source line."""
    try:
        from . import user
    except ImportError:
        return
    try:
        line = user.load_running("strata-pf, a user fault")
    except (StrataError, gdb.error, OSError):
        return
    if line:
        out(line)


def find_trapframe_address(frame):
    """The struct trapframe * of the fault being handled, from page_fault's
    argument, trap()'s, or what alltraps pushed."""
    f = frame
    while f is not None:
        if f.name() in ("page_fault", "user_fault", "trap", "user_trap"):
            try:
                v = f.read_var("tf")
                if not v.is_optimized_out:
                    return to_int(v)
            except (gdb.error, ValueError):
                pass
        if f.name() == "alltraps":
            return read_u32(to_int(f.read_register("esp")))
        f = f.older()
    raise StrataError("cannot find the trap frame (no tf in page_fault/trap, no alltraps frame)")


def cr2_by_stepping(frame):
    """Runs page_fault up to just after its `mov %cr2, REG` and reads REG: the
    way to get CR2 when the gdbstub does not expose the control registers."""
    start = to_int(frame.function().value()) if frame.function() else frame.pc()
    insns = frame.architecture().disassemble(start, count=64)
    for i, insn in enumerate(insns):
        m = re.search(r"mov\s+%cr2,\s*%(\w+)|mov\s+(\w+),\s*cr2", insn["asm"])
        if m and i + 1 < len(insns):
            reg = m.group(1) or m.group(2)
            after = insns[i + 1]["addr"]
            if frame.pc() > insn["addr"]:
                raise StrataError("already past the cr2 read in page_fault")
            bp = gdb.Breakpoint("*0x%x" % after, internal=True, temporary=True)
            try:
                gdb.execute("continue", to_string=True)
            finally:
                if bp.is_valid():
                    bp.delete()
            if gdb.newest_frame().pc() != after:
                raise StrataError("did not reach the instruction after the cr2 read")
            return register(reg), "read from %%%s after `%s` at 0x%08x" % (
                reg, insn["asm"].strip(), insn["addr"])
    raise StrataError("no `mov %cr2` in the first 64 instructions of page_fault")


class PfCommand(gdb.Command):
    """Run to the next page fault and explain it.

Usage: strata-pf [--now] [--cr2=auto|reg|step]      (alias: pf)

Sets a temporary breakpoint on the page-fault handler (page_fault in
src/kernel/trap.c), continues, and when it stops prints:
  strata-pf: va=0x........ err=0x. [read kernel not-present] eip=0x........ <sym+off>
then the faulting instruction (x/i tf->eip), its source line, and the trap
frame. va is CR2 (read from QEMU's gdbstub as $cr2); err is tf->err decoded
(read/write/fetch, kernel/user, not-present/protection, reserved-bit).
Sets $pf_va, $pf_err, $pf_eip and $pf_tf, e.g. for `walk $pf_va`.

--now     explain the fault being handled now instead of continuing (when
          already stopped in page_fault).
--cr2=reg only read $cr2; --cr2=step only run page_fault up to its own
          `mov %cr2` and read that register (for gdbstubs without control
          registers); auto (the default) tries $cr2 first."""

    def __init__(self):
        super().__init__("strata-pf", gdb.COMMAND_RUNNING)

    @reported("strata-pf")
    def invoke(self, arg, from_tty):
        opts, pos = parse_options(split_args(arg), ["now"], ["cr2"])
        method = opts.get("cr2", "auto")
        if pos or method not in ("auto", "reg", "step"):
            raise StrataError("usage: strata-pf [--now] [--cr2=auto|reg|step]")
        if not opts.get("now"):
            self.run_to_fault()
        self.report(method)

    def run_to_fault(self):
        spec = page_fault_breakpoint_spec()
        bps = [gdb.Breakpoint(spec, temporary=True), user_fault_breakpoint()]
        try:
            gdb.execute("continue")
        except gdb.error as e:
            raise StrataError("no page fault: the kernel ended without one (%s)" % e)
        finally:
            for bp in bps:
                if bp is not None and bp.is_valid():
                    bp.delete()
        try:
            frame = gdb.newest_frame()
        except gdb.error:
            raise StrataError("no page fault: the target is gone")
        if not in_fault_function(frame):
            raise StrataError("stopped elsewhere (0x%08x %s), not in page_fault"
                              % (frame.pc(), symbolize(frame.pc())))

    def report(self, method):
        frame = gdb.newest_frame()
        if not in_fault_function(frame):
            raise StrataError("not stopped in page_fault (use strata-pf without --now)")
        tf_addr = find_trapframe_address(frame)
        tf = read_trapframe(tf_addr)
        if tf["trapno"] != 14:
            out("warning: the trap frame's vector is %d, not 14" % tf["trapno"])

        va, how = None, None
        if method in ("auto", "reg"):
            va = register("cr2")
            how = "$cr2 from QEMU's gdbstub"
        if va is None:
            if method == "reg":
                raise StrataError("the gdbstub does not expose $cr2 (try --cr2=step)")
            va, how = cr2_by_stepping(frame)

        err, eip = tf["err"], tf["eip"]
        if tf.get("cs", 0) & 3 == 3:
            load_user_symbols()
        sym = symbolize(eip)
        out("strata-pf: va=0x%08x err=0x%x [%s] eip=0x%08x <%s>"
            % (va, err, pf_decode(err), eip, sym))
        try:
            out(gdb.execute("x/i 0x%x" % eip, to_string=True).rstrip("\n"))
        except gdb.error as e:
            out("   (cannot disassemble at 0x%08x: %s)" % (eip, e))
        src = source_of(eip)
        if src:
            out("  source: %s:%d%s" % (src[0], src[1], ":  " + src[2] if src[2] else ""))
        else:
            out("  source: unknown (no line information for 0x%08x)" % eip)
        out("  cr2:    %s" % how)
        out("  %s" % describe_trapframe(tf))
        note = stack_note(va) if not err & 1 else None
        if note:
            out("  stack:  %s" % note)
        out("  regs:   eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x"
            % (tf["eax"], tf["ebx"], tf["ecx"], tf["edx"]))
        out("          esi=0x%08x edi=0x%08x ebp=0x%08x"
            % (tf["esi"], tf["edi"], tf["ebp"]))
        for name, value in (("pf_va", va), ("pf_err", err), ("pf_eip", eip), ("pf_tf", tf_addr)):
            gdb.set_convenience_variable(name, value)
        out("  next:   walk $pf_va | strata-bt | x/8i $pf_eip | p *(struct trapframe *)$pf_tf")
