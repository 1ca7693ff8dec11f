#!/usr/bin/env python3
"""labgen: student branches from the marked reference solution.

The main branch holds the reference solution with line markers (see
tools/labgen/README.md). This script renders the tree a student gets for a
lab and writes the student repository:

    labgen.py --check                        marker syntax check of the tree
    labgen.py --out DIR [--keep-history]     create or update the student repository
    labgen.py --render N --out-tree DIR [--carry | --solved]
                                             write one rendered tree (debugging)

Branches written to DIR:
    labN        catch-up: labs < N solved, lab N stubbed, later labs absent
    carry/labN  carry-forward: every lab <= N stubbed, later labs absent;
                carry/labN's parent is carry/lab(N-1)
    main        = lab1 (HEAD)

Only rendered trees are ever written to DIR, and each is leak-checked first.
DIR must be new, empty, or a repository labgen created (config key
labgen.generated) with a clean work tree; anything else is refused. Only
the files git tracks are published. Commits have a fixed author, committer
and date, so the same sources give the same commit hashes. Python 3
standard library only.
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ROOT = os.path.dirname(os.path.dirname(HERE))

# Paths never copied into a student tree (prefixes, relative to the root).
EXCLUDED = ("tools/labgen/", ".ci/")
EXCLUDED_FILES = ("LAB",)	# written per tree
# GitHub Classroom's autograding workflow, in every tree (from classroom.yml here)
CLASSROOM_WORKFLOW = ".github/workflows/classroom.yml"

# Which marker prefixes a file may use, by name.
C_EXT = (".c", ".h", ".ld", ".lds")
ASM_EXT = (".S", ".s")
HASH_EXT = (".mk", ".sh", ".py", ".cfg")
HASH_NAMES = ("Makefile", "GNUmakefile", "makefile", ".gdbinit")
# (and scripts without an extension that start with "#!")

SIGNIFICANT = 12	# a solution line this long (stripped) is significant for leaks

# Instructor-only text in Markdown files (README.md): removed from every
# student tree. A line holding only INSTR_BEGIN opens a section that ends at
# a line holding only INSTR_END; a line with text that ends with INSTR_BEGIN
# (before a table row's last '|') is removed alone.
INSTR_BEGIN = "<!-- labgen: instructors only -->"
INSTR_END = "<!-- labgen: end -->"
LABGEN_COMMENT = re.compile(r"<!--\s*labgen:\s*(.*?)\s*-->")

# The key in the config of a repository labgen created (labgen never writes
# into a repository without it).
OWNER_KEY = "labgen.generated"

IDENT_NAME = "Strata labgen"
IDENT_EMAIL = "labgen@strata.invalid"
IDENT_DATE = "1704067200 +0000"	# 2024-01-01T00:00:00Z

# Modes of a lab in one rendering.
SOLVED, STUB, ABSENT = "solved", "stub", "absent"


class LabgenError(Exception):
    pass


# --------------------------------------------------------------------------
# files


def prefixes_for(path, text):
    """The marker prefixes used in this file, () when it is copied verbatim."""
    name = os.path.basename(path)
    _, ext = os.path.splitext(name)
    if ext in C_EXT:
        return ("//@",)
    if ext in ASM_EXT:
        return ("//@", "#@")
    if ext in HASH_EXT or name in HASH_NAMES or (not ext and text.startswith("#!")):
        return ("#@",)
    return ()


def git_lines(root, *args):
    out = subprocess.run(["git", "-C", root] + list(args), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, check=True).stdout
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]


def list_files(root):
    """The files of the tree: the files git tracks (`git ls-files`, with
    their work-tree contents), or every file when root is not a git work
    tree. Untracked files (an instructor's notes, a scratch copy) are never
    published. Excluded paths are left out."""
    try:
        files = set(git_lines(root, "ls-files", "-z"))
    except (subprocess.CalledProcessError, OSError):
        files = set()
        for d, dirs, names in os.walk(root):
            dirs[:] = [x for x in dirs if x not in (".git", "build")]
            for n in names:
                files.add(os.path.relpath(os.path.join(d, n), root).replace(os.sep, "/"))
    keep = []
    for f in files:
        if f.startswith(EXCLUDED) or f in EXCLUDED_FILES:
            continue
        p = os.path.join(root, f)
        if os.path.islink(p) or os.path.isfile(p):	# tracked but deleted: gone
            keep.append(f)
    return sorted(keep)


def untracked_files(root):
    """The files of root's work tree that git neither tracks nor ignores
    (not published: a note for the instructor), [] outside git."""
    try:
        files = git_lines(root, "ls-files", "-z", "--others", "--exclude-standard")
    except (subprocess.CalledProcessError, OSError):
        return []
    return sorted(f for f in files if not f.startswith(EXCLUDED))


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
        """The instructor-only lines of a Markdown file (see INSTR_BEGIN)."""
        drop = set()
        opened = None	# line of the open section's INSTR_BEGIN
        for no, raw in enumerate(self.text.split("\n"), 1):
            comments = list(LABGEN_COMMENT.finditer(raw))
            if not comments:
                if opened:
                    drop.add(no)
                continue
            whole = len(comments) == 1 and not raw.replace(comments[0].group(0), "").strip()
            kind = comments[0].group(1) if len(comments) == 1 else None
            if kind == "instructors only" and whole:
                if opened:
                    self.err(no, "%s inside the instructors-only section opened at line %d"
                             % (INSTR_BEGIN, opened))
                opened = opened or no
                drop.add(no)
            elif kind == "end" and whole:
                if not opened:
                    self.err(no, "%s without a %s" % (INSTR_END, INSTR_BEGIN))
                else:
                    drop.add(no)
                opened = None
            elif kind == "instructors only" and \
                    re.search(re.escape(comments[0].group(0)) + r"\s*\|?\s*$", raw):
                drop.add(no)	# one line (a table row): removed alone
            else:
                self.err(no, "unknown labgen comment %r: write %s alone on a line (a section up "
                         "to %s) or at the end of a line (that line)"
                         % (raw.strip(), INSTR_BEGIN, INSTR_END))
                if opened:
                    drop.add(no)
        if opened:
            self.err(opened, "%s has no %s" % (INSTR_BEGIN, INSTR_END))
        self.instructor = drop

    def stub_errors(self, handout_of):
        """A stub that names its exercise (`LAB N exercise K`) points to the
        lab's handout: handout_of(N), or at least `handouts/` when unknown."""
        errors = []	# (line, message)
        for r in _regions(self.items or []):
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
        return out + [(r.lab, r.line) for r in _regions(self.items or [])]

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

        for r in _regions(self.items or []):
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


def _regions(items):
    """Every Region in items, depth first (a region, then the regions in its
    solution part, then those in its stub part), in file order."""
    for it in items:
        if isinstance(it, Region):
            yield it
            yield from _regions(it.solution)
            yield from _regions(it.stub or [])


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


def path_lab(path):
    m = re.match(r"labs/lab(\d+)-[^/]+/", path) or re.match(r"handouts/lab(\d+)-[^/]+\.md$", path)
    return int(m.group(1)) if m else None


# --------------------------------------------------------------------------
# the source tree


def unlink_absent(text, tree):
    """The README's links to files the branch does not have (the handouts of
    later labs) become plain text saying when they come."""
    def one(m):
        label, target = m.group(1), m.group(2)
        path = target.split("#")[0].rstrip("/")
        if not path or "://" in target or path in tree or \
                any(p.startswith(path + "/") for p in tree):
            return m.group(0)
        lab = path_lab(path)
        return "%s (comes with lab %d)" % (label, lab) if lab else label
    return re.sub(r"\[([^\]]*)\]\(([^)\s]+)\)", one, text)


class Source:
    def __init__(self, root=DEFAULT_ROOT):
        self.root = os.path.abspath(root)
        self.files = [SourceFile(self.root, p) for p in list_files(self.root)]
        self.labs = {}	# n -> {"title", "handout", "dir"}
        for f in self.files:
            m = re.match(r"labs/lab(\d+)-([^/]+)/lab\.json$", f.path)
            if not m:
                continue
            n = int(m.group(1))
            info = {"title": m.group(2), "dir": os.path.dirname(f.path), "handout": None}
            try:
                j = json.loads(f.data.decode("utf-8"))
                info["title"] = j.get("title") or info["title"]
                info["handout"] = j.get("handout")
            except (ValueError, UnicodeDecodeError):
                pass
            if not info["handout"]:
                info["handout"] = "handouts/lab%d-%s.md" % (n, m.group(2))
            self.labs[n] = info
        self._sol = None

    def check(self):
        """Marker errors, as 'file:line: message'."""
        errors = []
        folders = set()
        for f in self.files:
            m = re.match(r"labs/lab(\d+)-[^/]+/", f.path)
            if m:
                folders.add(int(m.group(1)))
        for n in sorted(folders - set(self.labs)):
            errors.append("labs/lab%d-*: no lab.json" % n)
        for f in self.files:
            errors.extend(f.errors)
            errors.extend(f.stub_errors(lambda n: (self.labs.get(n) or {}).get("handout")))
            for n, line in f.marker_labs():
                if n not in folders:
                    errors.append("%s:%d: lab %d has no labs/lab%d-* folder" % (f.path, line, n, n))
            if f.prefixes or f.text is None or f.path.endswith(".md"):
                continue
            # Files labgen copies verbatim must not look marked (Markdown may
            # show markers).
            for no, l in enumerate(f.text.split("\n"), 1):
                if re.match(r"\s*(//@|#@)\s*LAB\s+\d+\s+(BEGIN|STUB|END|FILE)\s*$", l):
                    errors.append("%s:%d: marker in a file labgen copies verbatim" % (f.path, no))
        return errors + self.exercise_errors()

    def exercise_errors(self):
        """The stubs of lab N say `LAB N exercise K` (src/ only). In each file
        K only grows; K runs 1..M over the lab, each in one file; the lab's
        handout has the headings `### Exercise 1` .. `### Exercise M`, in
        that order, so a student reads them in the order the stubs come."""
        errors = []
        seen = {}	# lab -> {K: (path, line)}
        for f in self.files:
            if not f.path.startswith("src/") or f.text is None:
                continue
            last = {}
            for no, l in enumerate(f.text.split("\n"), 1):
                for m in re.finditer(r"\bLAB (\d+) exercise (\d+)\b", l):
                    n, k = int(m.group(1)), int(m.group(2))
                    if k < last.get(n, 0):
                        errors.append("%s:%d: LAB %d exercise %d comes after exercise %d in "
                                      "this file: number the exercises in stub order"
                                      % (f.path, no, n, k, last[n]))
                    last[n] = k
                    where = seen.setdefault(n, {}).setdefault(k, (f.path, no))
                    if where[0] != f.path:
                        errors.append("%s:%d: LAB %d exercise %d is also in %s:%d"
                                      % (f.path, no, n, k, where[0], where[1]))
        for n, ks in sorted(seen.items()):
            want = list(range(1, max(ks) + 1))
            if sorted(ks) != want:
                path, no = ks[max(ks)]
                errors.append("%s:%d: lab %d has exercises %s: expected 1..%d without gaps"
                              % (path, no, n, sorted(ks), max(ks)))
            handout = (self.labs.get(n) or {}).get("handout")
            text = next((f.text for f in self.files if f.path == handout), None)
            if text is None:
                continue
            heads = [int(k) for k in re.findall(r"(?m)^###\s+Exercise\s+(\d+)\b", text)]
            if heads != want:
                errors.append("%s: exercise headings %s, but the stubs of lab %d are "
                              "exercises %s" % (handout, heads, n, want))
        return errors

    # ---- rendering

    @staticmethod
    def mode_fn(kind, lab):
        if kind == "catchup":
            return lambda n: SOLVED if n < lab else (STUB if n == lab else ABSENT)
        if kind == "carry":
            return lambda n: STUB if n <= lab else ABSENT
        if kind == "solved":
            return lambda n: SOLVED if n <= lab else ABSENT
        raise ValueError(kind)

    def source_line(self, kind, lab, path, line):
        """The line of the reference tree that line `line` of path in the tree
        (kind, lab) comes from, or None."""
        for f in self.files:
            if f.path == path:
                m = f.line_map(self.mode_fn(kind, lab))
                if m is None:
                    return line
                return m[line - 1] if 0 < line <= len(m) else None
        return None

    def readme_block(self, lab):
        info = self.labs.get(lab, {"title": "lab %d" % lab, "handout": None})
        handout = info["handout"] or "handouts/"
        return ("<!-- labgen: generated for lab %d; the course's text follows -->\n"
                "> **Lab %d: %s.** This branch is the starting point for lab %d. Read the\n"
                "> handout, [%s](%s). Build and run the kernel with `make qemu`;\n"
                "> grade your work with `make grade` (it grades labs 1..%d).\n\n"
                % (lab, lab, info["title"], lab, handout, handout, lab))

    def render(self, kind, lab):
        """The tree for lab `lab`: {path: (mode, bytes)}."""
        mode_of = self.mode_fn(kind, lab)
        tree = {}
        for f in self.files:
            if f.lab is not None and mode_of(f.lab) == ABSENT:
                continue
            tree[f.path] = (f.mode, f.render(mode_of))
        tree["LAB"] = ("100644", b"%d\n" % lab)
        with open(os.path.join(HERE, "classroom.yml"), "rb") as f:
            tree[CLASSROOM_WORKFLOW] = ("100644", f.read())
        readme = tree.get("README.md", ("100644", b""))
        text = unlink_absent(readme[1].decode("utf-8"), tree)
        tree["README.md"] = (readme[0], (self.readme_block(lab) + text).encode("utf-8"))
        return tree

    # ---- leaks

    def solutions(self):
        """{lab: {line: first 'path:line'}} of significant solution lines, and
        the set of stripped lines of the tree outside solution parts."""
        if self._sol is None:
            sol, outside = {}, set()
            for f in self.files:
                # Only files that can carry markers excuse a line: a verbatim
                # file (docs, notes, data) that repeats a solution line leaks it.
                if f.prefixes:
                    outside |= f.outside_lines()
                for n, lines in f.solution_lines().items():
                    d = sol.setdefault(n, {})
                    for no, text in lines:
                        if len(text) >= SIGNIFICANT:
                            d.setdefault(text, "%s:%d" % (f.path, no))
            self._sol = (sol, outside)
        return self._sol

    def leaks(self, kind, lab, tree):
        """'file:line: ...' for every solution line of a hidden lab in tree."""
        mode_of = self.mode_fn(kind, lab)
        sol, outside = self.solutions()
        shown = set()
        for n, lines in sol.items():
            if mode_of(n) == SOLVED:
                shown |= set(lines)
        hidden = {}
        for n in sorted(sol):
            if mode_of(n) != SOLVED:
                for text, where in sol[n].items():
                    if text not in outside and text not in shown:
                        hidden.setdefault(text, (n, where))
        out = []
        for path in sorted(tree):
            mode, data = tree[path]
            if mode == "120000":
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            for no, l in enumerate(text.split("\n"), 1):
                h = hidden.get(l.strip())
                if h:
                    out.append("%s:%d: solution line of lab %d leaks into %s (from %s): %s"
                               % (path, no, h[0], tree_name(kind, lab), h[1], l.strip()))
        return out


def tree_name(kind, lab):
    return {"catchup": "lab%d", "carry": "carry/lab%d", "solved": "solved-lab%d"}[kind] % lab


def write_tree(tree, out):
    for path in sorted(tree):
        mode, data = tree[path]
        p = os.path.join(out, path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if mode == "120000":
            os.symlink(data.decode("utf-8", "surrogateescape"), p)
            continue
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, 0o755 if mode == "100755" else 0o644)


# --------------------------------------------------------------------------
# the student repository


class Repo:
    """The student repository: git with an explicit GIT_DIR, so that a folder
    inside another work tree never reaches that tree's repository."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self.created = False	# True: made by this run (new or empty folder)
        if os.path.exists(os.path.join(self.path, ".git")):
            self.git_dir, self.work_tree = os.path.join(self.path, ".git"), self.path
        elif all(os.path.exists(os.path.join(self.path, x)) for x in ("HEAD", "objects", "refs")):
            self.git_dir, self.work_tree = self.path, None
        elif not os.path.exists(self.path) or not os.listdir(self.path):
            os.makedirs(self.path, exist_ok=True)
            subprocess.run(["git", "init", "-q", self.path], check=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.git_dir, self.work_tree = os.path.join(self.path, ".git"), self.path
            self.created = True
            self.git("config", OWNER_KEY, "true")	# ours: later runs may update it
        else:
            raise LabgenError("%s exists and is not a git repository" % self.path)

    def owned(self):
        """Whether labgen created this repository (OWNER_KEY in its config)."""
        r = self.git("config", "--local", "--bool", "--get", OWNER_KEY, check=False)
        return r.returncode == 0 and r.stdout.decode().strip() == "true"

    def changes(self):
        """The work tree's uncommitted changes (untracked files too), as
        `git status --porcelain` lines; [] for a bare repository."""
        if not self.work_tree:
            return []
        r = self.git("status", "--porcelain", "--untracked-files=normal", check=False)
        if r.returncode != 0:
            return ["(git status failed: %s)" % r.stderr.decode(errors="replace").strip()]
        return r.stdout.decode(errors="replace").splitlines()

    def git(self, *args, input=None, check=True):
        cmd = ["git", "--git-dir=" + self.git_dir]
        if self.work_tree:
            cmd.append("--work-tree=" + self.work_tree)
        env = dict(os.environ)
        for k in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
            env.pop(k, None)
        r = subprocess.run(cmd + list(args), input=input, env=env, cwd=self.work_tree or self.git_dir,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if check and r.returncode != 0:
            raise LabgenError("git %s: %s" % (" ".join(args),
                                              r.stderr.decode(errors="replace").strip()))
        return r

    def rev(self, ref, what="commit"):
        r = self.git("rev-parse", "-q", "--verify", "%s^{%s}" % (ref, what), check=False)
        return r.stdout.decode().strip() if r.returncode == 0 else None


def git_tree_id(tree):
    """The git tree id of {path: (mode, bytes)}, without writing anything."""
    def obj(kind, body):
        return hashlib.sha1(b"%s %d\0" % (kind, len(body)) + body).digest()

    def build(entries):	# entries: {name: (mode, bytes) or dict}
        items = []
        for name, v in entries.items():
            if isinstance(v, dict):
                items.append((name + "/", b"40000", name, obj(b"tree", build(v))))
            else:
                items.append((name, v[0].encode(), name, obj(b"blob", v[1])))
        items.sort(key=lambda x: x[0].encode("utf-8", "surrogateescape"))
        return b"".join(b"%s %s\0%s" % (mode, name.encode("utf-8", "surrogateescape"), sha)
                        for _, mode, name, sha in items)

    root = {}
    for path, v in tree.items():
        d = root
        parts = path.split("/")
        for p in parts[:-1]:
            d = d.setdefault(p, {})
        d[parts[-1]] = v
    return obj(b"tree", build(root)).hex()


class Importer:
    """A git fast-import stream: blobs shared by content, fixed identity."""

    def __init__(self):
        self.chunks = []
        self.blobs = {}
        self.next_mark = 1

    def mark(self):
        self.next_mark += 1
        return self.next_mark - 1

    def blob(self, data):
        if data not in self.blobs:
            m = self.mark()
            self.blobs[data] = m
            self.chunks.append(b"blob\nmark :%d\ndata %d\n%s\n" % (m, len(data), data))
        return self.blobs[data]

    def commit(self, ref, tree, message, parents=()):
        """parents: commit ids or ':mark's; none makes a root commit."""
        marks = [(path, mode, self.blob(data)) for path, (mode, data) in sorted(tree.items())]
        m = self.mark()
        ident = ("%s <%s> %s" % (IDENT_NAME, IDENT_EMAIL, IDENT_DATE)).encode()
        msg = message.encode("utf-8")
        c = [b"reset %s\n" % ref.encode(),
             b"commit %s\nmark :%d\nauthor %s\ncommitter %s\ndata %d\n%s\n"
             % (ref.encode(), m, ident, ident, len(msg), msg)]
        for i, p in enumerate(parents):
            c.append(b"%s %s\n" % (b"from" if i == 0 else b"merge", p.encode()))
        c.append(b"deleteall\n")
        for path, mode, bm in marks:
            c.append(b"M %s :%d %s\n" % (mode.encode(), bm, quote_path(path)))
        c.append(b"\n")
        self.chunks.extend(c)
        return ":%d" % m

    def run(self, repo):
        """Imports the stream into repo; {':mark': commit id}."""
        stream = b"".join(self.chunks) + b"done\n"
        fd, marks_file = tempfile.mkstemp(prefix="labgen-marks-")
        os.close(fd)
        try:
            repo.git("fast-import", "--quiet", "--force", "--done",
                     "--export-marks=" + marks_file, input=stream)
            marks = {}
            with open(marks_file) as f:
                for l in f:
                    k, v = l.split()
                    marks[k] = v
            return marks
        finally:
            os.unlink(marks_file)


def quote_path(path):
    if re.search(r'[\x00-\x1f"\\]', path) or path.startswith('"'):
        return b'"' + path.encode("utf-8", "surrogateescape").replace(b"\\", b"\\\\") \
            .replace(b'"', b'\\"').replace(b"\n", b"\\n") + b'"'
    return path.encode("utf-8", "surrogateescape")


FOOTER = "\nGenerated by tools/labgen from the reference tree.\n"


def message(kind, lab, title, last):
    later = "" if lab >= last else ("When lab %d comes out, merge carry/lab%d into your work: it brings the next\n"
             "lab's code and stubs and keeps your solutions.\n" % (lab + 1, lab + 1))
    if kind == "carry" and lab > 1:
        return ("Lab %d (%s): carry forward\n\nMerge this into your finished lab %d: it adds "
                "lab %d's code, with the parts\nyou write as stubs.\n"
                % (lab, title, lab - 1, lab)) + FOOTER
    done = "Labs 1..%d solved, lab %d" % (lab - 1, lab) if lab > 1 else "Lab %d" % lab
    return ("Lab %d (%s): starting point\n\n%s to do, later labs absent.\n%s"
            % (lab, title, done, later)) + FOOTER


def render_all(src, log=print):
    """{(kind, lab): tree} for every lab, leak-checked. Raises on a leak."""
    trees, leaks = {}, []
    for n in sorted(src.labs):
        for kind in ("catchup", "carry"):
            t = src.render(kind, n)
            leaks += src.leaks(kind, n, t)
            trees[(kind, n)] = t
    if leaks:
        for l in leaks:
            log(l)
        raise LabgenError("%d solution line(s) would leak; nothing written" % len(leaks))
    return trees


def generate(src, out, keep_history=False, log=print):
    """Writes the branches into the repository out; returns 0."""
    errors = src.check()
    if errors:
        for e in errors:
            log(e)
        raise LabgenError("%d marker error(s); nothing written" % len(errors))
    if not src.labs:
        raise LabgenError("no labs (labs/labN-*/lab.json) in %s" % src.root)
    trees = render_all(src, log)
    first = min(src.labs)
    if git_tree_id(trees[("catchup", first)]) != git_tree_id(trees[("carry", first)]):
        raise LabgenError("lab%d and carry/lab%d differ: lab %d is the first" % (first, first, first))

    out = os.path.abspath(out)
    if out == src.root:
        raise LabgenError("--out must not be the reference repository")
    repo = Repo(out)
    src_git = subprocess.run(["git", "-C", src.root, "rev-parse", "--absolute-git-dir"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if src_git.returncode == 0 and \
            os.path.realpath(src_git.stdout.decode().strip()) == os.path.realpath(repo.git_dir):
        raise LabgenError("--out must not be the reference repository")
    if not repo.created and not repo.owned():
        raise LabgenError(
            "%s is a git repository labgen did not create; nothing written (give a new or "
            "empty folder; if it is a student repository made by an older labgen, mark it "
            "with: git -C %s config %s true)" % (out, out, OWNER_KEY))
    changes = repo.changes()
    if changes:
        raise LabgenError("%s has uncommitted changes; nothing written (commit or remove "
                          "them first):\n%s" % (out, "\n".join(
                              "  " + c for c in changes[:10]) + (
                              "\n  ... %d more" % (len(changes) - 10) if len(changes) > 10 else "")))

    # Every branch's commit, in dependency order: carry/labN on carry/lab(N-1),
    # labN on carry/labN (so that a student who starts from labN can merge
    # carry/lab(N+1) later), lab1 the same commit as carry/lab1.
    imp = Importer()
    plan = []	# (branch, old id, (mark of a new commit or kept id, new?))
    made = {}	# branch -> (spec or old id, new commit?)
    for n in sorted(src.labs):
        title = src.labs[n]["title"]
        for kind in ("carry", "catchup"):
            name = tree_name(kind, n)
            ref = "refs/heads/" + name
            old = repo.rev(ref)
            if kind == "catchup" and n == first:
                plan.append((name, old, made["carry/lab%d" % n]))
                continue
            dep = made.get("carry/lab%d" % (n - 1 if kind == "carry" else n))
            tree = trees[(kind, n)]
            msg = message(kind, n, title, max(src.labs))
            if keep_history and old:
                if repo.rev(old, "tree") == git_tree_id(tree) and not (dep and dep[1]):
                    spec = (old, False)
                else:	# on top of what was published
                    spec = (imp.commit(ref, tree, msg, [old] + ([dep[0]] if dep and dep[1] else [])),
                            True)
            else:
                spec = (imp.commit(ref, tree, msg, [dep[0]] if dep else []), True)
            made[name] = spec
            plan.append((name, old, spec))
    marks = imp.run(repo) if imp.chunks else {}

    ids = {}	# branch -> commit id
    for name, old, (spec, is_new) in plan:
        new_id = ids[name] = marks[spec] if is_new else spec
        if new_id != old:
            repo.git("update-ref", "refs/heads/" + name, new_id)
        status = "created" if not old else ("unchanged" if old == new_id else
                                            "updated (was %s)" % old[:12])
        log("%-14s %s %s" % (name, new_id[:12], status))
    repo.git("update-ref", "refs/heads/main", ids["lab%d" % first])
    repo.git("symbolic-ref", "HEAD", "refs/heads/main")
    if repo.work_tree:	# clean (checked above): show main
        repo.git("reset", "-q", "--hard", "refs/heads/main")
    log("%s: %d lab(s), branches lab1..lab%d and carry/lab1..carry/lab%d; main = lab%d"
        % (out, len(src.labs), max(src.labs), max(src.labs), min(src.labs)))
    return 0


# --------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description="Student branches from the marked reference tree "
                                 "(see tools/labgen/README.md).")
    ap.add_argument("--root", default=DEFAULT_ROOT, help="the reference tree (default: this repository)")
    ap.add_argument("--check", action="store_true", help="check the markers, then exit")
    ap.add_argument("--out", metavar="DIR", help="create or update the student repository DIR")
    ap.add_argument("--keep-history", action="store_true",
                    help="with --out: commit changed trees on top of the existing branches "
                    "(for branches already published) instead of replacing them")
    ap.add_argument("--render", type=int, metavar="N", help="write the tree for lab N to --out-tree")
    ap.add_argument("--out-tree", metavar="DIR", help="with --render: an empty or new folder")
    kind = ap.add_mutually_exclusive_group()
    kind.add_argument("--carry", action="store_true", help="with --render: the carry-forward tree")
    kind.add_argument("--solved", action="store_true",
                      help="with --render: labs 1..N solved (a finished lab N)")
    args = ap.parse_args(argv)
    if sum(bool(x) for x in (args.check, args.out, args.render is not None)) != 1:
        ap.error("give exactly one of --check, --out DIR, --render N")

    def log(msg):
        print(msg, flush=True)

    try:
        src = Source(args.root)
        if args.check:
            errors = src.check()
            for e in errors:
                print(e)
            untracked = untracked_files(src.root)
            if untracked:
                print("note: %d untracked file(s) are not published (git add them to publish): %s"
                      % (len(untracked), " ".join(untracked[:10]) +
                         (" ..." if len(untracked) > 10 else "")))
            nregions = sum(len(f.marker_labs()) for f in src.files)
            print("labgen: %d file(s), %d marker(s), labs %s: %s"
                  % (len(src.files), nregions, ",".join(map(str, sorted(src.labs))) or "none",
                     "%d error(s)" % len(errors) if errors else "OK"))
            return 1 if errors else 0
        if args.out:
            return generate(src, args.out, keep_history=args.keep_history, log=log)
        if not args.out_tree:
            ap.error("--render needs --out-tree DIR")
        if args.render not in src.labs:
            raise LabgenError("no lab %d (labs: %s)" % (args.render, sorted(src.labs)))
        errors = src.check()
        for e in errors:
            print(e)
        k = "carry" if args.carry else ("solved" if args.solved else "catchup")
        tree = src.render(k, args.render)
        if k != "solved":
            leaks = src.leaks(k, args.render, tree)
            for l in leaks:
                print(l)
            if leaks:
                raise LabgenError("%d solution line(s) would leak; nothing written" % len(leaks))
        if os.path.exists(args.out_tree) and os.listdir(args.out_tree):
            raise LabgenError("%s is not empty" % args.out_tree)
        write_tree(tree, args.out_tree)
        print("%s: %d files -> %s" % (tree_name(k, args.render), len(tree), args.out_tree))
        return 1 if errors else 0
    except LabgenError as e:
        print("labgen: error: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
