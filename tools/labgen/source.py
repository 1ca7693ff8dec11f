"""The reference tree: its files and labs, the marker and exercise checks,
rendering a lab's tree, the leak check, writing a tree to a folder."""

import json
import os
import re

from .common import ABSENT, CLASSROOM_WORKFLOW, DEFAULT_ROOT, HERE, mode_fn
from .exercises import exercise_errors
from .files import list_files
from .leaks import leaks, solutions
from .markdown import unlink_absent
from .markers import SourceFile


class Source:
    """The reference tree: its files, parsed, and its labs (labs/labN-*/lab.json)."""

    def __init__(self, root=DEFAULT_ROOT):
        self.root = os.path.abspath(root)
        self.files = [SourceFile(self.root, p) for p in list_files(self.root)]
        self.labs = {}	# n -> {"title", "handout", "dir", "run"}
        for f in self.files:
            m = re.match(r"labs/lab(\d+)-([^/]+)/lab\.json$", f.path)
            if not m:
                continue
            n = int(m.group(1))
            info = {"title": m.group(2), "dir": os.path.dirname(f.path), "handout": None,
                    "run": "make qemu"}
            try:
                j = json.loads(f.data.decode("utf-8"))
                info["title"] = j.get("title") or info["title"]
                info["handout"] = j.get("handout")
                if isinstance(j.get("run"), str):
                    info["run"] = j["run"]	# e.g. lab 8's make qemu CPUS=4
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
        return exercise_errors(self)

    # ---- rendering

    mode_fn = staticmethod(mode_fn)

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
        info = self.labs.get(lab, {"title": "lab %d" % lab, "handout": None,
                                   "run": "make qemu"})
        handout = info["handout"] or "handouts/"
        return ("<!-- labgen: generated for lab %d; the course's text follows -->\n"
                "> **Lab %d: %s.** This branch is the starting point for lab %d. Read the\n"
                "> handout, [%s](%s). Build and run the kernel with `%s`;\n"
                "> grade your work with `make grade` (it grades labs 1..%d).\n\n"
                % (lab, lab, info["title"], lab, handout, handout, info["run"], lab))

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
        return solutions(self)

    def leaks(self, kind, lab, tree):
        """'file:line: ...' for every solution line of a hidden lab in tree."""
        return leaks(self, kind, lab, tree)


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
