"""Pristine tests: copy a submission, then lay the instructor's files over
the copy (grader/pristine.manifest of the pristine tree says which), so a
student who edited a test, a trace, the test framework or the grader gains
nothing.  The copy is what is built and graded; the submission itself is
never written to."""

import os
import shutil
import stat
import subprocess

MANIFEST = os.path.join("grader", "pristine.manifest")
SKIP = (".git", "build", ".pristine")   # never copied: history, prebuilt images,
                                        # the Classroom workflow's pristine checkout
MAX_BYTES = 200 << 20            # a submission larger than this is refused
MAX_FILES = 20000


class PristineError(Exception):
    pass


def read_manifest(pristine):
    """The owned paths of the pristine tree: [(path, is_dir)]."""
    path = os.path.join(pristine, MANIFEST)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise PristineError("%s is not a pristine tree: cannot read %s (%s)"
                            % (pristine, MANIFEST, e.strerror))
    owned = []
    for no, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        rel = line.rstrip("/")
        parts = rel.split("/")
        if os.path.isabs(line) or not rel or any(p in ("", ".", "..") for p in parts):
            raise PristineError("%s:%d: %r must be a relative path inside the tree"
                                % (path, no, line))
        owned.append((rel, line.endswith("/")))
    if not owned:
        raise PristineError("%s owns nothing" % path)
    return owned


def find_root(sub):
    """The repository root inside a submission: sub itself, or its only
    folder (a zip of the repository folder) when sub has no Makefile."""
    if os.path.isfile(os.path.join(sub, "Makefile")) or os.path.isdir(os.path.join(sub, "src")):
        return sub
    try:
        dirs = [d for d in os.listdir(sub) if not d.startswith(".") and d != "__MACOSX"
                and os.path.isdir(os.path.join(sub, d))]
        files = [f for f in os.listdir(sub) if os.path.isfile(os.path.join(sub, f))]
    except OSError as e:
        raise PristineError("cannot read the submission %s: %s" % (sub, e.strerror))
    if len(dirs) == 1 and not files:
        return find_root(os.path.join(sub, dirs[0]))
    return sub


def unpack(src, dst):
    """A git bundle (FILE.bundle) is cloned to dst; returns the folder to copy."""
    if os.path.isfile(src) and src.endswith(".bundle"):
        if shutil.which("git") is None:
            raise PristineError("%s is a git bundle but git is not installed "
                                "(apt-get install git)" % src)
        p = subprocess.run(["git", "clone", "-q", src, dst], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        if p.returncode != 0:
            raise PristineError("cannot clone the bundle %s: %s"
                                % (src, p.stdout.decode("utf-8", "replace").strip()[-500:]))
        return dst
    if not os.path.isdir(src):
        raise PristineError("submission %s is neither a folder nor a .bundle file" % src)
    return src


def copy_tree(src, dst, max_bytes=MAX_BYTES, max_files=MAX_FILES):
    """Copy the files of src to dst (new), without .git and build/.
    Symbolic links are copied as links only when they stay inside the tree;
    special files are skipped.  Too large a tree is refused."""
    src = os.path.realpath(src)
    total = count = 0
    for d, dirs, files in os.walk(src):
        rel = os.path.relpath(d, src)
        dirs[:] = sorted(x for x in dirs if not (rel == "." and x in SKIP))
        out = os.path.normpath(os.path.join(dst, rel))
        os.makedirs(out, exist_ok=True)
        for name in list(dirs) + files:
            s = os.path.join(d, name)
            t = os.path.join(out, name)
            st = os.lstat(s)
            if stat.S_ISLNK(st.st_mode):
                if name in dirs:
                    dirs.remove(name)       # os.walk does not follow it anyway
                target = os.path.realpath(s)
                if target == src or target.startswith(src + os.sep):
                    os.symlink(os.readlink(s), t)
                continue
            if name in dirs or not stat.S_ISREG(st.st_mode):
                continue
            count += 1
            total += st.st_size
            if total > max_bytes or count > max_files:
                raise PristineError("submission too large: more than %d MiB or %d files "
                                    "(without .git and build/)" % (max_bytes >> 20, max_files))
            shutil.copyfile(s, t)
            os.chmod(t, 0o755 if st.st_mode & 0o111 else 0o644)


def _clear(path):
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def _real_parents(root, rel):
    """Make every folder on the way to rel a real folder of the copy (a
    student's symlink must not redirect the overlay)."""
    cur = root
    for part in rel.split("/")[:-1]:
        cur = os.path.join(cur, part)
        if os.path.islink(cur) or (os.path.exists(cur) and not os.path.isdir(cur)):
            _clear(cur)
        os.makedirs(cur, exist_ok=True)


def overlay(pristine, work):
    """Make every owned path of work what it is in pristine.  Returns the
    number of files laid over."""
    n = 0
    for rel, is_dir in read_manifest(pristine):
        src = os.path.join(pristine, rel)
        dst = os.path.join(work, rel)
        _real_parents(work, rel)
        _clear(dst)
        if is_dir and os.path.isdir(src):
            for d, dirs, files in os.walk(src):
                dirs[:] = [x for x in dirs if x != "__pycache__"]
                out = os.path.join(dst, os.path.relpath(d, src))
                os.makedirs(out, exist_ok=True)
                for f in files:
                    if f.endswith(".pyc"):
                        continue
                    shutil.copy2(os.path.join(d, f), os.path.join(out, f))
                    n += 1
        elif not is_dir and os.path.isfile(src):
            shutil.copy2(src, dst)
            n += 1
    return n


def prepare(submission, pristine, work):
    """Copy the submission (folder or git bundle) to work and overlay the
    pristine files.  Returns (the submission's root that was copied, number
    of files overlaid).  Raises PristineError."""
    pristine = os.path.abspath(pristine)
    read_manifest(pristine)          # fail before copying anything
    if os.path.exists(work):
        raise PristineError("%s already exists" % work)
    src = unpack(os.path.abspath(submission), work + ".clone")
    try:
        root = find_root(src)
        copy_tree(root, work)
    finally:
        if src != os.path.abspath(submission):
            shutil.rmtree(src, ignore_errors=True)
    return root, overlay(pristine, work)
