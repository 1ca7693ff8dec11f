"""Markdown: instructor-only text (removed from every student tree) and the
README's links to files a branch does not have."""

import re

from .common import path_lab


# Instructor-only text in Markdown files (README.md): removed from every
# student tree. A line holding only INSTR_BEGIN opens a section that ends at
# a line holding only INSTR_END; a line with text that ends with INSTR_BEGIN
# (before a table row's last '|') is removed alone.
INSTR_BEGIN = "<!-- labgen: instructors only -->"
INSTR_END = "<!-- labgen: end -->"
LABGEN_COMMENT = re.compile(r"<!--\s*labgen:\s*(.*?)\s*-->")


def instructor_lines(text, err):
    """The instructor-only lines of a Markdown file's text (see
    INSTR_BEGIN); err(line, message) reports a malformed comment."""
    drop = set()
    opened = None	# line of the open section's INSTR_BEGIN
    for no, raw in enumerate(text.split("\n"), 1):
        comments = list(LABGEN_COMMENT.finditer(raw))
        if not comments:
            if opened:
                drop.add(no)
            continue
        whole = len(comments) == 1 and not raw.replace(comments[0].group(0), "").strip()
        kind = comments[0].group(1) if len(comments) == 1 else None
        if kind == "instructors only" and whole:
            if opened:
                err(no, "%s inside the instructors-only section opened at line %d"
                         % (INSTR_BEGIN, opened))
            opened = opened or no
            drop.add(no)
        elif kind == "end" and whole:
            if not opened:
                err(no, "%s without a %s" % (INSTR_END, INSTR_BEGIN))
            else:
                drop.add(no)
            opened = None
        elif kind == "instructors only" and \
                re.search(re.escape(comments[0].group(0)) + r"\s*\|?\s*$", raw):
            drop.add(no)	# one line (a table row): removed alone
        else:
            err(no, "unknown labgen comment %r: write %s alone on a line (a section up "
                     "to %s) or at the end of a line (that line)"
                     % (raw.strip(), INSTR_BEGIN, INSTR_END))
            if opened:
                drop.add(no)
    if opened:
        err(opened, "%s has no %s" % (INSTR_BEGIN, INSTR_END))
    return drop


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
