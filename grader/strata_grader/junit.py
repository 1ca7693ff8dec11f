"""JUnit XML (--junit FILE) for GitLab, Jenkins, CodeGrade and any CI: one
<testsuite> per lab, a <testcase> per test (classname strata.labN, time
in seconds), <failure> for FAIL, <error> for TIMEOUT, a crash or a test
that could not run, the serial log in <system-out>, points and score as
<property> elements."""

import os
import re
import xml.etree.ElementTree as ET

from .excerpt import read_log, verdict_text
from .status import Ended, Status

# Characters XML 1.0 cannot hold (a kernel may print any byte).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text):
    return _NOT_XML.sub("\ufffd", str(text))


def kind(t):
    """'ok', 'failure' or 'error' for a test's JSON entry."""
    v = t.get("verdict")
    if v == Status.OK:
        return "ok"
    if v in (Status.TIMEOUT, Status.ERROR) or v is None:
        return "error"
    return "error" if crashed(t) else "failure"


def crashed(t):
    """QEMU did not end the run the kernel's way: not started, stuck past the
    wall-clock limit, killed by a signal, or exited with a status that is
    neither a reset (0) nor an isa-debug-exit value ((v << 1) | 1, v >= 1):
    QEMU's own error exit is 1."""
    if t.get("ended") in (Ended.WALL, Ended.ERROR):
        return True
    st = t.get("exit_status")
    return t.get("ended") == Ended.EXIT and st is not None and (
        st < 0 or st == 1 or (st != 0 and st % 2 == 0))


def document(data):
    root = ET.Element("testsuites", name="strata")
    labs = {}
    for t in data.get("tests", []) + [dict(x, verdict=None) for x in data.get("not_run", [])]:
        labs.setdefault(t["lab"], []).append(t)
    totals = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    if data.get("setup_error") and not labs:
        suite = ET.SubElement(root, "testsuite", name="setup", tests="1", failures="0",
                              errors="1", skipped="0", time="0")
        case = ET.SubElement(suite, "testcase", name="build", classname="strata.setup", time="0")
        props = ET.SubElement(case, "properties")
        ET.SubElement(props, "property", name="points", value="0")
        ET.SubElement(case, "error", message=_x(data["setup_error"]), type="SETUP").text = \
            _x(data["setup_error"])
        totals["tests"], totals["errors"] = 1, 1
    for n in sorted(labs):
        tests = labs[n]
        counts = [kind(t) if t.get("verdict") is not None else "error" for t in tests]
        secs = sum(t.get("seconds", 0.0) for t in tests)
        title = tests[0].get("lab_title") or ""
        suite = ET.SubElement(root, "testsuite", name="lab%d%s" % (n, " " + title if title else ""),
                              tests=str(len(tests)), failures=str(counts.count("failure")),
                              errors=str(counts.count("error")), skipped="0", time="%.3f" % secs)
        for t, k in zip(tests, counts):
            case = ET.SubElement(suite, "testcase", name=t["name"], classname="strata.lab%d" % n,
                                 time="%.3f" % t.get("seconds", 0.0))
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="points", value=str(t["points"]))
            ET.SubElement(props, "property", name="score",
                          value=str(t["points"] if k == "ok" else 0))
            if t.get("verdict") is None:
                ET.SubElement(case, "error", message=_x("not run: %s" % data.get("setup_error")),
                              type="NOT RUN")
                continue
            if k != "ok":
                el = ET.SubElement(case, k, message=_x(t.get("reason") or t["verdict"]),
                                   type=str(t["verdict"]))
                el.text = _x(verdict_text(t))
            log = read_log(t)
            if log:
                ET.SubElement(case, "system-out").text = _x(log)
        totals["tests"] += len(tests)
        totals["failures"] += counts.count("failure")
        totals["errors"] += counts.count("error")
        totals["time"] += secs
    for k, v in totals.items():
        root.set(k, "%.3f" % v if k == "time" else str(v))
    return ET.ElementTree(root)


def write(path, data):
    tmp = "%s.tmp-%d" % (path, os.getpid())
    tree = document(data)
    ET.indent(tree)
    tree.write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)
