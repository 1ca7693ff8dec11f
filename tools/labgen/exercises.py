"""The exercise check: stub comments `LAB N exercise K` numbered in order,
each in one file, and the lab's handout with the same exercise headings."""

import re


def exercise_errors(src):
    """The stubs of lab N say `LAB N exercise K` (src/ only). In each file
    K only grows; K runs 1..M over the lab, each in one file; the lab's
    handout has the headings `### Exercise 1` .. `### Exercise M`, in
    that order, so a student reads them in the order the stubs come."""
    errors = []
    seen = {}	# lab -> {K: (path, line)}
    for f in src.files:
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
        handout = (src.labs.get(n) or {}).get("handout")
        text = next((f.text for f in src.files if f.path == handout), None)
        if text is None:
            continue
        heads = [int(k) for k in re.findall(r"(?m)^###\s+Exercise\s+(\d+)\b", text)]
        if heads != want:
            errors.append("%s: exercise headings %s, but the stubs of lab %d are "
                          "exercises %s" % (handout, heads, n, want))
    return errors
