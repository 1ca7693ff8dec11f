"""The files of the reference tree: which git publishes, and which marker
prefixes each may use."""

import os
import subprocess

from .common import ASM_EXT, C_EXT, EXCLUDED, EXCLUDED_FILES, HASH_EXT, HASH_NAMES


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
