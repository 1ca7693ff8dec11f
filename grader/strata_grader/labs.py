"""Lab declarations: labs/labN-name/lab.json (format in grader/README.md)."""

import difflib
import glob
import json
import os
import re
from dataclasses import dataclass, field

from .trace import Trace, TraceError, load_trace, prefixed

TEST_KEYS = {"name", "points", "cmdline", "trace", "boot", "memory", "cpus",
             "qemu_args", "timeout", "description", "host", "given"}
# A host test ("host": "NAME") runs tests/test_NAME.c on the host; it has
# no trace and boots nothing.
HOST_KEYS = {"name", "points", "host", "timeout", "description", "given"}
HOST_TIMEOUT = 60
DEFAULTS = {"memory": "128M", "cpus": 1, "timeout": 10, "boot": "kernel", "qemu_args": [],
            "cmdline": ""}
# The least memory Strata supports: MEMORY_MIN_MIB in src/kernel/layout.h
# (a self-test keeps the two equal). With less, QEMU's loader (1M) or GRUB
# (2M) fails before the kernel can say anything on the serial port.
MEMORY_MIN_MIB = 4
# The most a test may ask for: Strata is 32-bit without PAE and uses memory
# below 4 GiB (the boot matrix goes to 5G); far more than that only makes
# QEMU fail to allocate it, which would be graded as the student's FAIL.
MEMORY_MAX_MIB = 16 * 1024


# A topology for QEMU's -smp: the CPUs present, then the shape of the
# machine (lab 8 tests sockets, maxcpus above the CPUs present and the
# non-contiguous APIC IDs of sockets=2,cores=3).
SMP_TOPOLOGY = re.compile(r"([1-9][0-9]*)(,(sockets|dies|cores|threads|maxcpus)=[1-9][0-9]*)*")


def cpus_ok(v):
    """cpus: an integer 1..255, or a -smp string with 1..255 CPUs present."""
    if _is_int(v):
        return 1 <= v <= 255
    m = isinstance(v, str) and SMP_TOPOLOGY.fullmatch(v)
    return bool(m) and 1 <= int(m.group(1)) <= 255


def memory_mib(text):
    """QEMU's -m as MiB: "128M" -> 128, "1G" -> 1024, "64" -> 64."""
    n = int(text.rstrip("MG"))
    return n * 1024 if text.endswith("G") else n


class LabError(Exception):
    pass


@dataclass(eq=False)
class Lab:
    """One labs/labN-name/lab.json."""
    number: int
    title: str
    path: str
    tests: list["Test"] = field(default_factory=list)
    reruns: list = field(default_factory=list)	# lab.json "reruns", resolved by discover


@dataclass(eq=False)
class Test:
    """One test of a lab: how to boot the kernel and the trace to match."""
    lab: Lab
    name: str
    points: int
    trace_file: str
    cmdline: str = DEFAULTS["cmdline"]
    boot: str = DEFAULTS["boot"]
    memory: str = DEFAULTS["memory"]
    cpus: int | str = DEFAULTS["cpus"]	# -smp: a count or a topology string
    qemu_args: list[str] = field(default_factory=list)
    timeout: float = float(DEFAULTS["timeout"])
    trace: Trace | None = None            # parsed by load_traces
    host: str | None = None               # a host test: tests/test_<host>.c
    given: bool = False                   # tests code the lab gives (passes on its branch)
    rerun_of: "Test | None" = None        # a rerun (lab.json "reruns"): the test it repeats
    expect_first: list[str] = field(default_factory=list)  # a rerun's lines before the trace
    where: str = ""                       # "LAB.JSON: tests[I] (NAME)", for setup errors

    @classmethod
    def from_decl(cls, lab, decl, path):
        """The test declared by `decl` (a checked tests[] entry) in the
        lab.json at `path`."""
        if "host" in decl:
            return cls(lab, decl["name"], decl["points"], "", host=decl["host"],
                       timeout=float(decl.get("timeout", HOST_TIMEOUT)),
                       given=bool(decl.get("given", False)))
        d = {**DEFAULTS, **decl}
        return cls(lab, d["name"], d["points"], os.path.join(os.path.dirname(path), d["trace"]),
                   cmdline=d["cmdline"], boot=d["boot"], memory=d["memory"], cpus=d["cpus"],
                   qemu_args=list(d["qemu_args"]), timeout=float(d["timeout"]),
                   given=bool(d.get("given", False)))

    @property
    def id(self):
        return "lab%d/%s" % (self.lab.number, self.name)

    @property
    def log_name(self):
        return "lab%d-%s.log" % (self.lab.number, self.name)

    def __repr__(self):
        return "Test(%s)" % self.id


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _check_test(decl, where):
    if not isinstance(decl, dict):
        raise LabError("%s: each test must be a JSON object" % where)
    unknown = set(decl) - TEST_KEYS
    if unknown:
        raise LabError("%s: unknown key(s) %s (known: %s)"
                       % (where, ", ".join(sorted(unknown)), ", ".join(sorted(TEST_KEYS))))
    if "host" in decl:
        return _check_host_test(decl, where)
    for key in ("name", "points", "trace"):
        if key not in decl:
            raise LabError("%s: missing %r" % (where, key))
    d = {**DEFAULTS, **decl}
    _check_common(d, where)
    if not isinstance(d["trace"], str) or not d["trace"] or os.path.isabs(d["trace"]):
        raise LabError("%s: trace must be a file name relative to lab.json" % where)
    if not isinstance(d["cmdline"], str) or "\n" in d["cmdline"]:
        raise LabError("%s: cmdline must be a one-line string" % where)
    if d["boot"] not in ("kernel", "iso"):
        raise LabError("%s: boot must be \"kernel\" or \"iso\"" % where)
    if d["boot"] == "iso" and d["cmdline"]:
        raise LabError("%s: an iso test boots GRUB's default entry; its cmdline must be empty" % where)
    mem = d["memory"]
    if not isinstance(mem, str) or not re.fullmatch(r"[1-9][0-9]*[MG]?", mem):
        raise LabError("%s: memory must be like \"128M\" or \"1G\"" % where)
    if memory_mib(mem) > MEMORY_MAX_MIB:
        raise LabError("%s: memory %s is above the %dG a test may use (Strata uses the first "
                       "4 GiB)" % (where, mem, MEMORY_MAX_MIB // 1024))
    if memory_mib(mem) < MEMORY_MIN_MIB:
        raise LabError("%s: memory %s is below the %dM Strata needs (with less, QEMU or "
                       "GRUB stops before the kernel can say anything)" % (where, mem, MEMORY_MIN_MIB))
    if not cpus_ok(d["cpus"]):
        raise LabError("%s: cpus must be an integer 1..255 or a QEMU -smp topology like "
                       "\"6,sockets=2,cores=3\" or \"2,maxcpus=4\"" % where)
    qa = d["qemu_args"]
    if not isinstance(qa, list) or not all(isinstance(a, str) for a in qa):
        raise LabError("%s: qemu_args must be a list of strings" % where)
    to = d["timeout"]
    if not isinstance(to, (int, float)) or isinstance(to, bool) or not 0 < to <= 3600:
        raise LabError("%s: timeout must be a number of seconds in (0, 3600]" % where)


def _check_common(d, where):
    if not isinstance(d["name"], str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", d["name"]):
        raise LabError("%s: name must match [A-Za-z0-9_.-]+" % where)
    if not _is_int(d["points"]) or d["points"] < 0:
        raise LabError("%s: points must be a non-negative integer" % where)
    if not isinstance(d.get("given", False), bool):
        raise LabError("%s: given must be true or false" % where)
    to = d["timeout"]
    if not isinstance(to, (int, float)) or isinstance(to, bool) or not 0 < to <= 3600:
        raise LabError("%s: timeout must be a number of seconds in (0, 3600]" % where)


def _check_host_test(decl, where):
    extra = set(decl) - HOST_KEYS
    if extra:
        raise LabError("%s: a host test takes only %s, not %s"
                       % (where, ", ".join(sorted(HOST_KEYS)), ", ".join(sorted(extra))))
    for key in ("name", "points"):
        if key not in decl:
            raise LabError("%s: missing %r" % (where, key))
    if not isinstance(decl["host"], str) or not re.fullmatch(r"[a-z0-9_]+", decl["host"]):
        raise LabError("%s: host must name a host test, tests/test_NAME.c ([a-z0-9_]+)" % where)
    _check_common({"timeout": HOST_TIMEOUT, **decl}, where)


def load_lab(path):
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except OSError as e:
        raise LabError("%s: cannot read: %s" % (path, e.strerror))
    except ValueError as e:
        raise LabError("%s: invalid JSON: %s" % (path, e))
    if not isinstance(d, dict):
        raise LabError("%s: must be a JSON object" % path)
    if not _is_int(d.get("lab")) or d["lab"] < 0:
        raise LabError("%s: \"lab\" must be a lab number" % path)
    dirname = os.path.basename(os.path.dirname(os.path.abspath(path)))
    m = re.match(r"lab(\d+)-", dirname)
    if m and int(m.group(1)) != d["lab"]:
        raise LabError("%s: folder says lab %s but \"lab\" is %d" % (path, m.group(1), d["lab"]))
    if not isinstance(d.get("title", ""), str):
        raise LabError("%s: title must be a string" % path)
    if not isinstance(d.get("tests"), list):
        raise LabError("%s: \"tests\" must be a list" % path)
    lab = Lab(d["lab"], d.get("title", dirname), path)
    if not isinstance(d.get("reruns", []), list):
        raise LabError("%s: \"reruns\" must be a list" % path)
    lab.reruns = d.get("reruns", [])
    seen = set()
    for i, td in enumerate(d["tests"]):
        where = "%s: tests[%d]" % (path, i)
        if isinstance(td, dict) and isinstance(td.get("name"), str):
            where += " (%s)" % td["name"]
        _check_test(td, where)
        if td["name"] in seen:
            raise LabError("%s: duplicate test name" % where)
        seen.add(td["name"])
        lab.tests.append(Test.from_decl(lab, td, path))
        lab.tests[-1].where = where
    return lab


RERUN_KEYS = {"lab", "prefix", "cpus", "qemu_args", "timeout_factor", "expect", "skip",
              "points", "description"}


def _check_rerun(r, where):
    if not isinstance(r, dict):
        raise LabError("%s: each rerun must be a JSON object" % where)
    unknown = set(r) - RERUN_KEYS
    if unknown:
        raise LabError("%s: unknown key(s) %s (known: %s)"
                       % (where, ", ".join(sorted(unknown)), ", ".join(sorted(RERUN_KEYS))))
    for key in ("lab", "prefix"):
        if key not in r:
            raise LabError("%s: missing %r" % (where, key))
    if not _is_int(r["lab"]):
        raise LabError("%s: lab must be a lab number" % where)
    if not isinstance(r["prefix"], str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", r["prefix"]):
        raise LabError("%s: prefix must match [A-Za-z0-9_.-]+" % where)
    if "cpus" in r and not cpus_ok(r["cpus"]):
        raise LabError("%s: cpus must be an integer 1..255 or a QEMU -smp topology" % where)
    qa = r.get("qemu_args", [])
    if not isinstance(qa, list) or not all(isinstance(a, str) for a in qa):
        raise LabError("%s: qemu_args must be a list of strings" % where)
    f = r.get("timeout_factor", 1)
    if not isinstance(f, (int, float)) or isinstance(f, bool) or not 0 < f <= 100:
        raise LabError("%s: timeout_factor must be a number in (0, 100]" % where)
    ex = r.get("expect", [])
    if not isinstance(ex, list) or not all(isinstance(a, str) and a and "\n" not in a
                                           for a in ex):
        raise LabError("%s: expect must be a list of trace lines" % where)
    sk = r.get("skip", {})
    if not isinstance(sk, dict) or not all(isinstance(v, str) and v for v in sk.values()):
        raise LabError("%s: skip must map test names to the reason they are not rerun" % where)
    if "points" in r and (not _is_int(r["points"]) or r["points"] < 0):
        raise LabError("%s: points must be a non-negative integer" % where)


def _add_reruns(lab, decls, by_number):
    """A lab's "reruns": the kernel tests of an earlier lab (or its own)
    again on another machine (more CPUs, another accelerator): each becomes
    a test of this lab named PREFIX+name, with the same trace, after
    `expect` (lines the kernel prints first: the CPUs it brought up)."""
    own = list(lab.tests)
    for i, r in enumerate(decls):
        where = "%s: reruns[%d]" % (lab.path, i)
        _check_rerun(r, where)
        if r["lab"] > lab.number:
            raise LabError("%s: lab %d comes after lab %d" % (where, r["lab"], lab.number))
        src = lab if r["lab"] == lab.number else by_number.get(r["lab"])
        if src is None:
            raise LabError("%s: no lab %d" % (where, r["lab"]))
        pool = own if src is lab else [t for t in src.tests if t.rerun_of is None]
        names = {t.name for t in pool}
        for name in r.get("skip", {}):
            if name not in names:
                raise LabError("%s: skip names %r, not a test of lab %d" % (where, name, r["lab"]))
        for t in pool:
            if t.host or t.name in r.get("skip", {}):
                continue
            name = r["prefix"] + t.name
            if any(x.name == name for x in lab.tests):
                raise LabError("%s: %s is already a test of lab %d" % (where, name, lab.number))
            lab.tests.append(Test(
                lab, name, r.get("points", t.points), t.trace_file, cmdline=t.cmdline,
                boot=t.boot, memory=t.memory, cpus=r.get("cpus", t.cpus),
                qemu_args=t.qemu_args + list(r.get("qemu_args", [])),
                timeout=t.timeout * r.get("timeout_factor", 1), rerun_of=t, given=t.given,
                expect_first=list(r.get("expect", [])),
                where="%s (%s: %s again)" % (where, name, t.id)))


def discover(labs_dir):
    """All labs under labs_dir, sorted by number.  Raises LabError."""
    if not os.path.isdir(labs_dir):
        raise LabError("labs directory %s does not exist" % labs_dir)
    labs = [load_lab(p) for p in glob.glob(os.path.join(labs_dir, "lab*-*", "lab.json"))]
    labs.sort(key=lambda lab: lab.number)
    for a, b in zip(labs, labs[1:]):
        if a.number == b.number:
            raise LabError("lab %d declared twice: %s and %s" % (a.number, a.path, b.path))
    by_number = {lab.number: lab for lab in labs}
    for lab in labs:
        if lab.reruns:
            _add_reruns(lab, lab.reruns, by_number)
    return labs


def load_traces(tests):
    """Parse the traces of the selected tests.  Raises LabError with every
    problem found."""
    errors = []
    for t in tests:
        if t.host:
            continue
        try:
            t.trace = load_trace(t.trace_file)
            if t.expect_first:
                t.trace = prefixed(t.trace, t.expect_first, "lab.json reruns")
        except TraceError as e:
            errors.append("%s: %s" % (t.id, e))
    if errors:
        raise LabError("\n".join(errors))


def _no_test(want, tests):
    """'no test X', with the closest names when there are many (the whole
    list of a full course is a few hundred names on one line)."""
    if len(tests) <= 20:
        return "no test %r among: %s" % (want, ", ".join(t.id for t in tests) or "none")
    names = sorted({t.name for t in tests})
    close = difflib.get_close_matches(want, names, n=5, cutoff=0.5)
    return "no test %r%s (--list lists all %d)" % (
        want, "; closest: " + ", ".join(close) if close else "", len(tests))


def select(labs, *, lab=None, upto=None, tests=(), branch_lab=None):
    """Pick the tests to grade.  Returns a list of Test in declaration
    order.  Raises LabError when a selector matches nothing."""
    if lab is not None:
        chosen = [l for l in labs if l.number == lab]
        if not chosen:
            raise LabError("no lab %d (labs: %s)" % (lab, ", ".join(str(l.number) for l in labs) or "none"))
    elif upto is not None:
        chosen = [l for l in labs if l.number <= upto]
    elif branch_lab is not None and not tests:
        chosen = [l for l in labs if l.number <= branch_lab]
    else:
        chosen = list(labs)
    out = [t for l in chosen for t in l.tests]
    if tests:
        picked = []
        for want in tests:
            hits = [t for t in out if want in (t.name, t.id)]
            if not hits:
                raise LabError(_no_test(want, out))
            picked += [t for t in hits if t not in picked]
        out = [t for t in out if t in picked]
    if not out:
        raise LabError("no tests selected")
    return out
