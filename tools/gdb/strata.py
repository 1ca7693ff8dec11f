# GDB helpers for Strata (sourced by the repository's .gdbinit).
#
#   strata-pf   (pf)    run to the next page fault and explain it
#   strata-walk (walk)  translate a virtual address by hand, entry by entry
#   strata-maps         list the mapped ranges of an address space
#   strata-bt           backtrace that continues through trap frames
#   strata-connect      connect to the QEMU started by `make qemu-gdb`
#
# Every command prints a first line starting with its own name, so the output
# can be grepped (tools/gdb/test_gdb.py does). The helpers only read the
# target: memory through GDB, the control registers through QEMU's gdbstub,
# and physical memory through QEMU's "Qqemu.PhyMemMode" packet (--phys).
#
# Page tables are reached the way the kernel reaches them: the active
# directory through its recursive slot (directory at 0xFFFFF000, page table i
# at 0xFFC00000 + i * 4096), another directory through its struct pagedir
# (lab 4: the directory's virtual address, struct vpde records for the user
# half, kvpd for the kernel half). Nothing here needs those lab-4 symbols to
# exist; commands that want them say so when they are missing.

import contextlib
import inspect
import os
import re
import socket
import struct
import sys
import time

import gdb

# The helpers this file shares with strata_mm.py and strata_heap.py are in
# strata_gdbutil.py, next to it. GDB keeps the outer file's __file__ while one
# Python file sources another, so the code object's file name says where
# this file is.
_here = os.path.dirname(os.path.abspath(inspect.currentframe().f_code.co_filename))
if _here not in sys.path:
    sys.path.insert(0, _here)
from strata_gdbutil import (PAGE, StrataError, eval_addr, out, paging_enabled, plural,
                            read_bytes, read_u32, read_u32s, register, reported,
                            split_args, to_int)

KERNBASE = 0xC0000000
RECURSIVE_BASE = 0xFFC00000
RECURSIVE_SLOT = 1023
RECURSIVE_DIR = RECURSIVE_BASE + RECURSIVE_SLOT * PAGE	# 0xFFFFF000
USER_PDES = KERNBASE >> 22				# 768 PDEs below KERNBASE

PTE_P, PTE_W, PTE_U, PTE_PWT, PTE_PCD, PTE_A, PTE_D, PTE_PS, PTE_G = \
    0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x100
FLAG_NAMES = [(PTE_P, "P"), (PTE_W, "W"), (PTE_U, "U"), (PTE_PWT, "PWT"),
              (PTE_PCD, "PCD"), (PTE_A, "A"), (PTE_D, "D"), (PTE_PS, "PS"),
              (PTE_G, "G")]

PF_PRESENT, PF_WRITE, PF_USER, PF_RSVD, PF_FETCH = 0x1, 0x2, 0x4, 0x8, 0x10

# The CPU exceptions as the kernel names them: a copy of exceptions[] in
# src/kernel/trap.c (keep the two in step), used when the kernel's own table
# cannot be read (see trap_name).
EXCEPTIONS = [
    ("DE", "divide error"), ("DB", "debug"), ("NMI", "non-maskable interrupt"),
    ("BP", "breakpoint"), ("OF", "overflow"), ("BR", "bound range exceeded"),
    ("UD", "invalid opcode"), ("NM", "device not available"),
    ("DF", "double fault"), ("CSO", "coprocessor segment overrun"),
    ("TS", "invalid TSS"), ("NP", "segment not present"),
    ("SS", "stack-segment fault"), ("GP", "general protection"),
    ("PF", "page fault"), ("15", "reserved"), ("MF", "x87 floating-point error"),
    ("AC", "alignment check"), ("MC", "machine check"),
    ("XM", "SIMD floating-point exception"), ("VE", "virtualization exception"),
    ("CP", "control protection"), ("22", "reserved"), ("23", "reserved"),
    ("24", "reserved"), ("25", "reserved"), ("26", "reserved"),
    ("27", "reserved"), ("HV", "hypervisor injection"),
    ("VC", "VMM communication"), ("SX", "security exception"), ("31", "reserved"),
]
T_IRQ0, T_SYSCALL = 32, 128	# src/kernel/trap.h
TRAP_NAMES = dict(enumerate(EXCEPTIONS))
TRAP_NAMES[T_SYSCALL] = ("-", "system call")

# Offsets of struct trapframe (src/kernel/trap.h), used when the debug
# information does not describe it.
TRAPFRAME_FIELDS = ["edi", "esi", "ebp", "oesp", "ebx", "edx", "ecx", "eax",
                    "gs", "fs", "es", "ds", "trapno", "err", "eip", "cs",
                    "eflags", "esp", "ss"]


# ---- small utilities ---------------------------------------------------------

def symbol_addr(name):
    """The address of a (possibly assembly) symbol, or None."""
    try:
        return to_int(gdb.parse_and_eval("&" + name))
    except gdb.error:
        return None


def symbolize(pc):
    """'name+off' (decimal offset, as GDB prints it), or '??'."""
    try:
        s = gdb.execute("info symbol 0x%x" % pc, to_string=True).strip()
    except gdb.error:
        return "??"
    m = re.match(r"(\S+)(?: \+ (\d+))? in section", s)
    if not m:
        return "??"
    return "%s+%s" % (m.group(1), m.group(2) or "0")


def source_of(pc, is_return_address=False):
    """(file, line, text) of pc, or None. For a return address, look up the
    call instruction before it."""
    sal = gdb.find_pc_line(pc - 1 if is_return_address else pc)
    if sal.symtab is None or sal.line == 0:
        return None
    text = None
    try:
        with open(sal.symtab.fullname()) as f:
            lines = f.read().split("\n")
        if 0 < sal.line <= len(lines):
            text = lines[sal.line - 1].strip()
    except (OSError, UnicodeDecodeError, gdb.error):
        pass
    return sal.symtab.filename, sal.line, text


def flags_str(entry, names=FLAG_NAMES):
    return " ".join(n for bit, n in names if entry & bit)


def pf_decode(err):
    """The same words as the kernel's pf_decode() (src/kernel/trap.c)."""
    s = "%s %s %s" % ("fetch" if err & PF_FETCH else "write" if err & PF_WRITE else "read",
                      "user" if err & PF_USER else "kernel",
                      "protection" if err & PF_PRESENT else "not-present")
    if err & PF_RSVD:
        s += " reserved-bit"
    return s


def parse_options(argv, flags, valued=()):
    """Splits --flag and --name=VALUE / --name VALUE options from positionals."""
    opts, pos = {}, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--") and len(a) > 2:
            name, eq, val = a[2:].partition("=")
            if name in flags and not eq:
                opts[name] = True
            elif name in valued:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        raise StrataError("option --%s needs a value" % name)
                    val = argv[i]
                opts[name] = val
            else:
                raise StrataError("unknown option %s" % a)
        else:
            pos.append(a)
        i += 1
    return opts, pos


@contextlib.contextmanager
def physical_memory():
    """Makes GDB's memory accesses physical for the duration (QEMU only)."""
    try:
        reply = gdb.execute("maint packet Qqemu.PhyMemMode:1", to_string=True)
    except gdb.error as e:
        raise StrataError("cannot switch QEMU to physical memory mode: %s" % e)
    if '"OK"' not in reply:
        raise StrataError("this gdbstub does not support physical memory mode "
                          "(Qqemu.PhyMemMode); use the recursive window instead")
    gdb.execute("maint flush dcache", to_string=True)
    try:
        yield
    finally:
        gdb.execute("maint packet Qqemu.PhyMemMode:0", to_string=True)
        gdb.execute("maint flush dcache", to_string=True)


def pse_enabled():
    cr4 = register("cr4")
    return cr4 is not None and bool(cr4 & 0x10)


# ---- where the page tables are read from -----------------------------------

class RecursiveSource:
    """The active directory, through its recursive slot."""
    def __init__(self):
        cr3 = register("cr3")
        self.name = "recursive window (active directory%s)" % (
            ", cr3=0x%08x" % (cr3 & ~0xFFF) if cr3 is not None else "")
        try:
            slot = read_u32(RECURSIVE_DIR + 4 * RECURSIVE_SLOT)
        except StrataError:
            raise StrataError("the recursive window at 0x%08x is not readable "
                              "(is paging on, is PDE %d set?); try --phys"
                              % (RECURSIVE_DIR, RECURSIVE_SLOT))
        if cr3 is not None and (slot & ~0xFFF) != (cr3 & ~0xFFF):
            out("warning: PDE %d = 0x%08x does not point at the directory in cr3 "
                "(0x%08x): the recursive window shows something else"
                % (RECURSIVE_SLOT, slot, cr3 & ~0xFFF))

    def pde_addr(self, pdi):
        return RECURSIVE_DIR + 4 * pdi

    def directory(self):
        return read_u32s(RECURSIVE_DIR, 1024)

    def table_addr(self, pdi, pde):
        return RECURSIVE_BASE + pdi * PAGE

    def context(self):
        return contextlib.nullcontext()


class PhysSource:
    """A directory read from physical memory (QEMU's physical mode)."""
    def __init__(self, dir_pa, what):
        self.dir_pa = dir_pa & ~0xFFF
        self.name = "physical memory (%s, directory at pa 0x%08x)" % (what, self.dir_pa)

    def pde_addr(self, pdi):
        return self.dir_pa + 4 * pdi

    def directory(self):
        return read_u32s(self.dir_pa, 1024)

    def table_addr(self, pdi, pde):
        return pde & ~0xFFF

    def context(self):
        return physical_memory()


def field(value, names):
    """The first of the fields `names` that value's struct has."""
    have = {f.name for f in value.type.strip_typedefs().fields()}
    for n in names:
        if n in have:
            return value[n]
    raise StrataError("%s has none of the fields %s" % (value.type, ", ".join(names)))


class PagedirSource:
    """A struct pagedir (lab 4): directory through its virtual address, page
    tables through its vpdes (user half) and kvpd (kernel half)."""
    def __init__(self, expr):
        try:
            v = gdb.parse_and_eval(expr)
        except gdb.error as e:
            raise StrataError("cannot evaluate PAGEDIR '%s': %s" % (expr, e))
        t = v.type.strip_typedefs()
        if t.code == gdb.TYPE_CODE_FUNC:
            raise StrataError("PAGEDIR '%s' is a function; give a variable instead, "
                              "e.g. active or &init_pd (src/mm/paging.c)" % expr)
        if t.code == gdb.TYPE_CODE_INT:
            try:
                v = v.cast(gdb.lookup_type("struct pagedir").pointer())
            except gdb.error:
                raise StrataError("no struct pagedir in the kernel's debug information "
                                  "(it arrives with lab 4, src/mm/paging.c)")
            t = v.type.strip_typedefs()
        if t.code == gdb.TYPE_CODE_PTR:
            if int(v) == 0:
                raise StrataError("PAGEDIR '%s' is NULL" % expr)
            v = v.dereference()
        if v.type.strip_typedefs().code != gdb.TYPE_CODE_STRUCT:
            raise StrataError("PAGEDIR '%s' is a %s, not a struct pagedir" % (expr, v.type))
        self.pd = v
        try:
            self.virt = to_int(field(v, ["virt", "virtual", "vaddr", "va", "dir", "pgdir"]))
            try:
                self.phys = to_int(field(v, ["phys", "physical", "paddr", "pa"]))
            except StrataError:
                self.phys = None
        except gdb.MemoryError:
            raise StrataError("cannot read the struct pagedir at 0x%08x (PAGEDIR '%s')"
                              % (to_int(v.address) if v.address is not None else 0, expr))
        self.vpdes = field(v, ["vpdes", "vpde", "tables"])
        try:
            self.kvpd = gdb.parse_and_eval("kvpd")
        except gdb.error:
            self.kvpd = None
        self.name = "struct pagedir %s (directory at 0x%08x%s)" % (
            expr, self.virt, ", pa 0x%08x" % self.phys if self.phys is not None else "")

    def pde_addr(self, pdi):
        return self.virt + 4 * pdi

    def directory(self):
        return read_u32s(self.virt, 1024)

    def table_addr(self, pdi, pde):
        if pdi == RECURSIVE_SLOT:
            return self.virt
        if pdi < USER_PDES:
            rec, what = self.vpdes[pdi], "%s.vpdes[%d]" % ("pd", pdi)
        else:
            if self.kvpd is None:
                raise StrataError("no kvpd symbol for the kernel page tables (lab 4); "
                                  "try --phys")
            rec, what = self.kvpd[pdi - USER_PDES], "kvpd[%d]" % (pdi - USER_PDES)
        table = to_int(field(rec, ["table", "virt", "pt", "va"]))
        if table == 0:
            raise StrataError("the PDE is present but %s.table is NULL "
                              "(the vpde records and the directory disagree)" % what)
        return table

    def context(self):
        return contextlib.nullcontext()


def choose_source(pagedir=None, phys=False):
    if pagedir is not None and not phys:
        return PagedirSource(pagedir)
    if phys:
        if pagedir is not None:
            pd = PagedirSource(pagedir)
            if pd.phys is None:
                raise StrataError("struct pagedir has no physical address field")
            return PhysSource(pd.phys, "pagedir %s" % pagedir)
        cr3 = register("cr3")
        if cr3 is None:
            raise StrataError("the gdbstub does not expose cr3")
        return PhysSource(cr3, "cr3")
    if not paging_enabled():
        raise StrataError("paging is off (cr0.PG = 0): virtual = physical")
    return RecursiveSource()


# ---- strata-walk -------------------------------------------------------------

def walk(va, src):
    """Returns (first_line, detail_lines) for va in the address space src."""
    pdi, pti, off = va >> 22, (va >> 12) & 0x3FF, va & 0xFFF
    lines = ["  via: %s" % src.name]
    with src.context():
        pde_addr = src.pde_addr(pdi)
        pde = read_u32(pde_addr)
        lines.append("  PDE[%d] @0x%08x = 0x%08x  [%s]" % (pdi, pde_addr, pde, flags_str(pde)))
        if not pde & PTE_P:
            return "strata-walk: va=0x%08x not mapped (PDE not present)" % va, lines
        if pde & PTE_PS:
            if pse_enabled():
                pa = (pde & 0xFFC00000) | (va & 0x3FFFFF)
                lines[-1] += "  4 MiB page at pa 0x%08x" % (pde & 0xFFC00000)
                return ("strata-walk: va=0x%08x -> pa=0x%08x [%s]"
                        % (va, pa, flags_str(pde & ~PTE_PS)), lines)
            lines.append("  (PS is set but cr4.PSE is off: the CPU ignores it)")
        lines[-1] += "  page table at pa 0x%08x" % (pde & ~0xFFF)
        table = src.table_addr(pdi, pde)
        pte_addr = table + 4 * pti
        pte = read_u32(pte_addr)
        lines.append("  PTE[%d] @0x%08x = 0x%08x  [%s]" % (pti, pte_addr, pte, flags_str(pte)))
        if not pte & PTE_P:
            return "strata-walk: va=0x%08x not mapped (PTE not present)" % va, lines
        lines[-1] += "  page at pa 0x%08x" % (pte & ~0xFFF)
        lines.append("  offset 0x%03x" % off)
        pa = (pte & ~0xFFF) | off
        # What the CPU allows: W and U only if both levels grant them.
        eff = pte & ~(PTE_W | PTE_U) | (pte & pde & (PTE_W | PTE_U))
        return "strata-walk: va=0x%08x -> pa=0x%08x [%s]" % (va, pa, flags_str(eff)), lines


class WalkCommand(gdb.Command):
    """Translate a virtual address by walking the page tables in software.

Usage: strata-walk [--phys] ADDR [PAGEDIR]      (alias: walk)

ADDR is any expression (0xdeadb000, &kernel_main, kernel_main, $pf_va).
Prints the PDE and PTE that translate it, each with its index, address, value
and flags (P present, W writable, U user, A accessed, D dirty, PS 4 MiB page,
G global, PWT/PCD caching), then the physical address, or where the walk stops.
The first line is greppable:
  strata-walk: va=0x........ -> pa=0x........ [P W ...]   (W and U as the CPU
                                                            combines both levels)
  strata-walk: va=0x........ not mapped (PDE not present)
  strata-walk: va=0x........ not mapped (PTE not present)

Without PAGEDIR the active directory is read through its recursive slot: the
directory at 0xFFFFF000, page table i at 0xFFC00000 + i*4096.
PAGEDIR is an expression giving a struct pagedir (lab 4), e.g. `walk 0x1000
cur->pagedir`: its directory is read through its virtual address, the user
page tables through its vpdes[] records and the kernel ones through kvpd[].
--phys reads the tables from physical memory instead, starting from cr3 (or
PAGEDIR's physical address): useful when the recursive slot itself is broken."""

    def __init__(self):
        super().__init__("strata-walk", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    @reported("strata-walk")
    def invoke(self, arg, from_tty):
        opts, pos = parse_options(split_args(arg), ["phys"])
        if not 1 <= len(pos) <= 2:
            raise StrataError("usage: strata-walk [--phys] ADDR [PAGEDIR]")
        va = eval_addr(pos[0])
        src = choose_source(pos[1] if len(pos) > 1 else None, opts.get("phys", False))
        first, lines = walk(va, src)
        out(first)
        for line in lines:
            out(line)


# ---- strata-maps -------------------------------------------------------------

MAP_FLAGS = PTE_P | PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_G


def mapped_ranges(src, start, end):
    """Yields (va, pa, pages, flags) runs of pages in [start, end), contiguous
    in both address spaces with the same flags (A and D are not compared)."""
    run = None
    with src.context():
        directory = src.directory()
        for pdi in range(start >> 22, ((end - 1) >> 22) + 1):
            if pdi == RECURSIVE_SLOT:
                continue	# the recursive window would list every page table
            pde = directory[pdi]
            if not pde & PTE_P:
                continue
            if pde & PTE_PS and pse_enabled():
                entries = [(i, (pde & 0xFFC00000) + i * PAGE | (pde & 0xFFF & ~PTE_PS))
                           for i in range(1024)]
            else:
                table = read_u32s(src.table_addr(pdi, pde), 1024)
                entries = [(i, e) for i, e in enumerate(table)]
            for pti, pte in entries:
                va = (pdi << 22) | (pti << 12)
                if not pte & PTE_P or va < (start & ~0xFFF) or va >= end:
                    continue
                flags = (pte & MAP_FLAGS & ~(PTE_W | PTE_U)) | (pte & pde & (PTE_W | PTE_U))
                pa = pte & ~0xFFF
                if (run and run[0] + run[2] * PAGE == va and run[1] + run[2] * PAGE == pa
                        and run[3] == flags):
                    run[2] += 1
                    continue
                if run:
                    yield tuple(run)
                run = [va, pa, 1, flags]
    if run:
        yield tuple(run)


class MapsCommand(gdb.Command):
    """List the mapped ranges of an address space.

Usage: strata-maps [--phys] [--pd PAGEDIR] [START END]

Lists every mapped page of the active directory (read through the recursive
slot), coalescing pages that are contiguous both virtually and physically and
have the same flags (P W U G PWT PCD, with W and U as the CPU combines the PDE
and the PTE; accessed/dirty bits are not compared). The default range is the
whole 4 GiB; the recursive window 0xFFC00000-0xFFFFFFFF itself is skipped.
START and END are expressions; END is exclusive. --pd lists a struct pagedir
(lab 4) instead, --phys reads the tables from physical memory (see
strata-walk)."""

    def __init__(self):
        super().__init__("strata-maps", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    @reported("strata-maps")
    def invoke(self, arg, from_tty):
        opts, pos = parse_options(split_args(arg), ["phys"], ["pd"])
        if len(pos) not in (0, 2):
            raise StrataError("usage: strata-maps [--phys] [--pd PAGEDIR] [START END]")
        start, end = (eval_addr(pos[0]), eval_addr(pos[1])) if pos else (0, 1 << 32)
        if pos and end == 0:
            end = 1 << 32
        if start >= end:
            raise StrataError("START 0x%x is not below END 0x%x" % (start, end))
        src = choose_source(opts.get("pd"), opts.get("phys", False))
        runs = list(mapped_ranges(src, start, end))
        out("strata-maps: 0x%08x-0x%08x via %s" % (start, end & 0xFFFFFFFF if end < 1 << 32
                                                  else 0xFFFFFFFF, src.name))
        total = 0
        for va, pa, n, flags in runs:
            total += n
            out("  0x%08x-0x%08x -> 0x%08x-0x%08x %7d page%s [%s]"
                % (va, (va + n * PAGE - 1) & 0xFFFFFFFF, pa, (pa + n * PAGE - 1) & 0xFFFFFFFF,
                   n, "s " if n > 1 else "  ", flags_str(flags)))
        out("strata-maps: %s, %s (%d KiB) mapped"
            % (plural(len(runs), "range"), plural(total, "page"), total * 4))


# ---- trap frames and strata-bt ----------------------------------------------

def kernel_exception(trapno):
    """(mnemonic, name) of a CPU exception from the kernel's own table,
    exceptions[] in src/kernel/trap.c, or None: not an exception, no symbols,
    or the table not readable (paging still off)."""
    try:
        table = gdb.parse_and_eval("'trap.c'::exceptions")
        lo, hi = table.type.strip_typedefs().range()
        if not lo <= trapno <= hi:
            return None
        entry = table[trapno]
        return entry["mnemonic"].string(), entry["name"].string()
    except (gdb.error, RuntimeError, ValueError, UnicodeDecodeError):
        return None


def trap_name(trapno):
    if T_IRQ0 <= trapno < T_IRQ0 + 16:
        return "-", "hardware interrupt (IRQ %d)" % (trapno - T_IRQ0)
    return kernel_exception(trapno) or TRAP_NAMES.get(trapno, ("-", "vector %d" % trapno))


def read_trapframe(addr):
    """The trap frame at addr, as a dict of its fields."""
    try:
        t = gdb.lookup_type("struct trapframe")
        fields = [(f.name, f.bitpos // 8) for f in t.fields()]
        size = t.sizeof
    except gdb.error:
        fields = [(n, 4 * i) for i, n in enumerate(TRAPFRAME_FIELDS)]
        size = 4 * len(TRAPFRAME_FIELDS)
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
            pc, ebp = tf["eip"], tf["ebp"]
            out(frame_line(n, pc, False))
            n += 1
            tf = None
            while n < limit and ebp and ebp not in seen:
                seen.add(ebp)
                try:
                    ra, next_ebp = read_u32(ebp + 4), read_u32(ebp)
                except StrataError:
                    out("    (frame pointer 0x%08x is not readable)" % ebp)
                    return
                if ra == 0:
                    return
                out(frame_line(n, ra, True))
                n += 1
                if in_trap_entry(ra, rng):
                    # ebp is trap()'s frame; its argument is the trap frame.
                    tf = read_trapframe(read_u32(ebp + 8))
                    break
                ebp = next_ebp
            if tf is None:
                return


# ---- strata-pf ---------------------------------------------------------------

def page_fault_breakpoint_spec():
    for spec in ("trap.c:page_fault", "page_fault"):
        try:
            gdb.decode_line(spec)
            return spec
        except gdb.error:
            continue
    raise StrataError("no page_fault function in the symbols (is build/kernel.elf loaded?)")


def in_function(frame, name):
    try:
        return frame is not None and frame.name() == name
    except gdb.error:
        return False


def find_trapframe_address(frame):
    """The struct trapframe * of the fault being handled, from page_fault's
    argument, trap()'s, or what alltraps pushed."""
    f = frame
    while f is not None:
        if f.name() in ("page_fault", "trap"):
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
        bp = gdb.Breakpoint(spec, temporary=True)
        try:
            gdb.execute("continue")
        except gdb.error as e:
            raise StrataError("no page fault: the kernel ended without one (%s)" % e)
        finally:
            if bp.is_valid():
                bp.delete()
        try:
            frame = gdb.newest_frame()
        except gdb.error:
            raise StrataError("no page fault: the target is gone")
        if not in_function(frame, "page_fault"):
            raise StrataError("stopped elsewhere (0x%08x %s), not in page_fault"
                              % (frame.pc(), symbolize(frame.pc())))

    def report(self, method):
        frame = gdb.newest_frame()
        if not in_function(frame, "page_fault"):
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
        out("  regs:   eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x"
            % (tf["eax"], tf["ebx"], tf["ecx"], tf["edx"]))
        out("          esi=0x%08x edi=0x%08x ebp=0x%08x"
            % (tf["esi"], tf["edi"], tf["ebp"]))
        for name, value in (("pf_va", va), ("pf_err", err), ("pf_eip", eip), ("pf_tf", tf_addr)):
            gdb.set_convenience_variable(name, value)
        out("  next:   walk $pf_va | strata-bt | x/8i $pf_eip | p *(struct trapframe *)$pf_tf")


# ---- connecting ----------------------------------------------------------------

class ConnectCommand(gdb.Command):
    """Connect to the QEMU started by `make qemu-gdb`.

Usage: strata-connect [PORT | PORTFILE]

Without an argument the port is $STRATA_GDB_PORT if set, else the number in
build/qemu-gdb.port, which `make qemu-gdb` writes (tools/gdbport.py)."""

    def __init__(self):
        super().__init__("strata-connect", gdb.COMMAND_RUNNING, gdb.COMPLETE_FILENAME)

    def invoke(self, arg, from_tty):
        arg = arg.strip()
        portfile = "build/qemu-gdb.port"
        port = None
        if arg.isdigit():
            port = arg
        elif arg:
            portfile = arg
        elif os.environ.get("STRATA_GDB_PORT", "").strip():
            port = os.environ["STRATA_GDB_PORT"].strip()
        if port is None:
            try:
                with open(portfile) as f:
                    port = f.read().strip()
            except OSError:
                raise gdb.GdbError("strata-connect: %s not found: run make qemu-gdb first "
                                   "(in another terminal, in this directory)" % portfile)
            if not port.isdigit():
                raise gdb.GdbError("strata-connect: %s does not hold a port number: "
                                   "run make qemu-gdb again" % portfile)
        # A quick look first: GDB itself retries a refused port for 15 s.
        # (Opening and closing QEMU's gdbstub connection leaves QEMU halted.)
        for attempt in range(4):
            try:
                socket.create_connection(("127.0.0.1", int(port)), timeout=2).close()
                break
            except OSError as e:
                if attempt == 3:
                    raise gdb.GdbError("strata-connect: nothing listens on port %s (%s): "
                                       "is make qemu-gdb still running?"
                                       % (port, e.strerror or e))
                time.sleep(0.5)
        try:
            gdb.execute("target remote 127.0.0.1:%s" % port)
        except gdb.error as e:
            raise gdb.GdbError("strata-connect: cannot connect to QEMU on port %s (%s): "
                               "is make qemu-gdb still running?" % (port, e))
        try:
            out("strata-connect: %s" % same_kernel())
        except StrataError as e:
            gdb.execute("disconnect", to_string=True)
            raise gdb.GdbError("strata-connect: the kernel on port %s is not this tree's "
                               "(%s): another QEMU has that port; run make qemu-gdb "
                               "again here" % (port, e))


def same_kernel():
    """Checks that the kernel in the target's memory is the file GDB loaded:
    the build ids (ld --build-id, kept in memory at build_id_note by
    kernel.ld) must be equal. Says what it found; StrataError if they differ.
    At QEMU's first instruction (-S) the -kernel image is already loaded;
    before paging it is read at its physical address."""
    path = gdb.current_progspace().filename
    if path is None:
        return "no symbols loaded, kernel not checked"
    want = next((o.build_id for o in gdb.objfiles() if o.filename == path), None)
    try:
        note = to_int(gdb.parse_and_eval("&build_id_note"))
    except gdb.error:
        note = None
    if want is None or note is None:
        return "%s has no build id, kernel not checked (make kernel)" % os.path.basename(path)
    if not paging_enabled():
        note -= KERNBASE
    try:
        namesz, descsz, kind = struct.unpack("<3I", read_bytes(note, 12))
        have = None
        if (namesz, kind) == (4, 3) and descsz <= 64 \
                and read_bytes(note + 12, 4) == b"GNU\0":
            have = read_bytes(note + 16, descsz).hex()
    except StrataError:
        have = None
    if have != want:
        raise StrataError("build id %s in memory, %s in %s"
                          % (have or "missing", want, os.path.basename(path)))
    return "kernel build id %s matches %s" % (want[:12], os.path.basename(path))


BANNER = """\
Strata GDB helpers (help strata-pf, ...; tools/gdb/README.md):
  pf   / strata-pf            run to the next page fault and explain it
  walk / strata-walk ADDR     translate ADDR through the page tables
  strata-maps [START END]     list the mapped ranges of the active directory
  strata-bt                   backtrace through trap frames
%s  strata-connect              (re)connect to make qemu-gdb"""

# The helpers of later labs: listed only when their file was loaded (a lab
# branch has them from the lab that needs them on).
OPTIONAL = (("strata_mm.py", "  strata-buddy [EXPR]         free blocks per order of ppalloc's "
             "(or EXPR's) buddy allocator\n"),
            ("strata_heap.py", "  strata-heap                 walk the kernel malloc heap\n"),
            ("strata_threads.py", "  strata-threads              list the threads, their state and saved "
             "eip/esp\n  strata-bt TID [MAX]         backtrace of thread TID, running or not\n"))
_loaded = set()


def banner():
    return BANNER % "".join(line for name, line in OPTIONAL if name in _loaded)


class BannerCommand(gdb.Command):
    """List the Strata GDB helper commands."""

    def __init__(self):
        super().__init__("strata-help", gdb.COMMAND_SUPPORT)

    def invoke(self, arg, from_tty):
        out(banner())


def define_alias(alias, command):
    try:
        gdb.execute("alias %s = %s" % (alias, command), to_string=True)
    except gdb.error:
        pass	# already defined: this file was sourced again


WalkCommand()
MapsCommand()
BtCommand()
PfCommand()
ConnectCommand()
BannerCommand()
define_alias("pf", "strata-pf")
define_alias("walk", "strata-walk")

# The memory-layer helpers (strata-buddy, strata-heap) live next to this file.
for _name, _ in OPTIONAL:
    if os.path.exists(os.path.join(_here, _name)):
        gdb.execute("source " + os.path.join(_here, _name))
        _loaded.add(_name)
