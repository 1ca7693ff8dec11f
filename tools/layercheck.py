#!/usr/bin/env python3
"""layercheck: the kernel's include order, checked (src/LAYERS says it).

Reads src/LAYERS, then every .c, .h and .S file under src/, labs/, tests/
and bench/, and their `#include "..."` lines. Fails (exit 1, one line a
problem, `file:line: message`) on:

  - an include of a header in a higher layer than the including file's
    (unless LAYERS allows that header, see below);
  - a cycle of modules (trap.c includes panic.h and panic.c includes
    trap.h: kernel/trap -> kernel/panic -> kernel/trap), in a layer or
    across;
  - a file in no layer, an include that names no file, and a malformed
    LAYERS.

`allow HEADER: NAME ...` in LAYERS lets a file of any layer include HEADER
for the listed names only (registration macros): using another name HEADER
declares is an error too.

Usage: python3 tools/layercheck.py [--root DIR] [-v]
"""
import argparse
import fnmatch
import os
import re
import sys

SOURCE_DIRS = ("src", "labs", "tests", "bench")
SOURCE_EXTS = (".c", ".h", ".S")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
# Names a header declares: macros, functions, structs, typedefs, enums.
DECLARED = (re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)", re.M),
            re.compile(r"^[A-Za-z_][\w\s\*]*?\b([A-Za-z_]\w*)\s*\(", re.M),
            re.compile(r"\b(?:struct|union|enum)\s+([A-Za-z_]\w*)"),
            re.compile(r"\btypedef\b[^;]*?\b([A-Za-z_]\w*)\s*;"))
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


class LayerError(Exception):
    """A problem with LAYERS itself."""


class Layers:
    """src/LAYERS: ordered layers of module globs, and the allowed headers."""

    def __init__(self, text, where="src/LAYERS"):
        self.names = []		# layer names, bottom first
        self.globs = []		# (glob, layer index)
        self.allow = {}		# header path -> set of names
        current = None
        for no, raw in enumerate(text.split("\n"), 1):
            line = raw.split("#", 1)[0].rstrip()
            if not line:
                continue
            if line.startswith("allow "):
                head, _, names = line[len("allow "):].partition(":")
                if not head.strip() or not names.split():
                    raise LayerError("%s:%d: expected `allow HEADER: NAME ...`" % (where, no))
                self.allow[head.strip()] = set(names.split())
                current = None
                continue
            if line[0].isspace():
                if current is None:
                    raise LayerError("%s:%d: a continuation line with no layer above it"
                                     % (where, no))
                mods = line.split()
            else:
                name, colon, rest = line.partition(":")
                if not colon or not re.fullmatch(r"[\w-]+", name.strip()):
                    raise LayerError("%s:%d: expected `name: module ...`" % (where, no))
                if name.strip() in self.names:
                    raise LayerError("%s:%d: layer %s twice" % (where, no, name.strip()))
                self.names.append(name.strip())
                current = len(self.names) - 1
                mods = rest.split()
            self.globs.extend((m, current) for m in mods)
        if not self.names:
            raise LayerError("%s: no layers" % where)

    def place(self, stem):
        """(layer index, module) of a file's stem: the first entry that
        matches it is its module, so the files one glob matches (mm/malloc*:
        malloc.c, malloc.h, malloc_chunk.h, ...) are one module. (None, stem)
        if no entry matches."""
        for glob, layer in self.globs:
            if fnmatch.fnmatchcase(stem, glob):
                return layer, glob
        return None, stem


def module_of(path):
    """src/kernel/trap.c -> kernel/trap; labs/lab1-boot/ktests.c -> labs/lab1-boot/ktests."""
    stem = os.path.splitext(path)[0]
    return stem[len("src/"):] if stem.startswith("src/") else stem


def source_files(root):
    found = []
    for top in SOURCE_DIRS:
        for d, dirs, names in os.walk(os.path.join(root, top)):
            dirs.sort()
            for n in sorted(names):
                if n.endswith(SOURCE_EXTS):
                    found.append(os.path.relpath(os.path.join(d, n), root).replace(os.sep, "/"))
    return found


def includes(root, path):
    """(line number, included path relative to root or None, as written)."""
    out = []
    with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
        for no, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            name = m.group(1)
            target = None
            for base in (os.path.dirname(path), "src"):	# "" first, then -Isrc
                cand = os.path.normpath(os.path.join(base, name)).replace(os.sep, "/")
                if os.path.isfile(os.path.join(root, cand)):
                    target = cand
                    break
            out.append((no, target, name))
    return out


def declared_names(text):
    text = COMMENT.sub(" ", text)
    names = set()
    for pattern in DECLARED:
        names.update(pattern.findall(text))
    return names - {"if", "while", "for", "return", "sizeof", "defined"}


def used_names(text):
    """Identifiers in code: not in comments, strings, characters or #include lines."""
    text = COMMENT.sub(" ", text)
    text = re.sub(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', " ", text)
    text = re.sub(r"^\s*#\s*include[^\n]*", " ", text, flags=re.M)
    return set(re.findall(r"\b[A-Za-z_]\w*\b", text))


def find_cycle(graph):
    """One cycle of the module graph as a list [a, b, ..., a], or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = {m: WHITE for m in graph}
    stack = []

    def visit(m):
        color[m] = GREY
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if color.get(n, WHITE) == GREY:
                return stack[stack.index(n):] + [n]
            if color.get(n, WHITE) == WHITE:
                found = visit(n)
                if found:
                    return found
        stack.pop()
        color[m] = BLACK
        return None

    for m in sorted(graph):
        if color[m] == WHITE:
            found = visit(m)
            if found:
                return found
    return None


def cycles(graph):
    """Every cycle found by removing one edge of each found cycle in turn
    (enough to report each independent cycle once)."""
    graph = {m: set(ns) for m, ns in graph.items()}
    found = []
    while True:
        c = find_cycle(graph)
        if not c:
            return found
        found.append(c)
        graph[c[-2]].discard(c[-1])


def check(root):
    """(problems, summary): problems as `file:line: message` strings."""
    layers_path = os.path.join(root, "src", "LAYERS")
    try:
        with open(layers_path, encoding="utf-8") as f:
            layers = Layers(f.read())
    except OSError as e:
        return ["src/LAYERS: cannot read: %s" % e.strerror], ""
    except LayerError as e:
        return [str(e)], ""

    problems = []
    files = source_files(root)
    graph = {}		# module -> modules it includes (allowed headers left out)
    edges = {}		# (module, module) -> first "file:line"
    for path in files:
        here, mod = layers.place(module_of(path))
        if here is None:
            problems.append("%s:1: %s is in no layer of src/LAYERS" % (path, mod))
            continue
        graph.setdefault(mod, set())
        for no, target, name in includes(root, path):
            if target is None:
                problems.append('%s:%d: includes "%s", which is no file' % (path, no, name))
                continue
            there, tmod = layers.place(module_of(target))
            if tmod == mod:
                continue
            allowed = layers.allow.get(target[len("src/"):] if target.startswith("src/") else target)
            if allowed is not None:
                with open(os.path.join(root, target), encoding="utf-8", errors="replace") as f:
                    header = declared_names(f.read())
                with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
                    used = used_names(f.read())
                bad = sorted((header - allowed) & used)
                if bad and there is not None and there > here:
                    problems.append("%s:%d: includes %s for %s, but only %s may be used from a "
                                    "lower layer (src/LAYERS: allow)"
                                    % (path, no, name, ", ".join(bad), ", ".join(sorted(allowed))))
                continue
            if there is None:
                continue	# reported with its own file
            if there > here:
                problems.append("%s:%d: includes %s: layer %s (%s) is above layer %s (%s)"
                                % (path, no, name, layers.names[there], tmod,
                                   layers.names[here], mod))
            graph[mod].add(tmod)
            edges.setdefault((mod, tmod), "%s:%d" % (path, no))
    for c in cycles(graph):
        steps = ["%s includes %s" % (edges[(a, b)], b) for a, b in zip(c, c[1:])]
        problems.append("%s: include cycle %s (%s)" % (edges[(c[0], c[1])].split(":")[0],
                                                       " -> ".join(c), "; ".join(steps)))
    summary = "layercheck: %d file(s), %d module(s), %d layer(s)" % (
        len(files), len(graph), len(layers.names))
    return problems, summary


def main(args=None):
    ap = argparse.ArgumentParser(description="Check the include order that src/LAYERS gives.")
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."),
                    help="the tree to check (default: this one)")
    ap.add_argument("-v", "--verbose", action="store_true", help="also print the summary on success")
    opts = ap.parse_args(args)
    problems, summary = check(os.path.abspath(opts.root))
    for p in problems:
        print(p)
    if problems:
        print("layercheck: %d problem(s)" % len(problems))
        return 1
    print(summary + ": OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
