"""Page tables: where they are read from (the recursive window, physical
memory, a struct pagedir), strata-walk and strata-maps.

Page tables are reached the way the kernel reaches them: the active
directory through its recursive slot (directory at 0xFFFFF000, page table i
at 0xFFC00000 + i * 4096), another directory through its struct pagedir
(lab 4: the directory's virtual address, struct vpde records for the user
half, kvpd for the kernel half). Nothing here needs those lab-4 symbols to
exist; commands that want them say so when they are missing. The layout and
the entry bits are the kernel's (facts.K)."""

import contextlib

import gdb

from .facts import K
from .util import (StrataError, eval_addr, out, paging_enabled, parse_options, plural,
                   read_u32, read_u32s, register, reported, split_args, to_int)


def flag_names():
    """(bit, name) of the entry bits strata-walk and strata-maps show."""
    return [(K.PTE_PRESENT, "P"), (K.PTE_WRITABLE, "W"), (K.PTE_USER, "U"),
            (K.PTE_PWT, "PWT"), (K.PTE_PCD, "PCD"), (K.PTE_ACCESSED, "A"),
            (K.PTE_DIRTY, "D"), (K.PTE_PS, "PS"), (K.PTE_GLOBAL, "G")]


def recursive_dir():
    """The active directory's address in the recursive window (0xFFFFF000)."""
    return K.RECURSIVE_BASE + K.RECURSIVE_SLOT * K.PAGE_SIZE


def user_pdes():
    """PDEs below KERNBASE (768)."""
    return K.KERNBASE >> 22


def flags_str(entry, names=None):
    return " ".join(n for bit, n in names or flag_names() if entry & bit)


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
    return cr4 is not None and bool(cr4 & K.CR4_PSE)


# ---- where the page tables are read from -----------------------------------

class RecursiveSource:
    """The active directory, through its recursive slot."""
    def __init__(self):
        cr3 = register("cr3")
        self.name = "recursive window (active directory%s)" % (
            ", cr3=0x%08x" % (cr3 & ~0xFFF) if cr3 is not None else "")
        try:
            slot = read_u32(recursive_dir() + 4 * K.RECURSIVE_SLOT)
        except StrataError:
            raise StrataError("the recursive window at 0x%08x is not readable "
                              "(is paging on, is PDE %d set?); try --phys"
                              % (recursive_dir(), K.RECURSIVE_SLOT))
        if cr3 is not None and (slot & ~0xFFF) != (cr3 & ~0xFFF):
            out("warning: PDE %d = 0x%08x does not point at the directory in cr3 "
                "(0x%08x): the recursive window shows something else"
                % (K.RECURSIVE_SLOT, slot, cr3 & ~0xFFF))

    def pde_addr(self, pdi):
        return recursive_dir() + 4 * pdi

    def directory(self):
        return read_u32s(recursive_dir(), 1024)

    def table_addr(self, pdi, pde):
        return K.RECURSIVE_BASE + pdi * K.PAGE_SIZE

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
        if pdi == K.RECURSIVE_SLOT:
            return self.virt
        if pdi < user_pdes():
            rec, what = self.vpdes[pdi], "%s.vpdes[%d]" % ("pd", pdi)
        else:
            if self.kvpd is None:
                raise StrataError("no kvpd symbol for the kernel page tables (lab 4); "
                                  "try --phys")
            rec, what = self.kvpd[pdi - user_pdes()], "kvpd[%d]" % (pdi - user_pdes())
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
        if not pde & K.PTE_PRESENT:
            return "strata-walk: va=0x%08x not mapped (PDE not present)" % va, lines
        if pde & K.PTE_PS:
            if pse_enabled():
                pa = (pde & 0xFFC00000) | (va & 0x3FFFFF)
                lines[-1] += "  4 MiB page at pa 0x%08x" % (pde & 0xFFC00000)
                return ("strata-walk: va=0x%08x -> pa=0x%08x [%s]"
                        % (va, pa, flags_str(pde & ~K.PTE_PS)), lines)
            lines.append("  (PS is set but cr4.PSE is off: the CPU ignores it)")
        lines[-1] += "  page table at pa 0x%08x" % (pde & ~0xFFF)
        table = src.table_addr(pdi, pde)
        pte_addr = table + 4 * pti
        pte = read_u32(pte_addr)
        lines.append("  PTE[%d] @0x%08x = 0x%08x  [%s]" % (pti, pte_addr, pte, flags_str(pte)))
        if not pte & K.PTE_PRESENT:
            return "strata-walk: va=0x%08x not mapped (PTE not present)" % va, lines
        lines[-1] += "  page at pa 0x%08x" % (pte & ~0xFFF)
        lines.append("  offset 0x%03x" % off)
        pa = (pte & ~0xFFF) | off
        # What the CPU allows: W and U only if both levels grant them.
        eff = pte & ~(K.PTE_WRITABLE | K.PTE_USER) | (pte & pde & (K.PTE_WRITABLE | K.PTE_USER))
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

def map_flags():
    """The entry bits that split a mapped range (not A and D)."""
    return (K.PTE_PRESENT | K.PTE_WRITABLE | K.PTE_USER | K.PTE_PWT | K.PTE_PCD
            | K.PTE_GLOBAL)


def mapped_ranges(src, start, end):
    """Yields (va, pa, pages, flags) runs of pages in [start, end), contiguous
    in both address spaces with the same flags (A and D are not compared)."""
    run = None
    with src.context():
        directory = src.directory()
        for pdi in range(start >> 22, ((end - 1) >> 22) + 1):
            if pdi == K.RECURSIVE_SLOT:
                continue	# the recursive window would list every page table
            pde = directory[pdi]
            if not pde & K.PTE_PRESENT:
                continue
            if pde & K.PTE_PS and pse_enabled():
                entries = [(i, (pde & 0xFFC00000) + i * K.PAGE_SIZE | (pde & 0xFFF & ~K.PTE_PS))
                           for i in range(1024)]
            else:
                table = read_u32s(src.table_addr(pdi, pde), 1024)
                entries = [(i, e) for i, e in enumerate(table)]
            for pti, pte in entries:
                va = (pdi << 22) | (pti << 12)
                if not pte & K.PTE_PRESENT or va < (start & ~0xFFF) or va >= end:
                    continue
                wu = K.PTE_WRITABLE | K.PTE_USER
                flags = (pte & map_flags() & ~wu) | (pte & pde & wu)
                pa = pte & ~0xFFF
                page = K.PAGE_SIZE
                if (run and run[0] + run[2] * page == va and run[1] + run[2] * page == pa
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
                % (va, (va + n * K.PAGE_SIZE - 1) & 0xFFFFFFFF,
                   pa, (pa + n * K.PAGE_SIZE - 1) & 0xFFFFFFFF, n, "s " if n > 1 else "  ",
                   flags_str(flags)))
        out("strata-maps: %s, %s (%d KiB) mapped"
            % (plural(len(runs), "range"), plural(total, "page"), total * 4))
