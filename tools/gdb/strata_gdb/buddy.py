#@ LAB 2 FILE
# GDB helpers for Strata's memory layers (labs 2 and 3).
#
#   strata-buddy [OPTIONS] [EXPR]   the free blocks of a buddy allocator, per order
#
# A module of the strata_gdb package (tools/gdb/strata.py loads it when a
# branch has it: lab 2 on).
#
# The allocator is read straight from the target's memory, the way
# src/mm/buddy.c lays it out (see the comment at its top): struct buddy, then
# the 32-bit words of every bitmap, found by word offsets from b->words. Each
# order k has a free map (bit i set: the block of order k at unit i * 2^k is on
# the free list of order k) with summary levels above it (bit j of level l+1
# set iff word j of level l is not zero); startmap and endmap have one bit per
# unit for "an allocation starts / ends here". Field offsets come from the
# kernel's debug information, or from the i386 layout below when it is absent.

import struct

import gdb

from .facts import K
from .util import (StrataError, need_symbols, need_target, out,
                   paging_enabled, plural, read_bytes, register, reported,
                   size_str, to_int)

WORD_BITS = 32
MAX_LEVELS = (32 + 4) // 5      # MAX_LEVELS in buddy.c (private there), 32-bit size_t
DEFAULT_LIMIT = 8               # block starts shown per order by default


def fallback_layout():
    """The i386 layout of struct buddy (private to buddy.c), for a kernel
    without debug information; BUDDY_MAX_ORDER is the header's (facts).
    struct bitmap { size_t nbits; unsigned nlevels; size_t off[7]; size_t nwords[7]; }"""
    orders = K.BUDDY_MAX_ORDER
    bitmap = 4 + 4 + 4 * MAX_LEVELS * 2                                 # 64
    freemap = 12 + 4 * orders                                           # 140
    startmap = freemap + bitmap * orders                                # 2188
    return {
        "n": 0, "orders": 4, "free_units": 8, "nfree": 12,
        "freemap": freemap, "startmap": startmap,
        "endmap": startmap + bitmap, "words": startmap + 2 * bitmap,     # 2252, 2316
        "bitmap": {"nbits": 0, "nlevels": 4, "off": 8, "nwords": 8 + 4 * MAX_LEVELS},
        "bitmap_size": bitmap,
        "max_levels": MAX_LEVELS,
        "max_order": orders,
        "size_t": 4,
        "source": "built-in i386 layout",
    }


# Appended to "cannot read N bytes at ADDR".
UNREADABLE = " (is the address mapped, is QEMU connected and stopped?)"


def u32s(data, offset, count):
    return list(struct.unpack_from("<%dI" % count, data, offset))


def sizes(data, offset, count, width):
    """count size_t values (width 4 or 8 bytes) at offset."""
    return list(struct.unpack_from("<%d%s" % (count, "I" if width == 4 else "Q"),
                                   data, offset))


def orders_for(n, max_order):
    top = n.bit_length() - 1
    return min(top, max_order - 1) + 1


# ---- the layout of struct buddy -------------------------------------------------

def layout():
    """Byte offsets of struct buddy's fields, from the debug information when
    the kernel has it, else the built-in i386 layout."""
    try:
        t = gdb.lookup_type("struct buddy")
        bm = gdb.lookup_type("struct bitmap")
    except gdb.error:
        return fallback_layout()
    if not t.fields() or not bm.fields():	# only declared (opaque) here
        return fallback_layout()
    try:
        f = {fld.name: fld.bitpos // 8 for fld in t.fields()}
        bf = {fld.name: fld.bitpos // 8 for fld in bm.fields()}
        off_type = [fld for fld in bm.fields() if fld.name == "off"][0].type
        lay = {name: f[name] for name in ("n", "orders", "free_units", "nfree",
                                          "freemap", "startmap", "endmap", "words")}
        lay["bitmap"] = {name: bf[name] for name in ("nbits", "nlevels", "off", "nwords")}
        lay["bitmap_size"] = bm.sizeof
        lay["size_t"] = off_type.target().sizeof
        lay["max_levels"] = off_type.sizeof // lay["size_t"]
        # BUDDY_MAX_ORDER: the length of nfree[]
        nfree = [fld for fld in t.fields() if fld.name == "nfree"][0].type
        lay["max_order"] = nfree.sizeof // lay["size_t"]
        lay["source"] = "debug information"
    except (KeyError, IndexError, gdb.error):
        raise StrataError("struct buddy in the debug information is not the one of "
                          "src/mm/buddy.c this helper knows (fields n, orders, free_units, "
                          "nfree, freemap, startmap, endmap, words)")
    if lay["size_t"] not in (4, 8):
        raise StrataError("struct buddy: size_t of %d bytes is not supported" % lay["size_t"])
    return lay


class Bitmap:
    """One bitmap with summary levels, read lazily from the target."""

    def __init__(self, buddy, nbits, nlevels, off, nwords):
        self.buddy = buddy
        self.nbits, self.nlevels = nbits, nlevels
        self.off, self.nwords = off, nwords

    def words(self, level, first, count):
        """Words [first, first + count) of a level."""
        addr = self.buddy.words_addr + 4 * (self.off[level] + first)
        return u32s(read_bytes(addr, 4 * count, UNREADABLE, any_error=True), 0, count)

    def set_bits(self):
        """Every set bit of level 0, ascending. Follows the summary levels down
        from the top word, so only words with something set are read (one read
        per non-zero summary word)."""
        if self.nlevels == 0 or self.nbits == 0:
            return []
        found = []
        top = self.nlevels - 1
        self._descend(top, 0, self.words(top, 0, self.nwords[top]), found)
        return found

    def _descend(self, level, first, words, found):
        for i, w in enumerate(words):
            if w == 0:
                continue
            index = first + i		# word index within this level
            if level == 0:
                while w:
                    low = w & -w
                    bit = index * WORD_BITS + low.bit_length() - 1
                    if bit < self.nbits:
                        found.append(bit)
                    w ^= low
                continue
            # Bit b of this word says word index*32 + b of the level below is
            # not zero: read those 32 words (fewer at the end) at once.
            lo = index * WORD_BITS
            hi = min(lo + WORD_BITS, self.nwords[level - 1])
            if lo >= hi:
                continue
            below = self.words(level - 1, lo, hi - lo)
            keep = [below[j] if (w >> j) & 1 else 0 for j in range(hi - lo)]
            self._descend(level - 1, lo, keep, found)

    def check(self, name):
        """Problems in the summary levels of this bitmap (reads all of it)."""
        problems = []
        levels = [self.words(l, 0, self.nwords[l]) for l in range(self.nlevels)]
        for l in range(1, self.nlevels):
            for j, w in enumerate(levels[l - 1]):
                summary = (levels[l][j // WORD_BITS] >> (j % WORD_BITS)) & 1
                if summary != (w != 0):
                    problems.append("%s: level %d bit %d is %d but word %d of level %d is 0x%08x"
                                    % (name, l, j, summary, j, l - 1, w))
            for j in range(len(levels[l - 1]), len(levels[l]) * WORD_BITS):
                if (levels[l][j // WORD_BITS] >> (j % WORD_BITS)) & 1:
                    problems.append("%s: level %d bit %d is set past the end of level %d"
                                    % (name, l, j, l - 1))
        if levels:
            last = self.nbits % WORD_BITS
            if last and levels[0][-1] >> last:
                problems.append("%s: bits set past nbits=%d" % (name, self.nbits))
        return problems


class Buddy:
    """struct buddy at addr, read from the target."""

    def __init__(self, addr):
        if addr == 0:
            raise StrataError("the allocator pointer is NULL")
        lay = layout()
        self.addr = addr
        self.layout = lay
        self.words_addr = addr + lay["words"]
        w = lay["size_t"]
        data = read_bytes(addr, lay["words"], UNREADABLE, any_error=True)
        self.n, self.orders, self.free_units = (
            sizes(data, lay["n"], 1, w)[0], u32s(data, lay["orders"], 1)[0],
            sizes(data, lay["free_units"], 1, w)[0])
        if self.n == 0 or self.orders != orders_for(self.n, lay["max_order"]):
            raise StrataError("0x%08x does not look like a struct buddy set up by buddy_init "
                              "(n=%d, orders=%d): wrong pointer, or not initialised yet"
                              % (addr, self.n, self.orders))
        self.nfree = sizes(data, lay["nfree"], lay["max_order"], w)
        self.freemap = [self._bitmap(data, lay["freemap"] + k * lay["bitmap_size"])
                        for k in range(lay["max_order"])]
        self.startmap = self._bitmap(data, lay["startmap"])
        self.endmap = self._bitmap(data, lay["endmap"])

    def _bitmap(self, data, base):
        b, m, w = self.layout["bitmap"], self.layout["max_levels"], self.layout["size_t"]
        nbits = sizes(data, base + b["nbits"], 1, w)[0]
        nlevels = u32s(data, base + b["nlevels"], 1)[0]
        if nlevels > m:
            raise StrataError("struct buddy at 0x%08x: a bitmap claims %d levels "
                              "(at most %d): the metadata is corrupt"
                              % (self.addr, nlevels, m))
        return Bitmap(self, nbits, nlevels, sizes(data, base + b["off"], m, w),
                      sizes(data, base + b["nwords"], m, w))

    def free_blocks(self):
        """{order: [start unit, ...]} from the free maps."""
        return {k: [i << k for i in self.freemap[k].set_bits()] for k in range(self.orders)}

    def allocations(self):
        """[(start, count)]: each start bit paired with the next end bit."""
        starts, ends = self.startmap.set_bits(), self.endmap.set_bits()
        allocs, problems, j = [], [], 0
        for i, s in enumerate(starts):
            while j < len(ends) and ends[j] < s:
                problems.append("endmap bit %d has no allocation start before it" % ends[j])
                j += 1
            if j == len(ends):
                problems.append("allocation at unit %d has no end bit" % s)
                continue
            if i + 1 < len(starts) and starts[i + 1] <= ends[j]:
                problems.append("allocation at unit %d has no end bit before the next "
                                "start (%d)" % (s, starts[i + 1]))
                continue
            allocs.append((s, ends[j] - s + 1))
            j += 1
        for e in ends[j:]:
            problems.append("endmap bit %d has no allocation start before it" % e)
        return allocs, problems


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

Usage: strata-buddy [--all | --limit N] [--units] [--allocs] [--check] [EXPR]

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
one), read from the free bitmaps of src/mm/buddy.c through their summary
levels. The "per order:" line has the same numbers as the kernel's boot line
"[ppalloc] free blocks per order:". It also counts the allocations (startmap
and endmap bits) and the units neither free nor allocated (reserved), and
says whether the free maps agree with nfree[] and free_units.

  --units   print unit numbers instead of addresses
  --allocs  also list the allocations (start, count), as startmap/endmap say
  --check   read every bitmap whole and check the buddy invariants: summary
            levels, counters, no free buddies left unmerged, no overlaps"""

    def __init__(self):
        super().__init__("strata-buddy", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    @reported("strata-buddy", hint=paging_hint)
    def invoke(self, arg, from_tty):
        self.run(arg)

    @staticmethod
    def parse(arg):
        """Leading --options, then the rest of the line verbatim as EXPR (so
        that quotes in 'vpalloc.c'::kvpa survive)."""
        opts = {"limit": DEFAULT_LIMIT, "units": False, "allocs": False, "check": False}
        rest = arg.strip()
        while rest.startswith("--"):
            word, _, rest = rest.partition(" ")
            rest = rest.strip()
            name, eq, val = word[2:].partition("=")
            if name == "all" and not eq:
                opts["limit"] = None
            elif name in ("units", "allocs", "check") and not eq:
                opts[name] = True
            elif name == "limit":
                if not eq:
                    val, _, rest = rest.partition(" ")
                    rest = rest.strip()
                if not val.isdigit():
                    raise StrataError("--limit needs a number")
                opts["limit"] = int(val)
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

        blocks = b.free_blocks()
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
        out("  free %d units%s, allocated %d in %s, reserved %d"
            % (b.free_units, " (%s)" % size(b.free_units) if tgt.base is not None else "",
               allocated, plural(len(allocs), "allocation"), b.n - b.free_units - allocated))
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
                problems.append("order %d: %d bits set in the free map but nfree[%d] = %d"
                                % (k, len(blocks[k]), k, b.nfree[k]))
        if counted_free != b.free_units:
            problems.append("the free maps hold %d units but free_units = %d"
                            % (counted_free, b.free_units))
        problems += alloc_problems
        lost = b.n - b.free_units - allocated
        if tgt.reserved is not None and not problems and lost != tgt.reserved:
            if lost > tgt.reserved:
                problems.append("%d units are neither free nor allocated but only %d were "
                                "reserved at setup: %d units lost (does buddy_split() put every "
                                "unused part back on a free list?)"
                                % (lost, tgt.reserved, lost - tgt.reserved))
            else:
                problems.append("%d units are neither free nor allocated but %d were "
                                "reserved at setup: the counters disagree"
                                % (lost, tgt.reserved))
        if opts["check"]:
            problems += self.check(b, blocks, allocs)
        total = sum(len(v) for v in blocks.values())
        if problems:
            for p in problems[:20]:
                out("  PROBLEM: %s" % p)
            if len(problems) > 20:
                out("  ... %d more problems" % (len(problems) - 20))
            out("strata-buddy: %d free blocks, %d free units; %s"
                % (total, counted_free, plural(len(problems), "problem")))
        else:
            out("strata-buddy: %s, %s; free maps agree with nfree[] and free_units%s"
                % (plural(total, "free block"), plural(counted_free, "free unit"),
                   "; --check found nothing wrong" if opts["check"] else ""))

    @staticmethod
    def check(b, blocks, allocs):
        problems = []
        for k in range(b.orders):
            problems += b.freemap[k].check("free map of order %d" % k)
            if k + 1 < b.orders:
                free_k = set(blocks[k])
                for s in blocks[k]:
                    if s ^ (1 << k) in free_k and s < s ^ (1 << k):
                        problems.append("order %d: blocks at units %d and %d are free "
                                        "buddies, not merged" % (k, s, s ^ (1 << k)))
        problems += b.startmap.check("startmap") + b.endmap.check("endmap")
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
