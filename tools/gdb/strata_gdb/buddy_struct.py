#@ LAB 2 FILE
# Reading a buddy allocator (src/mm/buddy.c) for strata-buddy (buddy.py).
#
# The allocator is read straight from the target's memory, the way
# src/mm/buddy.c lays it out (see the comment at its top): struct buddy, then
# the 32-bit words of every bitmap, found by word offsets from b->words.
#   - Order k has a free map: bit i of level 0 set iff the block of order k
#     at unit i * 2^k is on the free list of order k. An unlisted order has
#     summary levels above it (bit j of level l+1 set iff word j of level l
#     is not zero), and its blocks are found by going down them. A "listed"
#     order (bit k of b->listed) keeps its free blocks in
#     b->list[k][0 .. nfree[k]) as well, unordered, and its summary levels
#     are all zero: its blocks are read from the list, and the list is
#     checked against level 0.
#   - bounds is one flat bitmap of two bits per unit: bit 2u set iff an
#     allocation starts at unit u, bit 2u+1 iff one ends there (its last
#     unit). Read whole, in chunks, and its bits paired start to end.
#   - bigend has the end bit of every allocation of more than BIG units (one
#     bit per unit, with summary levels).
# There is no free_units field: the free units are the sum of nfree[k] * 2^k.
# Field offsets come from the kernel's debug information, or from the i386
# layout below when it is absent.

import struct

import gdb

from .facts import K
from .util import StrataError, read_bytes

WORD_BITS = 32
MAX_LEVELS = (32 + 4) // 5      # MAX_LEVELS in buddy.c (private there), 32-bit size_t
LIST_MAX = 8                    # LIST_MAX in buddy.c: the length of b->list[k]
BIG = 16                        # BIG in buddy.c: allocations of more units have a bigend bit
CHUNK_WORDS = 4096              # bounds is read 16 KiB at a time


def fallback_layout(list_max=LIST_MAX):
    """The i386 layout of struct buddy (private to buddy.c), for a kernel
    without debug information; BUDDY_MAX_ORDER is the header's (facts), and
    LIST_MAX (private to buddy.c, and still being tuned) is found in the
    allocator's memory by probe_list_max.

      struct bitmap { size_t nbits; unsigned nlevels; size_t off[7]; size_t nwords[7]; }
      struct buddy { size_t n; unsigned orders; size_t nfree[32];
                     struct bitmap freemap[32]; uint32_t listed;
                     size_t list[32][LIST_MAX]; struct bitmap bounds, bigend;
                     uint32_t words[]; }

    Every field is 4 bytes (or made of them), so there is no padding. The
    figures in the comments are gcc's for src/mm/buddy.c itself: a file
    off.c with `#include "mm/buddy.c"` and a main() that printf()s
    offsetof(struct buddy, FIELD) for each field (and sizeof(struct
    bitmap)), built with `gcc -m32 -Isrc off.c -o off` in the repository
    root. test_gdb.py checks on every run that this layout, with the probed
    LIST_MAX, is the one the kernel's debug information gives."""
    orders = K.BUDDY_MAX_ORDER
    bitmap = 4 + 4 + 4 * MAX_LEVELS * 2                                 # 64
    freemap = 8 + 4 * orders                                            # 136
    listed = freemap + bitmap * orders                                  # 2184
    lst = listed + 4                                                    # 2188
    bounds = lst + 4 * orders * list_max                                # 3212
    return {
        "n": 0, "orders": 4, "nfree": 8, "freemap": freemap,
        "listed": listed, "list": lst, "bounds": bounds,
        "bigend": bounds + bitmap, "words": bounds + 2 * bitmap,         # 3276, 3340
        "bitmap": {"nbits": 0, "nlevels": 4, "off": 8, "nwords": 8 + 4 * MAX_LEVELS},
        "bitmap_size": bitmap,
        "max_levels": MAX_LEVELS,
        "max_order": orders,
        "list_max": list_max,
        "size_t": 4,
        "source": "built-in i386 layout",
    }


def probe_list_max(addr, n):
    """LIST_MAX for the i386 struct buddy at addr with n units: the length
    of list[k] that puts `bounds` (2n bits, one level) and `bigend` (n bits)
    where struct buddy has them (list entries are block numbers below n, so
    a shorter length cannot match). None if no length up to 64 does."""
    for m in range(1, 65):
        lay = fallback_layout(m)
        bounds = addr + lay["bounds"]
        nbits, nlevels = u32s(read_bytes(bounds, 8, UNREADABLE, any_error=True), 0, 2)
        if nbits == 2 * n and nlevels == 1 and u32s(read_bytes(
                bounds + lay["bitmap_size"], 4, UNREADABLE, any_error=True), 0, 1)[0] == n:
            return m
    return None


def fallback_for(addr):
    """fallback_layout() for the allocator at addr, with its LIST_MAX."""
    n = u32s(read_bytes(addr, 4, UNREADABLE, any_error=True), 0, 1)[0]
    m = probe_list_max(addr, n)
    if m is None:
        raise StrataError("0x%08x: no struct buddy of the i386 layout this helper knows (no "
                          "`bounds` of %d bits where it should be; no debug information to "
                          "say otherwise): wrong pointer, or a changed src/mm/buddy.c" % (addr, 2 * n))
    return fallback_layout(m)


# Appended to "cannot read N bytes at ADDR".
UNREADABLE = " (is the address mapped, is QEMU connected and stopped?)"

FIELDS = ("n", "orders", "nfree", "freemap", "listed", "list", "bounds", "bigend", "words")


def u32s(data, offset, count):
    return list(struct.unpack_from("<%dI" % count, data, offset))


def sizes(data, offset, count, width):
    """count size_t values (width 4 or 8 bytes) at offset."""
    return list(struct.unpack_from("<%d%s" % (count, "I" if width == 4 else "Q"),
                                   data, offset))


def orders_for(n, max_order):
    top = n.bit_length() - 1
    return min(top, max_order - 1) + 1


def bits_of(word, first_bit):
    """The set bits of a 32-bit word whose bit 0 is bit first_bit, ascending."""
    found = []
    while word:
        low = word & -word
        found.append(first_bit + low.bit_length() - 1)
        word ^= low
    return found


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
        lay = {name: f[name] for name in FIELDS}
        lay["bitmap"] = {name: bf[name] for name in ("nbits", "nlevels", "off", "nwords")}
        lay["bitmap_size"] = bm.sizeof
        lay["size_t"] = off_type.target().sizeof
        lay["max_levels"] = off_type.sizeof // lay["size_t"]
        # BUDDY_MAX_ORDER: the length of nfree[]; LIST_MAX: of list[k]
        nfree = [fld for fld in t.fields() if fld.name == "nfree"][0].type
        lay["max_order"] = nfree.sizeof // lay["size_t"]
        lst = [fld for fld in t.fields() if fld.name == "list"][0].type
        lay["list_max"] = lst.target().sizeof // lay["size_t"]
        if lst.sizeof != lay["max_order"] * lay["list_max"] * lay["size_t"]:
            raise KeyError("list")
        lay["source"] = "debug information"
    except (KeyError, IndexError, ZeroDivisionError, gdb.error):
        raise StrataError("struct buddy in the debug information is not the one of "
                          "src/mm/buddy.c this helper knows (fields %s; "
                          "list[BUDDY_MAX_ORDER][LIST_MAX])" % ", ".join(FIELDS))
    if lay["size_t"] not in (4, 8):
        raise StrataError("struct buddy: size_t of %d bytes is not supported" % lay["size_t"])
    return lay


class Bitmap:
    """One bitmap (with summary levels, or flat), read lazily from the target."""

    def __init__(self, buddy, nbits, nlevels, off, nwords):
        self.buddy = buddy
        self.nbits, self.nlevels = nbits, nlevels
        self.off, self.nwords = off, nwords

    def words(self, level, first, count):
        """Words [first, first + count) of a level."""
        if count <= 0:
            return []
        addr = self.buddy.words_addr + 4 * (self.off[level] + first)
        return u32s(read_bytes(addr, 4 * count, UNREADABLE, any_error=True), 0, count)

    def level0_bits(self, first_word=0, count=None):
        """Every set bit of level 0 in words [first_word, first_word + count)
        (all of level 0 by default), ascending, read CHUNK_WORDS at a time:
        for a flat bitmap, or to check one whole."""
        end = self.nwords[0] if count is None else first_word + count
        found = []
        for lo in range(first_word, end, CHUNK_WORDS):
            for i, w in enumerate(self.words(0, lo, min(CHUNK_WORDS, end - lo))):
                if w:
                    found += bits_of(w, (lo + i) * WORD_BITS)
        return found

    def test_bits(self, bits):
        """{bit: 0 or 1} for the given bits of level 0, reading only the
        words that hold them (neighbouring words in one read)."""
        wanted = sorted({b // WORD_BITS for b in bits if b // WORD_BITS < self.nwords[0]})
        got, i = {}, 0
        while i < len(wanted):
            j = i
            while j + 1 < len(wanted) and wanted[j + 1] - wanted[j] <= 16:
                j += 1
            for k, w in enumerate(self.words(0, wanted[i], wanted[j] - wanted[i] + 1)):
                got[wanted[i] + k] = w
            i = j + 1
        return {b: (got[b // WORD_BITS] >> (b % WORD_BITS)) & 1 if b // WORD_BITS in got else 0
                for b in bits}

    def set_bits(self):
        """Every set bit of level 0 below nbits, ascending. Follows the summary
        levels down from the top word, so only words with something set are
        read (one read per non-zero summary word)."""
        if self.nlevels == 0 or self.nbits == 0:
            return []
        found = []
        top = self.nlevels - 1
        self._descend(top, 0, self.words(top, 0, self.nwords[top]), found, None)
        return found

    def nonzero_summary(self):
        """[(level, word index, word)] of the summary words (levels >= 1)
        that are not zero and that the descent from the top reaches: what a
        listed order must not have. Reads the top level and, below it, only
        the words a non-zero word points to (none, if all is well)."""
        if self.nlevels < 2:
            return []
        found = []
        top = self.nlevels - 1
        self._descend(top, 0, self.words(top, 0, self.nwords[top]), None, found)
        return found

    def _descend(self, level, first, words, found, summary):
        for i, w in enumerate(words):
            if w == 0:
                continue
            index = first + i		# word index within this level
            if level == 0:
                if found is not None:
                    found += [b for b in bits_of(w, index * WORD_BITS) if b < self.nbits]
                continue
            if summary is not None:
                summary.append((level, index, w))
                if level == 1:
                    continue	# level 0 is not a summary
            # Bit b of this word says word index*32 + b of the level below is
            # not zero: read those 32 words (fewer at the end) at once.
            lo = index * WORD_BITS
            hi = min(lo + WORD_BITS, self.nwords[level - 1])
            if lo >= hi:
                continue
            below = self.words(level - 1, lo, hi - lo)
            keep = [below[j] if (w >> j) & 1 else 0 for j in range(hi - lo)]
            self._descend(level - 1, lo, keep, found, summary)

    def check(self, name, listed=False):
        """Problems in this bitmap, reading all of it: summary levels that do
        not say which words below are non-zero (listed: summary words that
        are not zero), bits set past nbits."""
        problems = []
        levels = [self.words(l, 0, self.nwords[l]) for l in range(self.nlevels)]
        for l in range(1, self.nlevels):
            if listed:
                for j, w in enumerate(levels[l]):
                    if w:
                        problems.append("%s: level %d word %d is 0x%08x, but the order is "
                                        "listed (its summary levels must be zero)"
                                        % (name, l, j, w))
                continue
            for j, w in enumerate(levels[l - 1]):
                if j >= len(levels[l]) * WORD_BITS:
                    # no summary bit: only a word past the bits (level 0's
                    # room for the always-clear bit), which must stay zero
                    if w:
                        problems.append("%s: word %d of level %d is 0x%08x but no bit of "
                                        "level %d covers it" % (name, j, l - 1, w, l))
                    continue
                summary = (levels[l][j // WORD_BITS] >> (j % WORD_BITS)) & 1
                if summary != (w != 0):
                    problems.append("%s: level %d bit %d is %d but word %d of level %d is 0x%08x"
                                    % (name, l, j, summary, j, l - 1, w))
            for j in range(len(levels[l - 1]), len(levels[l]) * WORD_BITS):
                if (levels[l][j // WORD_BITS] >> (j % WORD_BITS)) & 1:
                    problems.append("%s: level %d bit %d is set past the end of level %d"
                                    % (name, l, j, l - 1))
        if levels:
            past = [b for j in range(self.nbits // WORD_BITS, len(levels[0]))
                    for b in bits_of(levels[0][j], j * WORD_BITS) if b >= self.nbits]
            if past:
                problems.append("%s: bit %d is set past nbits=%d" % (name, past[0], self.nbits))
        return problems


class Buddy:
    """struct buddy at addr, read from the target."""

    def __init__(self, addr, lay=None):
        if addr == 0:
            raise StrataError("the allocator pointer is NULL")
        lay = lay or layout()
        if lay["source"] != "debug information":
            lay = fallback_for(addr)
        self.addr = addr
        self.layout = lay
        self.words_addr = addr + lay["words"]
        w = lay["size_t"]
        data = read_bytes(addr, lay["words"], UNREADABLE, any_error=True)
        self.n, self.orders = sizes(data, lay["n"], 1, w)[0], u32s(data, lay["orders"], 1)[0]
        if self.n == 0 or self.orders != orders_for(self.n, lay["max_order"]):
            raise StrataError("0x%08x does not look like a struct buddy set up by buddy_init "
                              "(n=%d, orders=%d): wrong pointer, or not initialised yet"
                              % (addr, self.n, self.orders))
        self.nfree = sizes(data, lay["nfree"], lay["max_order"], w)
        self.freemap = [self._bitmap(data, lay["freemap"] + k * lay["bitmap_size"])
                        for k in range(lay["max_order"])]
        self.listed = u32s(data, lay["listed"], 1)[0]
        self.list_max = lay["list_max"]
        flat = sizes(data, lay["list"], lay["max_order"] * self.list_max, w)
        self.list = [flat[k * self.list_max:(k + 1) * self.list_max]
                     for k in range(lay["max_order"])]
        self.bounds = self._bitmap(data, lay["bounds"])
        self.bigend = self._bitmap(data, lay["bigend"])
        # What buddy_free_units returns.
        self.free_units = sum(self.nfree[k] << k for k in range(self.orders))

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

    def is_listed(self, k):
        return (self.listed >> k) & 1 == 1

    def free_blocks(self, whole=False):
        """({order: [start unit, ...] ascending}, problems). An unlisted order's
        blocks come from its free map, through the summary levels; a listed
        one's from its list, checked against level 0 (each entry's bit is
        set) and its summary levels (zero). Whether level 0 has bits outside
        the list is checked when level 0 is one top level (a few words) or
        `whole` is asked (it reads all of level 0)."""
        blocks, problems = {}, []
        for k in range(self.orders):
            if self.is_listed(k):
                blocks[k], p = self._listed_blocks(k, whole)
                problems += p
            else:
                blocks[k] = [i << k for i in self.freemap[k].set_bits()]
        return blocks, problems

    def _listed_blocks(self, k, whole):
        m, problems = self.freemap[k], []
        count = self.nfree[k]
        if count > self.list_max:
            problems.append("order %d is listed but nfree[%d] = %d is more than its list "
                            "holds (%d)" % (k, k, count, self.list_max))
            count = self.list_max
        entries = self.list[k][:count]
        seen = set()
        for j, i in enumerate(entries):
            if i in seen:
                problems.append("order %d: block %d (unit %d) is twice in its list "
                                "(list[%d][%d])" % (k, i, i << k, k, j))
            elif i >= m.nbits:
                problems.append("order %d: list[%d][%d] = %d is past the last block of the "
                                "order (%d)" % (k, k, j, i, m.nbits - 1))
            seen.add(i)
        inside = sorted(i for i in seen if i < m.nbits)
        bit = m.test_bits(inside)
        for j, i in enumerate(entries):
            if i < m.nbits and not bit[i]:
                problems.append("order %d: list[%d][%d] = %d (unit %d) but bit %d of its free "
                                "map is clear" % (k, k, j, i, i << k, i))
                bit[i] = 1	# once per block
        if whole or m.nlevels == 1:
            extra = [i for i in m.level0_bits() if i not in seen and i < m.nbits]
            for i in extra:
                problems.append("order %d: bit %d (unit %d) of its free map is set but the "
                                "block is not in its list" % (k, i, i << k))
        if not whole:	# --check reads the summary levels whole (Bitmap.check)
            for level, index, w in m.nonzero_summary():
                problems.append("order %d is listed but level %d word %d of its free map is "
                                "0x%08x (a listed order's summary levels are zero)"
                                % (k, level, index, w))
        return [i << k for i in inside], problems

    def allocations(self):
        """([(start, count)], problems): the bounds bits in unit order, each
        start bit (2u) paired with the end bit (2u+1) that follows it; every
        allocation of more than BIG units checked against bigend."""
        allocs, problems, start = [], [], None
        for b in self.bounds.level0_bits():
            u = b >> 1
            if b >= self.bounds.nbits:
                break	# past 2n: --check says so
            if b & 1 == 0:
                if start is not None:
                    problems.append("allocation at unit %d has no end bit before the next "
                                    "start (%d)" % (start, u))
                start = u
            elif start is None:
                problems.append("bounds: the end bit of unit %d has no allocation start "
                                "before it" % u)
            else:
                allocs.append((start, u - start + 1))
                start = None
        if start is not None:
            problems.append("allocation at unit %d has no end bit" % start)
        ends = set(self.bigend.set_bits())
        for s, c in allocs:
            if c > BIG and s + c - 1 not in ends:
                problems.append("allocation at unit %d of %d units (more than %d) has no "
                                "bigend bit at its last unit %d" % (s, c, BIG, s + c - 1))
        big = {s + c - 1 for s, c in allocs if c > BIG}
        for e in sorted(ends - big):
            problems.append("bigend bit %d is not the last unit of an allocation of more "
                            "than %d units" % (e, BIG))
        return allocs, problems
