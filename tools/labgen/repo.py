"""Writing the student repository: git with its own GIT_DIR, trees and
commits by `git fast-import` with the fixed identity."""

import hashlib
import os
import re
import subprocess
import tempfile

from .common import IDENT_DATE, IDENT_EMAIL, IDENT_NAME, OWNER_KEY, LabgenError


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
