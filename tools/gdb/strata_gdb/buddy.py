#@ LAB 2 FILE
# GDB helpers for Strata's memory layers (labs 2 and 3).
#
#   strata-buddy [OPTIONS] [EXPR]   the free blocks of a buddy allocator, per order
#
# EXPR names the allocator (ppalloc's, a vpallocator, any struct buddy);
# buddy_struct.py reads it. A module of the strata_gdb package
# (tools/gdb/strata.py loads it when a branch has it: lab 2 on).

import bisect

import gdb

from .buddy_struct import Buddy
from .facts import K
from .util import (StrataError, need_symbols, need_target, out, paging_enabled, plural, register,
                   reported, size_str, to_int)

DEFAULT_LIMIT = 8               # block starts shown per order by default


# ---- what EXPR names --------------------------------------------------------------

class Target:
    """A buddy allocator to print, and how to scale its units to addresses."""

    def __init__(self, label, buddy_addr, base=None, unit_bytes=None, reserved=None):
        self.label, self.buddy_addr = label, buddy_addr
        # base None: plain units; else pages of the kernel's PAGE_SIZE
        self.base = base
        self.unit_bytes = unit_bytes or (K.PAGE_SIZE if base is not None else 1)
        self.reserved = reserved	# units reserved on purpose, if known


def phys_target_at(addr):
    """The target for the physical allocator at addr; knows how many pages
    ppalloc_boot_done reserved ('ppalloc.c'::phys_reserved), if it can."""
    try:
        reserved = int(gdb.parse_and_eval("'ppalloc.c'::phys_reserved"))
    except gdb.error:
        reserved = None
    return Target("physical allocator ('ppalloc.c'::phys)", addr, base=0,
                  reserved=reserved)


def lookup(expr, what, lab):
    need_symbols()
    try:
        return gdb.parse_and_eval(expr)
    except gdb.error as e:
        msg = str(e)
        if "No symbol" in msg:
            raise StrataError("this kernel has no %s: no symbol %s (it arrives in lab %d)"
                              % (what, expr, lab))
        raise StrataError("cannot evaluate %s: %s" % (expr, msg))


def phys_target():
    try:
        phys = gdb.parse_and_eval("'ppalloc.c'::phys")
    except gdb.error:
        phys = None
    if phys is None:
        # The variable is static; ppalloc_buddy() returns it, but calling a
        # function in the target is not something a print helper should do.
        lookup("ppalloc_buddy", "physical allocator (src/mm/ppalloc.c)", 2)
        raise StrataError("found ppalloc_buddy but not ppalloc.c's static `phys`: "
                          "is build/kernel.elf the kernel QEMU runs?")
    addr = to_int(phys, bits=None)
    if addr == 0:
        raise StrataError("the physical allocator is not set up yet ('ppalloc.c'::phys is "
                          "NULL): ppalloc_init() has not run. Stop later, e.g. "
                          "`break ktest_run` then `continue`")
    return phys_target_at(addr)


def kernel_vpa_expr():
    for e in ("'vpalloc.c'::kvpa", "kvpa"):
        try:
            gdb.parse_and_eval(e)
            return e
        except gdb.error:
            continue
    lookup("kvpa", "kernel vpallocator (vpalloc.c's kvpa)", 3)
    return "kvpa"


def vpa_target(value, expr):
    """A struct vpallocator value (not a pointer)."""
    try:
        buddy = to_int(value["buddy"], bits=None)
        start = to_int(value["start"], bits=None)
        pages = int(value["n_pages"])
    except gdb.error as e:
        raise StrataError("%s: cannot read the struct vpallocator: %s" % (expr, e))
    if buddy == 0:
        raise StrataError("%s has no allocator (buddy is NULL): vpcreate has not run on it, "
                          "or failed" % expr)
    return Target("vpallocator %s, 0x%08x-0x%08x (%d pages)"
                  % (expr, start, (start + pages * K.PAGE_SIZE - 1) & 0xFFFFFFFF, pages),
                  buddy, base=start, reserved=0)


def target_symbols(word):
    """Checks that the kernel has the allocator a keyword names, without
    reading the target's memory."""
    if word in ("kvpa", "kernel"):
        kernel_vpa_expr()
    elif gdb.lookup_global_symbol("ppalloc_buddy") is None:
        lookup("ppalloc_buddy", "physical allocator (src/mm/ppalloc.c)", 2)


def buddy_target(expr):
    expr = expr.strip()
    if expr in ("", "phys", "ppalloc"):
        return phys_target()
    if expr in ("kvpa", "kernel"):
        expr = kernel_vpa_expr()
    try:
        value = gdb.parse_and_eval(expr)
    except gdb.error as e:
        raise StrataError("cannot evaluate %s: %s" % (expr, e))
    t = value.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_PTR:
        target = t.target().strip_typedefs()
        if target.code == gdb.TYPE_CODE_STRUCT and target.tag in ("vpallocator", "buddy"):
            if to_int(value, bits=None) == 0:
                raise StrataError("%s is NULL" % expr)
            value, t = value.dereference(), target
    if t.code == gdb.TYPE_CODE_STRUCT and t.tag == "vpallocator":
        return vpa_target(value, expr)
    if t.code == gdb.TYPE_CODE_STRUCT and t.tag == "buddy":
        addr = to_int(value.address, bits=None) if value.address is not None else None
        if addr is None:
            raise StrataError("%s: need a struct buddy in memory, not a value" % expr)
    elif t.code in (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_PTR):
        addr = to_int(value, bits=None)		# an address: taken as a struct buddy *
    else:
        raise StrataError("%s is a %s: give a struct buddy *, a struct vpallocator (or a "
                          "pointer to one), or nothing for the physical allocator"
                          % (expr, value.type))
    # A bare struct buddy *: scale it if it is one of the kernel's own.
    try:
        if to_int(gdb.parse_and_eval("'ppalloc.c'::phys"), bits=None) == addr:
            return phys_target_at(addr)
    except gdb.error:
        pass
    try:
        kvpa = gdb.parse_and_eval("'vpalloc.c'::kvpa")
        if to_int(kvpa["buddy"], bits=None) == addr:
            return vpa_target(kvpa, "'vpalloc.c'::kvpa")
    except gdb.error:
        pass
    return Target("struct buddy %s" % expr, addr)


def paging_hint():
    """Why kernel memory may be unreadable right now, or ''."""
    pc = register("pc")
    if paging_enabled() or pc is None:
        return ""
    return ("\n  (paging is off: the CPU is at 0x%08x, before the kernel's start.S has "
            "turned it on, so no kernel address is readable yet; `break kernel_main` or "
            "`break ktest_run`, then `continue`)" % pc)


# ---- the command ----------------------------------------------------------------

class StrataBuddyCommand(gdb.Command):
    """Print the free blocks of a buddy allocator, per order.

Usage: strata-buddy [--all | --limit N] [--units] [--allocs] [--check] [--reserved N] [EXPR]

Without EXPR (or with `phys`): the physical allocator of ppalloc
('ppalloc.c'::phys, lab 2). EXPR may be:
  kvpa, kernel                 the kernel vpallocator ('vpalloc.c'::kvpa, lab 3)
  a struct vpallocator, or a pointer to one (&kvpa, vpa, &region)
  a struct buddy * (or an address); if it is phys or kvpa's, it is scaled
For the physical allocator, block starts are physical addresses (unit i is
the page at i * 4096); for a vpallocator they are virtual addresses
(vpa->start + i * 4096); for any other struct buddy they are unit numbers.

For every order k in use it prints the block size (2^k units), the number of
free blocks and their starts (the first 8; --limit N for N, --all for every
one), read from src/mm/buddy.c's free maps through their summary levels,
or for an order with few free blocks (a "listed" one) from its list, checked
against its free map. The "per order:" line has the same numbers as the
kernel's boot line "[ppalloc] free blocks per order:". It also counts the
allocations (the start and end bits of bounds, checked against bigend for
those of more than 16 units) and the units neither free nor allocated
(reserved), and says whether the free maps and lists agree with nfree[]
(whose sum, nfree[k] * 2^k, is the free units).

Units neither free nor allocated are reserved (buddy_reserve) or lost (a
wrong buddy_split). For the physical allocator the kernel counts what it
reserved ('ppalloc.c'::phys_reserved) and a vpallocator reserves nothing,
so any more are reported lost. A struct buddy does not record its reserved
units: for any other one (the host unit tests') the line says "reserved or
lost", and what can be told is reported: units right after an allocation,
inside the block it was split from, that are neither free nor allocated
(lost, unless buddy_reserve took them after the allocation). --reserved N
says N units were reserved, and then every other one is reported lost.

  --units   print unit numbers instead of addresses
  --allocs  also list the allocations (start, count), as bounds says
  --check   read every bitmap whole and check the buddy invariants: summary
            levels (all zero for a listed order), lists, counters, no free
            buddies left unmerged, no overlaps, allocations aligned
  --reserved N  N units were reserved with buddy_reserve: report any
            other unit neither free nor allocated as lost"""

    def __init__(self):
        super().__init__("strata-buddy", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    @reported("strata-buddy", hint=paging_hint)
    def invoke(self, arg, from_tty):
        self.run(arg)

    @staticmethod
    def parse(arg):
        """Leading --options, then the rest of the line verbatim as EXPR (so
        that quotes in 'vpalloc.c'::kvpa survive)."""
        opts = {"limit": DEFAULT_LIMIT, "units": False, "allocs": False, "check": False,
                "reserved": None}
        rest = arg.strip()
        while rest.startswith("--"):
            word, _, rest = rest.partition(" ")
            rest = rest.strip()
            name, eq, val = word[2:].partition("=")
            if name == "all" and not eq:
                opts["limit"] = None
            elif name in ("units", "allocs", "check") and not eq:
                opts[name] = True
            elif name in ("limit", "reserved"):
                if not eq:
                    val, _, rest = rest.partition(" ")
                    rest = rest.strip()
                if not val.isdigit():
                    raise StrataError("--%s needs a number" % name)
                opts[name] = int(val)
            elif word == "--":
                break
            else:
                raise StrataError("unknown option %s (see help strata-buddy)" % word)
        return opts, rest

    def run(self, arg):
        opts, expr = self.parse(arg)
        need_symbols()
        if expr.strip() not in ("", "phys", "ppalloc", "kvpa", "kernel"):
            tgt = buddy_target(expr)	# "no such symbol" before "not connected"
            need_target()
        else:
            target_symbols(expr.strip())
            need_target()
            tgt = buddy_target(expr)
        b = Buddy(tgt.buddy_addr)
        scaled = tgt.base is not None and not opts["units"]

        def where(unit):
            if scaled:
                return "0x%08x" % ((tgt.base + unit * tgt.unit_bytes) & 0xFFFFFFFF)
            return "%d" % unit

        def size(units):
            if tgt.base is not None:
                return size_str(units * tgt.unit_bytes)
            return plural(units, "unit")

        blocks, block_problems = b.free_blocks(whole=opts["check"])
        allocs, alloc_problems = b.allocations()
        counted_free = sum(len(v) << k for k, v in blocks.items())
        allocated = sum(c for _, c in allocs)

        out("strata-buddy: %s, struct buddy at 0x%08x" % (tgt.label, b.addr))
        span = ""
        if tgt.base is not None:
            span = ", %s 0x%08x-0x%08x" % (
                "addresses" if scaled else "units map to",
                tgt.base, (tgt.base + b.n * tgt.unit_bytes - 1) & 0xFFFFFFFF)
        out("  %d units%s%s, %d orders (0..%d)"
            % (b.n, " of %s" % size_str(tgt.unit_bytes) if tgt.base is not None else "",
               span, b.orders, b.orders - 1))
        reserved = opts["reserved"] if opts["reserved"] is not None else tgt.reserved
        out("  free %d units%s, allocated %d in %s, %s %d"
            % (b.free_units, " (%s)" % size(b.free_units) if tgt.base is not None else "",
               allocated, plural(len(allocs), "allocation"),
               "reserved" if reserved is not None else "reserved or lost",
               b.n - b.free_units - allocated))
        width = max([len(size(1 << k)) for k in range(b.orders)] + [5])
        out("  order  %*s  free  starts" % (width, "block"))
        for k in range(b.orders):
            starts = blocks[k]
            shown = starts if opts["limit"] is None else starts[:opts["limit"]]
            line = "  %5d  %*s  %4d" % (k, width, size(1 << k), len(starts))
            if shown:
                line += "  " + " ".join(where(s) for s in shown)
            if len(shown) < len(starts):
                line += " ... (%d more)" % (len(starts) - len(shown))
            out(line)
        out("  per order: %s" % " ".join(str(len(blocks[k])) for k in range(b.orders)))

        if opts["allocs"]:
            shown = allocs if opts["limit"] is None else allocs[:opts["limit"]]
            out("  allocations (start, count):%s" % ("" if allocs else " none"))
            for s, c in shown:
                if tgt.base is not None:
                    out("    %s  %s (%s)" % (where(s), plural(c, "page"), size(c)))
                else:
                    out("    %s  %s" % (where(s), size(c)))
            if len(shown) < len(allocs):
                out("    ... (%d more; --all lists them)" % (len(allocs) - len(shown)))

        problems = []
        for k in range(b.orders):
            if len(blocks[k]) != b.nfree[k]:
                problems.append("order %d: %d free blocks in its %s but nfree[%d] = %d"
                                % (k, len(blocks[k]), "list" if b.is_listed(k) else "free map",
                                   k, b.nfree[k]))
        problems += block_problems + alloc_problems
        lost = b.n - b.free_units - allocated
        if reserved is not None and not problems and lost != reserved:
            if lost > reserved:
                problems.append("%d units are neither free nor allocated but only %d were "
                                "reserved at setup: %d units lost (does buddy_split() put every "
                                "unused part back on a free list?)"
                                % (lost, reserved, lost - reserved))
            else:
                problems.append("%d units are neither free nor allocated but %d were "
                                "reserved at setup: the counters disagree"
                                % (lost, reserved))
        elif reserved is None and not problems:
            problems += self.lost_tails(b, blocks, allocs, where)
        if opts["check"]:
            problems += self.check(b, blocks, allocs)
        total = sum(len(v) for v in blocks.values())
        if problems:
            for p in problems[:20]:
                out("  PROBLEM: %s" % p)
            if len(problems) > 20:
                out("  ... %d more problems" % (len(problems) - 20))
            out("strata-buddy: %s, %s; %s"
                % (plural(total, "free block"), plural(counted_free, "free unit"),
                   plural(len(problems), "problem")))
        else:
            out("strata-buddy: %s, %s; free maps and lists agree with nfree[]%s"
                % (plural(total, "free block"), plural(counted_free, "free unit"),
                   "; --check found nothing wrong" if opts["check"] else ""))

    @staticmethod
    def lost_tails(b, blocks, allocs, where):
        """Without a reserved count: the units after each allocation, inside
        the block it was split from ([s, s + 2^ceil_log2(c))), that are in
        no free block and no allocation. buddy_split must have put them back;
        only a buddy_reserve after the allocation could have taken them."""
        spans = sorted([(s, s + (1 << k)) for k in blocks for s in blocks[k]] +
                       [(s, s + c) for s, c in allocs])
        starts = [s for s, _ in spans]
        problems = []
        for s, c in allocs:
            end, u, missing = min(s + (1 << (c - 1).bit_length()), b.n), s + c, []
            while u < end:
                i = bisect.bisect_right(starts, u) - 1
                if i >= 0 and spans[i][1] > u:
                    u = spans[i][1]
                    continue
                stop = min(starts[i + 1] if i + 1 < len(starts) else end, end)
                missing.append((u, stop))
                u = stop
            if missing:
                units = sum(e - f for f, e in missing)
                problems.append(
                    "%s %s, in the block %s-%s that the allocation at %s (%s) was split "
                    "from, %s neither free nor allocated: lost (does buddy_split() put every "
                    "unused part back on a free list?), unless buddy_reserve() reserved %s "
                    "after the allocation (--reserved N counts them)"
                    % ("unit" if units == 1 else "units",
                       ", ".join(where(f) if e - f == 1 else "%s-%s" % (where(f), where(e - 1))
                                 for f, e in missing),
                       where(s), where(end - 1), where(s), plural(c, "unit"),
                       "is" if units == 1 else "are", "it" if units == 1 else "them"))
        return problems

    @staticmethod
    def check(b, blocks, allocs):
        problems = []
        for k in range(b.orders):
            problems += b.freemap[k].check("free map of order %d" % k, listed=b.is_listed(k))
            if k + 1 < b.orders:
                free_k = set(blocks[k])
                for s in blocks[k]:
                    if s ^ (1 << k) in free_k and s < s ^ (1 << k):
                        problems.append("order %d: blocks at units %d and %d are free "
                                        "buddies, not merged" % (k, s, s ^ (1 << k)))
        problems += b.bounds.check("bounds") + b.bigend.check("bigend")
        for s, c in allocs:
            align = 1 << (c - 1).bit_length()	# 2^ceil_log2(c)
            if s % align:
                problems.append("allocation at unit %d of %d units is not aligned to %d units "
                                "(buddy_free's bounds check needs it)" % (s, c, align))
        spans = sorted([(s, s + (1 << k), "free block of order %d" % k)
                        for k in blocks for s in blocks[k]] +
                       [(s, s + c, "allocation of %d" % c) for s, c in allocs])
        for (s1, e1, w1), (s2, e2, w2) in zip(spans, spans[1:]):
            if s2 < e1:
                problems.append("units %d-%d (%s) overlap units %d-%d (%s)"
                                % (s1, e1 - 1, w1, s2, e2 - 1, w2))
        if spans and spans[-1][1] > b.n:
            problems.append("%s at unit %d reaches past n = %d"
                            % (spans[-1][2], spans[-1][0], b.n))
        return problems


def load(plain_bt=None):
    StrataBuddyCommand()
