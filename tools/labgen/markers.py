"""Markers: a file of the tree parsed into its lab regions (LAB N BEGIN /
STUB / END, LAB N FILE), and rendered for a tree where each lab is solved,
stubbed or absent."""

import os
import re

from .common import ABSENT, SOLVED, STUB, path_lab
from .files import prefixes_for
from .markdown import instructor_lines


class SourceFile:
    """One file of the tree, parsed."""

    def __init__(self, root, path):
        self.path = path
        full = os.path.join(root, path)
        self.symlink = os.path.islink(full)
        if self.symlink:
            self.data = os.readlink(full).encode("utf-8", "surrogateescape")
            self.mode = "120000"
        else:
            with open(full, "rb") as f:
                self.data = f.read()
            self.mode = "100755" if os.stat(full).st_mode & 0o100 else "100644"
        self.text = None
        if not self.symlink:
            try:
                self.text = self.data.decode("utf-8")
            except UnicodeDecodeError:
                pass
        self.prefixes = prefixes_for(path, self.text) if self.text is not None else ()
        self.path_lab = path_lab(path)
        self.file_lab = None
        self.items = None	# parsed tree, for files with markers
        self.instructor = None	# Markdown: line numbers of instructor-only text
        self.errors = []
        if self.prefixes:
            self.parse()
        elif self.text is not None and path.endswith(".md"):
            self.parse_md()

    @property
    def lab(self):
        labs = [n for n in (self.path_lab, self.file_lab) if n is not None]
        return max(labs) if labs else None

    # ---- parsing

    def parse(self):
        pfx = "|".join(re.escape(p) for p in self.prefixes)
        marker_re = re.compile(r"^\s*(?:%s)\s*LAB(?:\s|$)" % pfx)
        marker_full = re.compile(r"^\s*(?:%s)\s*LAB\s+(\d+)\s+(\S+)\s*$" % pfx)
        stub_re = re.compile(r"^(\s*)(?:%s) ?(.*)$" % pfx)
        lines = self.text.split("\n")
        root = []
        stack = []	# open regions: [region, list being filled, part]
        cur = root
        for no, raw in enumerate(lines, 1):
            if marker_re.match(raw):
                m = marker_full.match(raw)
                if not m:
                    self.err(no, "malformed marker %r (expected '<prefix> LAB N BEGIN|STUB|END|FILE')"
                             % raw.strip())
                    continue
                n, kw = int(m.group(1)), m.group(2)
                if kw == "FILE":
                    if no > 5:
                        self.err(no, "LAB %d FILE marker must be in the first 5 lines" % n)
                    elif stack:
                        self.err(no, "LAB %d FILE marker inside a region" % n)
                    elif self.file_lab is not None:
                        self.err(no, "second FILE marker (already LAB %d FILE)" % self.file_lab)
                    else:
                        self.file_lab = n
                        self.file_lab_line = no
                elif kw == "BEGIN":
                    r = Region(n, no)
                    cur.append(r)
                    stack.append([r, "solution"])
                    cur = r.solution
                elif kw == "STUB":
                    if not stack:
                        self.err(no, "LAB %d STUB outside a region" % n)
                        continue
                    r, part = stack[-1]
                    if n != r.lab:
                        self.err(no, "LAB %d STUB inside the LAB %d region opened at line %d"
                                 % (n, r.lab, r.line))
                    elif part == "stub":
                        self.err(no, "second LAB %d STUB in the region opened at line %d"
                                 % (n, r.line))
                    else:
                        r.stub = []
                        stack[-1][1] = "stub"
                        cur = r.stub
                elif kw == "END":
                    if not stack:
                        self.err(no, "LAB %d END without a BEGIN" % n)
                        continue
                    r, part = stack.pop()
                    if n != r.lab:
                        self.err(no, "LAB %d END closes the LAB %d region opened at line %d"
                                 % (n, r.lab, r.line))
                    cur = stack[-1][0].stub if stack and stack[-1][1] == "stub" else \
                        (stack[-1][0].solution if stack else root)
                else:
                    self.err(no, "unknown keyword %r after LAB %d (BEGIN, STUB, END or FILE)"
                             % (kw, n))
                continue
            m = stub_re.match(raw)
            if m and raw.lstrip().startswith(self.prefixes):
                if stack and stack[-1][1] == "stub":
                    text = m.group(1) + m.group(2)
                    cur.append(Line(text.rstrip() if not m.group(2) else text, no, stub=True))
                else:
                    self.err(no, "stub line (%s ...) outside a STUB part" % self.prefixes[0])
                continue
            if stack and stack[-1][1] == "stub" and raw.strip():
                self.err(no, "line in the LAB %d STUB part is compiled in the reference build: "
                         "write it as '%s %s'" % (stack[-1][0].lab, self.prefixes[0], raw.strip()))
            cur.append(Line(raw, no))
        for r, _ in stack:
            self.err(r.line, "LAB %d BEGIN has no END" % r.lab)
        self.items = root

    def parse_md(self):
        """The instructor-only lines of a Markdown file (markdown.py)."""
        self.instructor = instructor_lines(self.text, self.err)

    def stub_errors(self, handout_of):
        """A stub that names its exercise (`LAB N exercise K`) points to the
        lab's handout: handout_of(N), or at least `handouts/` when unknown."""
        errors = []	# (line, message)
        for r in regions(self.items or []):
            if r.stub is None:
                continue
            lines = [l for l in r.stub if isinstance(l, Line)]
            text = "\n".join(l.text for l in lines)
            m = re.search(r"\bLAB (\d+) exercise (\d+)\b", text)
            if m:
                n = int(m.group(1))
                want = handout_of(n) or "handouts/"
                if want not in text:
                    no = next((l.line for l in lines if m.group(0) in l.text), r.line)
                    errors.append((no, "%s:%d: the stub of LAB %d exercise %s does not point to "
                                   "the handout: mention %s in its comment"
                                   % (self.path, no, n, m.group(2), want)))
        return [e for _, e in sorted(errors, key=lambda e: e[0])]	# in file order

    def err(self, line, msg):
        self.errors.append("%s:%d: %s" % (self.path, line, msg))

    def marker_labs(self):
        """(lab, line) of every region and FILE marker."""
        out = []
        if self.file_lab is not None:
            out.append((self.file_lab, self.file_lab_line))
        return out + [(r.lab, r.line) for r in regions(self.items or [])]

    # ---- rendering

    def _rendered(self, mode_of):
        """[(source line number, text)] of the file in a tree where lab n has
        mode mode_of(n): its marked parts by mode, a Markdown file without
        its instructor-only text; None when the file is copied verbatim."""
        if self.items is None:
            if not self.instructor:
                return None
            return [(no, l) for no, l in enumerate(self.text.split("\n"), 1)
                    if no not in self.instructor]
        out = []
        emit(self.items, mode_of, out)
        return [(l.line, l.text) for l in out]

    def render(self, mode_of):
        """The file's bytes in a tree where lab n has mode mode_of(n)."""
        lines = self._rendered(mode_of)
        if lines is None:
            return self.data
        return "\n".join(text for _, text in lines).encode("utf-8")

    def line_map(self, mode_of):
        """For each line of the rendered file, its line number in the source
        (None: the file is copied verbatim)."""
        lines = self._rendered(mode_of)
        return None if lines is None else [no for no, _ in lines]

    def solution_lines(self):
        """{lab: [(line number, stripped text)]} of the solution parts of STUB regions."""
        sol = {}

        def collect(items, into):
            for it in items:
                if isinstance(it, Region):
                    collect(it.solution, into)
                    collect(it.stub or [], into)
                elif not it.stub:
                    into.append((it.line, it.text.strip()))

        for r in regions(self.items or []):
            if r.stub is not None:
                collect(r.solution, sol.setdefault(r.lab, []))
        return sol

    def outside_lines(self):
        """Stripped lines outside every solution part (stub lines included)."""
        if self.text is None:
            return set()
        if self.items is None:
            return set(l.strip() for l in self.text.split("\n"))
        out = set()

        def walk(items):
            for it in items:
                if isinstance(it, Region):
                    if it.stub is None:
                        walk(it.solution)
                    walk(it.stub or [])
                else:
                    out.add(it.text.strip())
        walk(self.items)
        return out


class Line:
    __slots__ = ("text", "line", "stub")

    def __init__(self, text, line, stub=False):
        self.text, self.line, self.stub = text, line, stub


class Region:
    def __init__(self, lab, line):
        self.lab, self.line = lab, line
        self.solution = []
        self.stub = None	# None: wiring (no STUB part)


def regions(items):
    """Every Region in items, depth first (a region, then the regions in its
    solution part, then those in its stub part), in file order."""
    for it in items:
        if isinstance(it, Region):
            yield it
            yield from regions(it.solution)
            yield from regions(it.stub or [])


def emit(items, mode_of, out):
    for it in items:
        if isinstance(it, Line):
            out.append(it)
            continue
        m = mode_of(it.lab)
        if it.stub is None:
            if m != ABSENT:
                emit(it.solution, mode_of, out)
        elif m == SOLVED:
            emit(it.solution, mode_of, out)
        elif m == STUB:
            emit(it.stub, mode_of, out)
