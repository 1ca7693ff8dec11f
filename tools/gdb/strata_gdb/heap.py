#@ LAB 6 FILE
# GDB helper for Strata's kernel heap (lab 6, src/mm/malloc*.c).
#
#   strata-heap [--summary] [--all] [--lists] [ADDR]
#
# Prints each chunk of every arena (address, size, used or free), the
# anomalies the walk meets and a summary; heap_walk.py reads the heap. It
# only reads the target. A module of the strata_gdb package
# (tools/gdb/strata.py loads it when a branch has it: lab 6 on).

import gdb

from .facts import K
from .heap_walk import DEFAULT_LINES, Walk, class_label, size_class, size_text, stopped_in_malloc
from .util import StrataError, eval_addr, out, plural, reported, split_args


# ---- the command ---------------------------------------------------------------

class StrataHeapCommand(gdb.Command):
    """Walk the kernel malloc heap: arenas, chunks, anomalies, summary.

Usage: strata-heap [--summary] [--all] [--lists] [ADDR]

Reads the heap of src/mm/malloc.c (lab 6) from the target's memory: the
arena list (`arenas`), every chunk of every arena by its boundary tags, and
the segregated free lists (`freelist`, `nonempty`). For each arena, in
address order, one line per chunk:

  CHUNK  +OFFSET  SIZE  used  ptr=P (N usable bytes)
  CHUNK  +OFFSET  SIZE  free  class C

CHUNK is the chunk's header, OFFSET its place in the arena, SIZE the whole
chunk with header and footer; P is the pointer malloc returned for it.

Anomalies are flagged under the chunk (`!!`) and listed again at the end:
two adjacent free chunks (a missed coalesce), a footer that differs from its
header, a bad canary (header overwritten), a bad arena magic or fence, a
chunk size that leaves the arena, and free lists that disagree with the
chunks (a free chunk on no list or on the wrong one, an allocated chunk on a
list, a broken back link, a wrong class bitmap bit).

The summary gives the arenas, pages, used and free bytes, and the free
chunks per size class.

--summary   only the summary and the anomalies, no chunk lines.
--all       every chunk line (by default at most 200 are printed).
--lists     also print each non-empty free list, in list order.
ADDR        an expression: show only the arena that contains it, and mark
            the chunk that contains it with `<==`.

Stopped in the middle of malloc, free or realloc, the heap may be between
two consistent states: the command says so."""

    def __init__(self):
        super().__init__("strata-heap", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    @reported("strata-heap", internal_errors=True)	# a bug here: still no traceback
    def invoke(self, arg, from_tty):
        self.run(arg)

    @staticmethod
    def parse(arg):
        opts, pos = set(), []
        for a in split_args(arg):
            if a in ("--summary", "-s", "--all", "-a", "--lists", "-l"):
                opts.add({"-s": "--summary", "-a": "--all", "-l": "--lists"}.get(a, a))
            elif a.startswith("--"):
                raise StrataError("unknown option %s (usage: strata-heap [--summary] "
                                  "[--all] [--lists] [ADDR])" % a)
            else:
                pos.append(a)
        target = eval_addr(" ".join(pos)) if pos else None
        return opts, target

    def run(self, arg):
        opts, target = self.parse(arg)
        w = Walk()
        arenas = w.arenas
        if target is not None:
            arenas = [a for a in w.arenas if a.addr <= target < a.end]
        npages = sum(a.pages for a in w.arenas)
        nlarge = sum(1 for a in w.arenas if a.large)
        header = "strata-heap: %s (%s), %s (%d KiB) from kvmalloc" % (
            plural(len(w.arenas) - nlarge, "arena"), plural(nlarge, "large block"),
            plural(npages, "page"), npages * 4)
        out(header)
        where = stopped_in_malloc()
        if where:
            out("  note: stopped in %s (src/mm/malloc.c): the heap may be between two "
                "consistent states" % where)
        if not w.arenas and not w.anomalies:
            out("  the heap is empty: no arena yet (nothing malloc'd), or all given "
                "back to kvfree")
        if target is not None and not arenas:
            out("  0x%08x is in no arena or large block of the heap" % target)

        if "--summary" not in opts:
            self.print_chunks(w, arenas, target, "--all" in opts)
        if "--lists" in opts:
            self.print_lists(w)
        self.print_summary(w, npages)

    def print_chunks(self, w, arenas, target, everything):
        budget = None if everything else DEFAULT_LINES
        hidden = 0
        for a in arenas:
            tags = []
            if w.cached == a.addr:
                tags.append("kept empty")
            tags += ["!! " + n for n in a.notes]
            out("%s 0x%08x-0x%08x  %s%s" % (
                a.kind(), a.addr, (a.end - 1) & 0xFFFFFFFF, plural(a.pages, "page"),
                "".join("  [%s]" % t for t in tags)))
            for ch in a.chunks:
                mark = target is not None and ch.addr <= target < ch.addr + max(ch.size, 1)
                if budget is not None and budget <= 0 and not mark and not ch.notes:
                    hidden += 1
                    continue
                if budget is not None:
                    budget -= 1
                if ch.broken:
                    what = "????  (broken header: size|flags 0x%x)" % (ch.size | ch.flags)
                elif ch.free:
                    what = "free  class %d" % size_class(ch.size)
                else:
                    what = "used  ptr=0x%08x (%d usable bytes)" % (
                        ch.addr + K.MALLOC_TAG, max(ch.size - 2 * K.MALLOC_TAG, 0))
                out("  0x%08x  +0x%05x %6d  %s%s" % (
                    ch.addr, ch.addr - a.addr, ch.size, what, "  <==" if mark else ""))
                for n in ch.notes:
                    out("      !! %s" % n)
        if hidden:
            out("  ... %s not shown (strata-heap --all shows every chunk)"
                % plural(hidden, "more chunk"))

    def print_lists(self, w):
        if w.lists is None:
            out("free lists: no `freelist` symbol in malloc.c")
            return
        shown = 0
        out("free lists (class: chunks, in list order):")
        for cls, members in enumerate(w.lists):
            if members:
                shown += 1
                out("  %2d [%s]: %s" % (cls, class_label(cls),
                                       " ".join("0x%08x" % c for c in members)))
        if not shown:
            out("  (all empty)")

    def print_summary(self, w, npages):
        chunks = [ch for a in w.arenas for ch in a.chunks if not ch.broken]
        used = [ch for ch in chunks if not ch.free]
        free = [ch for ch in chunks if ch.free]
        nlarge = sum(1 for a in w.arenas if a.large)
        out("summary:")
        out("  arenas: %d, large blocks: %d, %s (%d KiB)" % (
            len(w.arenas) - nlarge, nlarge, plural(npages, "page"), npages * 4))
        if w.heap_pages is not None and w.heap_pages != npages and \
                all(a.complete for a in w.arenas):
            w.anomaly("heap_pages is %d but the arenas hold %d pages" % (w.heap_pages, npages))
        out("  used:   %s in %s (headers and footers included)"
            % (size_text(sum(c.size for c in used)), plural(len(used), "chunk")))
        out("  free:   %s in %s" % (size_text(sum(c.size for c in free)),
                                    plural(len(free), "chunk")))
        if free:
            per = {}
            for ch in free:
                n, b = per.get(size_class(ch.size), (0, 0))
                per[size_class(ch.size)] = (n + 1, b + ch.size)
            out("  free chunks per size class:")
            for cls in sorted(per):
                n, b = per[cls]
                out("    class %2d  %-16s %s, %s" % (
                    cls, "[" + class_label(cls) + "]", plural(n, "chunk"),
                    plural(b, "byte")))
        if w.cached:
            out("  kept empty arena (cached_empty): 0x%08x" % w.cached)
        if w.anomalies:
            out("strata-heap: %s:" % plural(len(w.anomalies), "anomaly").replace(
                "anomalys", "anomalies"))
            for n in w.anomalies:
                out("  !! %s" % n)
        else:
            out("strata-heap: no anomalies")


def load(plain_bt=None):
    StrataHeapCommand()
