#!/usr/bin/env python3
"""mutants.py: does the grade catch wrong solutions?

Applies each mutation of tools/mutants/labN.mut to a copy of the tree (a
realistic student mistake inside lab N's solution regions), grades lab N of
the copy with the grader and the pristine tests of this tree, and reports
which mutants were caught (some test not OK), by which tests, and which
survived (full marks for a wrong solution).  See tools/mutants/README.md.

    python3 tools/mutants/mutants.py [--lab N] [--only NAME] [-j 2] [--check]
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MARK = re.compile(r"^\s*(?://@|#@)\s*LAB\s+(\d+)\s+(BEGIN|STUB|END|FILE)\s*$")
SOURCE_DIRS = ("src",)


class MutantError(Exception):
    pass


class Mutant:
    def __init__(self, lab, name, path, line):
        self.lab, self.name, self.file, self.line = lab, name, path, line
        self.why = ""
        self.equivalent = None	# the reason, for a mutant that cannot be caught
        self.hunks = []		# [(old lines, new lines)]

    @property
    def id(self):
        return "lab%d/%s" % (self.lab, self.name)


def parse(path, lab):
    """The mutants of one .mut file (format: tools/mutants/README.md)."""
    mutants, cur, hunk = [], None, None
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for n, raw in enumerate(lines, 1):
        where = "%s:%d" % (os.path.relpath(path, ROOT), n)
        if raw.startswith("== "):
            cur = Mutant(lab, raw[3:].strip(), path, n)
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", cur.name):
                raise MutantError("%s: bad mutant name %r" % (where, cur.name))
            if any(m.name == cur.name for m in mutants):
                raise MutantError("%s: mutant %s defined twice" % (where, cur.name))
            mutants.append(cur)
            hunk = None
            continue
        if raw.strip() == "" or raw.startswith("#"):
            hunk = None if raw.strip() == "" else hunk
            continue
        if cur is None:
            raise MutantError("%s: text before the first `== name` line" % where)
        if raw.startswith("why:"):
            cur.why = raw[4:].strip()
        elif raw.startswith("equivalent:"):
            cur.equivalent = raw[11:].strip() or "equivalent"
        elif raw[:1] in "-+":
            text = raw[1:]
            if text.startswith(" "):
                text = text[1:]
            if raw[0] == "-":
                if hunk is None or hunk[1]:
                    hunk = ([], [])
                    cur.hunks.append(hunk)
                hunk[0].append(text)
            else:
                if hunk is None:
                    raise MutantError("%s: a `+` line needs `-` lines before it" % where)
                hunk[1].append(text)
        else:
            raise MutantError("%s: cannot parse %r" % (where, raw))
    for m in mutants:
        if not m.hunks:
            raise MutantError("%s:%d: mutant %s changes nothing" % (path, m.line, m.name))
    return mutants


def load(labs=None):
    out = []
    for name in sorted(os.listdir(HERE)):
        m = re.fullmatch(r"lab(\d+)\.mut", name)
        if m and (labs is None or int(m.group(1)) in labs):
            out += parse(os.path.join(HERE, name), int(m.group(1)))
    return out


def tracked_sources(root):
    res = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "--"] +
                         list(SOURCE_DIRS), cwd=root, capture_output=True, text=True)
    if res.returncode != 0:
        raise MutantError("git ls-files failed in %s: %s" % (root, res.stderr.strip()))
    return [p for p in res.stdout.split("\n") if p and os.path.isfile(os.path.join(root, p))]


def solution_lines(lines, lab):
    """Indexes of the lines inside a solution part (BEGIN..STUB, or BEGIN..END
    without a stub) of a region of this lab, markers excluded."""
    inside, stack = set(), []
    for i, line in enumerate(lines):
        m = MARK.match(line)
        if m:
            n, kw = int(m.group(1)), m.group(2)
            if kw == "BEGIN":
                stack.append([n, True])
            elif kw == "STUB" and stack:
                stack[-1][1] = False
            elif kw == "END" and stack:
                stack.pop()
            continue
        if any(n == lab and sol for n, sol in stack) and all(sol for _, sol in stack):
            inside.add(i)
    return inside


def read_regions(root, path, lab):
    try:
        with open(os.path.join(root, path), encoding="utf-8") as f:
            lines = f.read().split("\n")
    except UnicodeDecodeError:
        return [], set()
    return lines, solution_lines(lines, lab)


def locate(m, root, files, cache):
    """[(path, line index, old, new)] for every hunk of m, each found exactly
    once in a solution region of lab m.lab; MutantError otherwise."""
    found = []
    for old, new in m.hunks:
        want = [s.strip() for s in old]
        hits = []
        for path in files:
            if (path, m.lab) not in cache:
                cache[path, m.lab] = read_regions(root, path, m.lab)
            lines, inside = cache[path, m.lab]
            for i in range(len(lines) - len(want) + 1):
                if all(i + j in inside and lines[i + j].strip() == want[j]
                       for j in range(len(want))):
                    hits.append((path, i))
        if len(hits) != 1:
            where = ", ".join("%s:%d" % (p, i + 1) for p, i in hits) or "nowhere"
            raise MutantError("%s (%s:%d): `%s` must occur exactly once in lab %d's "
                              "solution regions; found %s" %
                              (m.id, os.path.relpath(m.file, ROOT), m.line, old[0].strip(),
                               m.lab, where))
        found.append((hits[0][0], hits[0][1], old, new))
    return found


def locate_all(mutants, root):
    files, cache = tracked_sources(root), {}
    for m in mutants:
        m.places = locate(m, root, files, cache)


def apply(m, tree):
    by_file = {}
    for path, i, old, new in m.places:
        by_file.setdefault(path, []).append((i, old, new))
    for path, edits in by_file.items():
        full = os.path.join(tree, path)
        with open(full, encoding="utf-8") as f:
            lines = f.read().split("\n")
        for i, old, new in sorted(edits, reverse=True):
            indent = re.match(r"\s*", lines[i]).group(0)
            lines[i:i + len(old)] = [indent + s if s.strip() else "" for s in new]
        with open(full, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))


def copy_tree(root, dest):
    """The tree as git sees it (tracked and untracked-but-not-ignored files),
    with build/'s objects so only what a mutant changes is rebuilt."""
    res = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=root,
                         capture_output=True, text=True, check=True)
    for p in res.stdout.split("\n"):
        src = os.path.join(root, p)
        if p and os.path.isfile(src):
            os.makedirs(os.path.dirname(os.path.join(dest, p)) or dest, exist_ok=True)
            shutil.copy2(src, os.path.join(dest, p))
    build = os.path.join(root, "build")
    if os.path.isdir(build):
        shutil.copytree(build, os.path.join(dest, "build"), symlinks=True,
                        ignore=shutil.ignore_patterns("grade", "mutants", "*.iso.tmp"))
    # Sibling ../shared (design notes) is not needed to build or grade.


def grade(tree, lab, root, timeout_scale):
    out = os.path.join(tree, "result.json")
    cmd = [sys.executable, os.path.join(root, "grader", "grade.py"), "-C", tree,
           "--labs-dir", os.path.join(root, "labs"), "--lab", str(lab), "-j", "1",
           "--json", out, "--timeout-scale", str(timeout_scale)]
    res = subprocess.run(cmd, cwd=tree, capture_output=True, text=True)
    try:
        with open(out, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        data = {"setup_error": "no JSON results", "tests": []}
    if data.get("setup_error"):
        tail = "\n".join((res.stdout + res.stderr).strip().split("\n")[-6:])
        return {"status": "ERROR", "error": data["setup_error"], "output": tail}
    failed = [t for t in data["tests"] if t["verdict"] != "OK"]
    logs = []
    for t in data["tests"]:
        try:
            with open(t.get("log") or "", encoding="utf-8", errors="replace") as f:
                logs += f.read().split("\n")
        except OSError:
            pass
    return {"status": "CAUGHT" if failed else "SURVIVED", "log_lines": logs,
            "score": data.get("score"), "max_score": data.get("max_score"),
            "by": [{"test": t["name"], "verdict": t["verdict"], "reason": why(t)}
                   for t in failed]}


def why(t):
    """A failed test's reason, with the kernel's own FAIL line when there is
    one (`kernel exited with status 35` alone says nothing)."""
    reason = (t.get("reason") or "").split("\n")[0]
    for d in t.get("details") or []:
        m = re.search(r"TEST \S+: FAIL (.*)", d)
        if m:
            return m.group(1).strip()
    if reason.startswith("kernel panic"):
        # The line that led to it (the grader's panic details), e.g. the
        # decoded page fault.
        lead = [re.sub(r"^line \d+: ", "", d) for d in t.get("details") or []
                if re.match(r"line \d+: page fault: ", d)]
        if lead:
            return "%s, after `%s`" % (reason, lead[-1])
    return reason


def run_one(lab, m, base, root, work, timeout_scale, keep=False):
    """Grades lab `lab` of a copy of the snapshot `base` with mutant m
    applied (None: the unmutated tree, the baseline), with the grader and
    tests of `base`."""
    tree = tempfile.mkdtemp(prefix="lab%d-%s-" % (lab, m.name if m else "reference"), dir=work)
    try:
        shutil.copytree(base, tree, symlinks=True, dirs_exist_ok=True)
        if m is not None:
            apply(m, tree)
        return grade(tree, lab, base, timeout_scale)
    finally:
        if not keep:
            shutil.rmtree(tree, ignore_errors=True)


def describe(m, r):
    if r["status"] == "CAUGHT":
        by = "; ".join("%s %s: %s" % (b["test"], b["verdict"], b["reason"]) for b in r["by"][:3])
        more = " (+%d more)" % (len(r["by"]) - 3) if len(r["by"]) > 3 else ""
        return "CAUGHT   %-28s %s/%s  %s%s" % (m.name, r["score"], r["max_score"], by, more)
    if r["status"] == "SURVIVED":
        return "SURVIVED %-28s %s/%s  (%s)" % (m.name, r["score"], r["max_score"], m.why)
    errs = [l.strip() for l in (r["error"] + "\n" + r.get("output", "")).split("\n")
            if "error:" in l]
    return "ERROR    %-28s %s" % (m.name, errs[0] if errs else r["error"].split("\n")[0])


def handout_quotes(root):
    """The handouts' `<!-- quote: mutant NAME -->` blocks (tools/labgen/quotes.py)."""
    sys.path.insert(0, os.path.join(root, "tools"))
    from labgen import quotes
    out = []
    for name in sorted(os.listdir(os.path.join(root, "handouts"))):
        if name.endswith(".md"):
            path = os.path.join(root, "handouts", name)
            with open(path, encoding="utf-8") as f:
                try:
                    out += [q for q in quotes.parse("handouts/" + name, f.read())
                            if q.state == "mutant"]
                except ValueError as e:
                    raise MutantError(str(e))
    return out


def check_quotes(quoted, results, mutants):
    """Problems: a quoted mutant unknown, or a quote line it does not print."""
    from labgen import quotes
    ids = {m.name: m.id for m in mutants}
    ids.update({m.id: m.id for m in mutants})
    problems = []
    for q in quoted:
        mid = ids.get(q.mutant)
        if mid is None or mid not in results:
            problems.append("%s: quotes mutant %s, which is not graded here" % (q.where(), q.mutant))
            continue
        miss = quotes.missing(q, results[mid].get("log_lines", []))
        if miss:
            problems.append("%s: mutant %s does not print %s" % (
                q.where(), mid, "; ".join("`%s`" % m for m in miss)))
    return problems


def show_diffs(mutants, root):
    import difflib
    for m in mutants:
        with tempfile.TemporaryDirectory() as tree:
            for path in {p for p, _, _, _ in m.places}:
                os.makedirs(os.path.dirname(os.path.join(tree, path)), exist_ok=True)
                shutil.copy2(os.path.join(root, path), os.path.join(tree, path))
            apply(m, tree)
            print("# %s: %s" % (m.id, m.why))
            for path in sorted({p for p, _, _, _ in m.places}):
                with open(os.path.join(root, path), encoding="utf-8") as f:
                    a_ = f.read().split("\n")
                with open(os.path.join(tree, path), encoding="utf-8") as f:
                    b_ = f.read().split("\n")
                for line in difflib.unified_diff(a_, b_, "a/" + path, "b/" + path, lineterm="", n=1):
                    print(line)
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="mutants.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--lab", type=int, action="append", help="only this lab (repeatable)")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="only this mutant (NAME or labN/NAME; repeatable)")
    p.add_argument("--sample", action="store_true",
                   help="only the mutants listed in tools/mutants/sample.txt and those the "
                        "handouts quote; each must be caught, and print what is quoted")
    p.add_argument("--check", action="store_true",
                   help="only parse every mutant and check it applies to this tree")
    p.add_argument("--list", action="store_true", help="list the mutants and exit")
    p.add_argument("--diff", action="store_true", help="print each selected mutant as a diff and exit")
    p.add_argument("-j", "--jobs", type=int, default=2, help="mutants graded at once (default 2)")
    p.add_argument("--timeout-scale", type=float, default=1.0)
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--keep", action="store_true", help="keep the mutated trees (build/mutants)")
    p.add_argument("--no-baseline", action="store_true",
                   help="skip grading the unmutated tree first")
    a = p.parse_args(argv)
    root = ROOT
    try:
        mutants = load(set(a.lab) if a.lab else None)
        quoted = handout_quotes(root)
        if a.sample:
            with open(os.path.join(HERE, "sample.txt"), encoding="utf-8") as f:
                a.only += [s.split("#")[0].strip() for s in f if s.split("#")[0].strip()]
            a.only += sorted({q.mutant for q in quoted})
        if a.only:
            names = set(a.only)
            unknown = names - {m.name for m in mutants} - {m.id for m in mutants}
            if unknown:
                raise MutantError("no such mutant: %s" % ", ".join(sorted(unknown)))
            mutants = [m for m in mutants if m.name in names or m.id in names]
        locate_all(mutants, root)
    except MutantError as e:
        print("mutants: %s" % e, file=sys.stderr)
        return 2
    if a.diff:
        return show_diffs(mutants, root)
    if a.list or a.check:
        for m in mutants if a.list else []:
            tag = " [equivalent: %s]" % m.equivalent if m.equivalent else ""
            print("%-36s %s%s  (%s)" % (m.id, m.why, tag, ", ".join(
                "%s:%d" % (p_, i + 1) for p_, i, _, _ in m.places)))
        if a.check:
            print("mutants: %d mutants parse and apply" % len(mutants))
        return 0
    live = [m for m in mutants if not m.equivalent]
    work = os.path.join(root, "build", "mutants")
    os.makedirs(work, exist_ok=True)
    # One snapshot of the tree, taken now: every mutant is a copy of it, so
    # editing the tree while the mutants run changes nothing.
    base = tempfile.mkdtemp(prefix="base-", dir=work)
    try:
        copy_tree(root, base)
        # Built once here, so each copy rebuilds only what its mutant touches.
        subprocess.run(["make", "-s", "kernel", "iso"], cwd=base, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return run_all(a, mutants, live, base, root, work, quoted if a.sample else [])
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run_all(a, mutants, live, base, root, work, quoted):
    labs = sorted({m.lab for m in live})
    if not a.no_baseline:
        with concurrent.futures.ThreadPoolExecutor(max(1, a.jobs)) as ex:
            for lab, r in zip(labs, ex.map(lambda l: run_one(l, None, base, root, work, a.timeout_scale), labs)):
                if r["status"] != "SURVIVED":
                    print("mutants: the unmutated tree does not get full marks in lab %d: %s" %
                          (lab, r.get("error") or "; ".join("%s: %s" % (b["test"], b["reason"]) for b in r["by"])),
                          file=sys.stderr)
                    return 2
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max(1, a.jobs)) as ex:
        futs = {ex.submit(run_one, m.lab, m, base, root, work, a.timeout_scale, a.keep): m for m in live}
        for f in concurrent.futures.as_completed(futs):
            m = futs[f]
            results[m.id] = f.result()
            print("lab%d %s" % (m.lab, describe(m, results[m.id])), flush=True)
    print()
    print("%-6s %7s %9s %6s %11s" % ("lab", "caught", "survived", "error", "equivalent"))
    summary = {}
    for lab in sorted({m.lab for m in mutants}):
        ms = [m for m in mutants if m.lab == lab]
        st = [results[m.id]["status"] for m in ms if not m.equivalent]
        c, s, e = st.count("CAUGHT"), st.count("SURVIVED"), st.count("ERROR")
        eq = [m.name for m in ms if m.equivalent]
        summary[lab] = {"caught": c, "survived": s, "error": e, "equivalent": eq,
                        "total": c + s + e}
        pct = " (%d%%)" % round(100.0 * c / (c + s)) if c + s else ""
        print("lab%-3d %3d/%-3d%s %6d %6d %6d" % (lab, c, c + s + e, pct, s, e, len(eq)))
    for m in mutants:
        if m.equivalent:
            print("equivalent, excluded: %s (%s)" % (m.id, m.equivalent))
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump({"summary": summary, "mutants": {
                k: {x: y for x, y in v.items() if x != "log_lines"}
                for k, v in sorted(results.items())}}, f, indent=1)
    problems = check_quotes(quoted, results, mutants)
    for p_ in problems:
        print("mutants: handout quote: %s" % p_, file=sys.stderr)
    if quoted and not problems:
        print("mutants: %d handout quotes of mutants as printed" % len(quoted))
    if problems:
        return 1
    bad = [k for k, v in results.items() if v["status"] == "ERROR"]
    if bad:
        print("mutants: %d mutants could not be graded (do they compile?): %s" %
              (len(bad), ", ".join(sorted(bad))), file=sys.stderr)
        return 2
    if a.sample:
        survived = [k for k, v in results.items() if v["status"] != "CAUGHT"]
        if survived:
            print("mutants: sample mutants survived: %s" % ", ".join(sorted(survived)),
                  file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
