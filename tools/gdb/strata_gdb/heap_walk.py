#@ LAB 6 FILE
# Reading Strata's kernel heap (lab 6, src/mm/malloc*.c) for strata-heap
# (heap.py): the heap's layout, its variables, and the walk.
#
# Walks every arena of the kernel malloc heap, chunk by chunk, straight from
# the target's memory, and prints each chunk (address, size, used or free),
# the anomalies it meets (two neighbouring free chunks, a footer that differs
# from its header, a bad canary or arena magic, broken fences, free lists
# that disagree with the chunks) and a summary (arenas, used and free bytes,
# free chunks per size class). It only reads the target.
#
# The layout it reads is the one described at the top of src/mm/malloc.c:
#
#   arena:  struct arena | front fence | chunk | chunk | ... | end fence
#   chunk:  header {size|flags, canary} ... footer (a copy of the header)
#
# Field offsets and sizeof(struct arena) come from the kernel's debug
# information (with the headers' layout as a fallback).
#
# A module of the strata_gdb package (tools/gdb/strata.py loads it when a
# branch has it: lab 6 on).

import struct

import gdb

from .facts import K
from .util import StrataError, need_symbols, need_target, plural, read_bytes, to_int

# The heap's layout constants (flags, magics, canary, size classes) are
# malloc's #defines, which the debug information does not carry: they come
# from the kernel's headers through the facts module (K.MALLOC_*).
MAX_ARENAS = 1 << 16          # more than the kernel virtual space holds
MAX_PAGES = 1 << 18           # an arena of more pages is a broken header
DEFAULT_LINES = 200           # chunk lines printed without --all



def arena_fallback(why=""):
    """struct arena's layout from the headers (facts.c), for a kernel
    without debug information."""
    lay = {name: off for name, (off, _) in K.ARENA.items()}
    lay.update(sizeof=K.SIZEOF_ARENA, source="built-in i386 layout" + why)
    return lay


NO_SYMBOLS = ("no kernel symbols loaded: `file build/kernel.elf` first "
              "(make gdb does it)")


def try_read(addr, n):
    try:
        return read_bytes(addr, n, any_error=True)
    except StrataError:
        return None


def u32(data, off):
    return struct.unpack_from("<I", data, off)[0]


def canary(addr, size_flags):
    """canary() of malloc.c: a hash of a tag's chunk address and size|flags."""
    return ((((addr & 0xFFFFFFFF) >> 3) * 0x9e3779b1) & 0xFFFFFFFF) ^ size_flags ^ \
        K.MALLOC_CANARY_SEED


def size_class(size):
    """size_class() of malloc.c."""
    if size <= K.MALLOC_EXACT_MAX:
        return size // K.MALLOC_ALIGN - 2
    b = size.bit_length() - 1
    return K.MALLOC_EXACT_CLASSES + (b - 10) * 4 + ((size >> (b - 2)) & 3)


def class_label(cls):
    """The chunk sizes of a class: '208' or '1040..1264'."""
    if cls < K.MALLOC_EXACT_CLASSES:
        return "%d" % ((cls + 2) * K.MALLOC_ALIGN)
    k = cls - K.MALLOC_EXACT_CLASSES
    b, q = 10 + k // 4, k % 4
    lo, hi = (4 + q) << (b - 2), (5 + q) << (b - 2)
    lo = max(lo, K.MALLOC_EXACT_MAX + K.MALLOC_ALIGN)
    return "%d..%d" % (lo, hi - K.MALLOC_ALIGN)


def size_text(n):
    if n >= 1 << 20:
        return "%d bytes (%.1f MiB)" % (n, n / float(1 << 20))
    if n >= 1 << 10:
        return "%d bytes (%.1f KiB)" % (n, n / float(1 << 10))
    return plural(n, "byte")


# ---- what the kernel has ------------------------------------------------------

def is_malloc_c(filename):
    """One of the heap's files: src/mm/malloc.c or a malloc_*.c part."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return base == "malloc.c" or (base.startswith("malloc_") and base.endswith(".c"))


def symbol(name, required=True):
    """(address, gdb.Type) of the heap's variable `name` (defined in one of
    src/mm/malloc*.c, static or not), or None."""
    candidates = []
    try:
        candidates = list(gdb.lookup_static_symbols(name))
    except (AttributeError, gdb.error):        # GDB < 10
        pass
    if not candidates:
        try:
            s = gdb.lookup_static_symbol(name)
            if s is not None:
                candidates = [s]
        except (AttributeError, gdb.error):
            pass
    try:
        s = gdb.lookup_global_symbol(name)
        if s is not None:
            candidates.append(s)
    except (AttributeError, gdb.error):
        pass
    for s in candidates:
        if s.is_variable and s.symtab is not None and \
                is_malloc_c(s.symtab.filename):
            v = s.value()
            return to_int(v.address), v.type
    if required:
        need_symbols(NO_SYMBOLS)
        raise StrataError("no kernel heap in this kernel: malloc.c's `%s` is not in "
                          "the symbols (the heap arrives with lab 6, src/mm/malloc.c)"
                          % name)
    return None


def arena_layout():
    """Field offsets and size of struct arena, from the debug information."""
    try:
        t = gdb.lookup_type("struct arena")
    except gdb.error:
        return arena_fallback()
    offs = {f.name: f.bitpos // 8 for f in t.fields() if not f.is_base_class}
    lay = {"sizeof": t.sizeof, "source": "debug information"}
    for name in ("magic", "large", "pages", "next", "prev"):
        if name not in offs:
            return arena_fallback(" (struct arena has no `%s`)" % name)
        lay[name] = offs[name]
    return lay


def stopped_in_malloc():
    """The malloc.c function on the stack, if the kernel is stopped in one."""
    try:
        f = gdb.newest_frame()
    except gdb.error:
        return None
    while f is not None:
        try:
            sal = f.find_sal()
            if sal.symtab is not None and is_malloc_c(sal.symtab.filename):
                return f.name() or "??"
            f = f.older()
        except gdb.error:
            return None
    return None


# ---- the walk -----------------------------------------------------------------

class Chunk:
    __slots__ = ("addr", "size", "flags", "free", "notes", "arena", "listed", "broken")

    def __init__(self, addr, size, flags, arena):
        self.addr, self.size, self.flags, self.arena = addr, size, flags, arena
        self.free = bool(flags & K.MALLOC_F_FREE)
        self.notes = []
        self.listed = 0
        self.broken = False     # a header whose size cannot be followed


class Arena:
    def __init__(self, addr):
        self.addr = addr
        self.magic = self.large = self.pages = self.next = self.prev = 0
        self.chunks = []
        self.notes = []
        self.complete = False

    @property
    def end(self):
        return self.addr + self.pages * K.PAGE_SIZE

    def kind(self):
        return "large block" if self.large else "arena"


class Walk:
    """Everything strata-heap reports, read from the target."""

    def __init__(self):
        need_symbols(NO_SYMBOLS)
        need_target("the kernel is not running: start `make qemu-gdb` and connect "
                    "(`make gdb`, or strata-connect), then stop it where you want to look",
                    running="the kernel is running: interrupt it (Ctrl-C) or stop it at "
                    "a breakpoint first")
        self.anomalies = []
        self.lay = arena_layout()
        self.first = (self.lay["sizeof"] + K.MALLOC_TAG + K.MALLOC_ALIGN - 1) \
            // K.MALLOC_ALIGN * K.MALLOC_ALIGN + K.MALLOC_TAG       # ARENA_FIRST, for this layout
        arenas_sym = symbol("arenas")
        self.freelist_sym = symbol("freelist", required=False)
        self.nonempty_sym = symbol("nonempty", required=False)
        cached_sym = symbol("cached_empty", required=False)
        pages_sym = symbol("heap_pages", required=False)
        try:
            data = read_bytes(arenas_sym[0], 4, any_error=True)
        except StrataError:
            raise StrataError("cannot read `arenas` at 0x%08x: the kernel is not in "
                              "the higher half yet (break at kernel_main or later)"
                              % arenas_sym[0])
        self.head = u32(data, 0)
        self.cached = (u32(read_bytes(cached_sym[0], 4, any_error=True), 0)
                       if cached_sym else None)
        self.heap_pages = (u32(read_bytes(pages_sym[0], 4, any_error=True), 0)
                           if pages_sym else None)
        self.arenas = []
        self.by_addr = {}
        self.walk_arenas()
        self.walk_lists()

    def anomaly(self, text, where=None):
        self.anomalies.append(text)
        if where is not None:
            where.notes.append(text)

    # -- arenas and chunks

    def walk_arenas(self):
        seen = set()
        addr, prev = self.head, None
        while addr != 0:
            if addr in seen:
                self.anomaly("arena list loops back to 0x%08x" % addr)
                return
            if len(seen) >= MAX_ARENAS:
                self.anomaly("more than %d arenas: arena list broken?" % MAX_ARENAS)
                return
            seen.add(addr)
            if addr % K.PAGE_SIZE:
                self.anomaly("arena pointer 0x%08x (from %s) is not page aligned: "
                             "stopping the walk" % (addr, self.came_from(prev)))
                return
            a = Arena(addr)
            hdr = try_read(addr, self.lay["sizeof"])
            if hdr is None:
                self.anomaly("arena at 0x%08x (from %s) is not readable: stopping the walk"
                             % (addr, self.came_from(prev)))
                return
            for name in ("magic", "large", "pages", "next", "prev"):
                setattr(a, name, u32(hdr, self.lay[name]))
            self.arenas.append(a)
            want = K.MALLOC_LARGE_MAGIC if a.large else K.MALLOC_ARENA_MAGIC
            if a.magic != want or a.pages == 0 or a.pages > MAX_PAGES:
                self.anomaly("arena 0x%08x: bad header (magic 0x%08x, expected 0x%08x; "
                             "pages %d): stopping the walk (its next pointer cannot be "
                             "trusted)" % (addr, a.magic, want, a.pages), a)
                return
            if a.prev != (prev.addr if prev else 0):
                self.anomaly("arena 0x%08x: prev is 0x%08x, expected 0x%08x"
                             % (addr, a.prev, prev.addr if prev else 0), a)
            if prev is not None and addr <= prev.addr:
                self.anomaly("arena 0x%08x comes after 0x%08x: list out of address order"
                             % (addr, prev.addr), a)
            if prev is not None and addr < prev.end:
                self.anomaly("arena 0x%08x overlaps arena 0x%08x-0x%08x"
                             % (addr, prev.addr, prev.end - 1), a)
            self.walk_chunks(a)
            prev = a
            addr = a.next

    def came_from(self, prev):
        return "arenas" if prev is None else "the next field of arena 0x%08x" % prev.addr

    def fence(self, a, at, what):
        t = try_read(at, K.MALLOC_TAG)
        if t is None:
            self.anomaly("%s 0x%08x: %s fence at 0x%08x is not readable"
                         % (a.kind(), a.addr, what, at), a)
            return
        size, can = u32(t, 0), u32(t, 4)
        if size != K.MALLOC_F_FENCE or can != canary(at, K.MALLOC_F_FENCE):
            self.anomaly("%s 0x%08x: %s fence at 0x%08x overwritten (0x%08x 0x%08x)"
                         % (a.kind(), a.addr, what, at, size, can), a)

    def walk_chunks(self, a):
        first, fence = a.addr + self.first, a.end - K.MALLOC_TAG
        self.fence(a, first - K.MALLOC_TAG, "front")
        self.fence(a, fence, "end")
        if a.large:
            # One chunk: read its header and footer only (it may be large).
            hdr = try_read(first, K.MALLOC_TAG)
            size = u32(hdr, 0) & ~K.MALLOC_F_MASK if hdr else 0
            blocks = {first: hdr}
            if hdr and K.MALLOC_MIN_CHUNK <= size <= fence - first:
                foot = first + size - K.MALLOC_TAG
                blocks[foot] = try_read(foot, K.MALLOC_TAG)

            def tag_at(x):
                return blocks.get(x)
        else:
            data = try_read(a.addr, a.pages * K.PAGE_SIZE)
            if data is None:
                self.anomaly("arena 0x%08x: its %d pages are not all readable (unmapped?)"
                             % (a.addr, a.pages), a)
                return

            def tag_at(x):
                off = x - a.addr
                return data[off:off + K.MALLOC_TAG] if 0 <= off <= len(data) - K.MALLOC_TAG \
                    else None

        c, prev = first, None
        while c < fence:
            t = tag_at(c)
            if t is None:
                self.anomaly("%s 0x%08x: header at 0x%08x not readable" % (a.kind(), a.addr, c),
                             a)
                return
            size_flags, can = u32(t, 0), u32(t, 4)
            size, flags = size_flags & ~K.MALLOC_F_MASK, size_flags & K.MALLOC_F_MASK
            ch = Chunk(c, size, flags, a)
            if size < K.MALLOC_MIN_CHUNK or size % K.MALLOC_ALIGN or c + size > fence:
                ch.free, ch.broken = False, True
                a.chunks.append(ch)
                self.anomaly("chunk 0x%08x: bad size %d (header 0x%08x 0x%08x%s): cannot "
                             "walk the rest of %s 0x%08x"
                             % (c, size, size_flags, can,
                                "" if can == canary(c, size_flags) else ", bad canary",
                                a.kind(), a.addr), ch)
                return
            a.chunks.append(ch)
            if can != canary(c, size_flags):
                self.anomaly("chunk 0x%08x: bad canary in the header (0x%08x, expected "
                             "0x%08x): header overwritten?"
                             % (c, can, canary(c, size_flags)), ch)
            f = tag_at(c + size - K.MALLOC_TAG)
            if f is None:
                self.anomaly("chunk 0x%08x: footer at 0x%08x not readable"
                             % (c, c + size - K.MALLOC_TAG), ch)
            elif f != t:
                self.anomaly("chunk 0x%08x: header/footer mismatch: header 0x%08x 0x%08x, "
                             "footer at 0x%08x 0x%08x 0x%08x (overrun?)"
                             % (c, size_flags, can, c + size - K.MALLOC_TAG, u32(f, 0),
                                u32(f, 4)), ch)
            want = (K.MALLOC_F_LARGE,) if a.large else (0, K.MALLOC_F_FREE)
            if flags not in want:
                self.anomaly("chunk 0x%08x: bad flags 0x%x in a%s %s"
                             % (c, flags, "" if a.large else "n", a.kind()), ch)
            if ch.free and prev is not None and prev.free:
                self.anomaly("chunks 0x%08x and 0x%08x: two adjacent free chunks "
                             "(not coalesced)" % (prev.addr, c), ch)
            self.by_addr[c] = ch
            prev, c = ch, c + size
        a.complete = True
        if a.large and len(a.chunks) != 1:
            self.anomaly("large block 0x%08x holds %d chunks, not 1"
                         % (a.addr, len(a.chunks)), a)

    # -- free lists

    def walk_lists(self):
        """Follows every free list. Two shapes are understood: an array of
        head pointers (NULL-terminated lists) or an array of sentinel
        struct chunks (circular lists, freelist[c].next == &freelist[c]
        when empty; all zero before the lists are first set up)."""
        self.lists = None
        if self.freelist_sym is None:
            return
        addr, typ = self.freelist_sym
        next_off, prev_off = K.MALLOC_TAG, K.MALLOC_TAG + 4
        try:
            ct = gdb.lookup_type("struct chunk")
            offs = {f.name: f.bitpos // 8 for f in ct.fields()}
            next_off, prev_off = offs.get("next", next_off), offs.get("prev", prev_off)
        except gdb.error:
            pass
        elem = typ.strip_typedefs().target().strip_typedefs()
        sentinel = elem.code == gdb.TYPE_CODE_STRUCT
        esize = elem.sizeof if sentinel else 4
        nclass = typ.sizeof // esize
        table = read_bytes(addr, typ.sizeof, any_error=True)
        words = []
        if self.nonempty_sym is not None:
            nw = max(1, self.nonempty_sym[1].sizeof // 4)
            words = list(struct.unpack("<%dI" % nw, read_bytes(self.nonempty_sym[0],
                                                               4 * nw, any_error=True)))
        self.lists = []
        complete = all(a.complete for a in self.arenas)
        if not complete:
            self.anomaly("free lists not fully checked: an arena could not be walked to "
                         "its end")
        limit = sum(1 for ch in self.by_addr.values() if ch.free) + 16
        for cls in range(nclass):
            if sentinel:
                end = addr + cls * esize
                first = u32(table, cls * esize + next_off)
                if first == 0:          # lists not set up yet (all zero)
                    first = end
            else:
                end = 0
                first = u32(table, cls * 4)
            members = []
            c, back, seen = first, end, set()
            while c != end:
                if c in seen:
                    self.anomaly("free list %d loops back to 0x%08x" % (cls, c))
                    break
                if len(seen) >= limit:
                    self.anomaly("free list %d is longer than the number of free chunks"
                                 % cls)
                    break
                seen.add(c)
                members.append(c)
                ch = self.by_addr.get(c)
                links = try_read(c + next_off, 4), try_read(c + prev_off, 4)
                if ch is None and not complete:
                    pass        # maybe in the part of an arena that could not be walked
                elif ch is None or not ch.free:
                    self.anomaly("free list %d: 0x%08x is not a free chunk of any arena%s"
                                 % (cls, c, " (it is allocated)" if ch else ""), ch)
                else:
                    ch.listed += 1
                    if size_class(ch.size) != cls:
                        self.anomaly("chunk 0x%08x (%d bytes) is on free list %d, "
                                     "should be on %d"
                                     % (c, ch.size, cls, size_class(ch.size)), ch)
                if links[0] is None or links[1] is None:
                    self.anomaly("free list %d: links of 0x%08x not readable" % (cls, c))
                    break
                nxt, prv = u32(links[0], 0), u32(links[1], 0)
                if prv != back:
                    self.anomaly("free list %d: 0x%08x has prev 0x%08x, expected 0x%08x"
                                 % (cls, c, prv, back), ch)
                back, c = c, nxt
                if sentinel and c == 0:
                    self.anomaly("free list %d: 0x%08x has a NULL next link" % (cls, back), ch)
                    break
            if sentinel and members and c == end:
                last = u32(table, cls * esize + prev_off)
                if last != back:
                    self.anomaly("free list %d: the sentinel's prev is 0x%08x, expected the "
                                 "last chunk 0x%08x" % (cls, last, back))
            self.lists.append(members)
            if words and cls // 32 < len(words):
                bit = (words[cls // 32] >> (cls % 32)) & 1
                if bit != (1 if members else 0):
                    self.anomaly("class bitmap bit %d is %d but free list %d is %s"
                                 % (cls, bit, cls, "not empty" if members else "empty"))
        for ch in self.by_addr.values():
            if ch.free and ch.listed == 0 and complete:
                self.anomaly("free chunk 0x%08x (%d bytes) is on no free list"
                             % (ch.addr, ch.size), ch)
            elif ch.listed > 1:
                self.anomaly("free chunk 0x%08x is on the free lists %d times"
                             % (ch.addr, ch.listed), ch)
