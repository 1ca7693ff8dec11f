"""The leak check: no significant line of a hidden lab's solution appears
anywhere in a rendered tree (unless the same line is also outside every
solution part, or a shown lab's solution)."""

from .common import SIGNIFICANT, SOLVED, mode_fn, tree_name


def solutions(src):
    """{lab: {line: first 'path:line'}} of significant solution lines, and
    the set of stripped lines of the tree outside solution parts."""
    if src._sol is None:
        sol, outside = {}, set()
        for f in src.files:
            # Only files that can carry markers excuse a line: a verbatim
            # file (docs, notes, data) that repeats a solution line leaks it.
            if f.prefixes:
                outside |= f.outside_lines()
            for n, lines in f.solution_lines().items():
                d = sol.setdefault(n, {})
                for no, text in lines:
                    if len(text) >= SIGNIFICANT:
                        d.setdefault(text, "%s:%d" % (f.path, no))
        src._sol = (sol, outside)
    return src._sol


def leaks(src, kind, lab, tree):
    """'file:line: ...' for every solution line of a hidden lab in tree."""
    mode_of = mode_fn(kind, lab)
    sol, outside = solutions(src)
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
