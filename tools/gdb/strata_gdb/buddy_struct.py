#@ LAB 2 FILE
# Reading a buddy allocator (src/mm/buddy.c) for strata-buddy (buddy.py).
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
from .util import StrataError, read_bytes

WORD_BITS = 32
MAX_LEVELS = (32 + 4) // 5      # MAX_LEVELS in buddy.c (private there), 32-bit size_t


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
