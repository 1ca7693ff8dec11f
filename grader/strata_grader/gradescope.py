"""Gradescope's results.json (the autograder specification's fields) from
the grader's JSON results.  The autograder package that runs it is made by
`make gradescope` (tools/labgen/gradescope.py)."""


from . import report
from .excerpt import read_log, verdict_text
from .status import Status

# The visibility of the tests and of run_autograder's stdout.
VISIBILITY = "visible"
STDOUT_VISIBILITY = "hidden"


def _test(t, number, log):
    ok = t.get("verdict") == Status.OK
    out = verdict_text(t)
    if log:
        out += "\n\n----- serial log -----\n" + log
    return {
        "name": "lab%d %s" % (t["lab"], t["name"]),
        "number": number,
        "score": t["points"] if ok else 0,
        "max_score": t["points"],
        "status": "passed" if ok else "failed",
        "output": out,
        "output_format": "text",
        "tags": ["lab%d" % t["lab"], str(t.get("verdict", "not run"))],
        "visibility": VISIBILITY,
        "extra_data": {"seconds": t.get("seconds", 0.0), "cpu_seconds": t.get("cpu_seconds", 0.0),
                       "verdict": t.get("verdict"), "ended": t.get("ended"),
                       "id": t["id"]},
    }


def results(data):
    """data: report.result_json's dict (with `not_run` on a setup error)."""
    tests, per_lab = [], {}
    for t in data.get("tests", []):
        per_lab[t["lab"]] = per_lab.get(t["lab"], 0) + 1
        tests.append(_test(t, "%d.%d" % (t["lab"], per_lab[t["lab"]]),
                           read_log(t) if t.get("verdict") != Status.OK else ""))
    for t in data.get("not_run", []):
        per_lab[t["lab"]] = per_lab.get(t["lab"], 0) + 1
        x = _test(dict(t, verdict="not run", reason="not run: setup error (see the top)"),
                  "%d.%d" % (t["lab"], per_lab[t["lab"]]), "")
        x["tags"] = ["lab%d" % t["lab"], "not run"]
        tests.append(x)
    score = sum(x["score"] for x in tests)
    max_score = sum(x["max_score"] for x in tests)
    if data.get("setup_error"):
        output = ("SETUP ERROR: %s\n\nNothing was graded, or the score is incomplete: this is "
                  "not a grade of your work. Fix the build (run `make` in your repository) or "
                  "tell the course staff." % data["setup_error"])
    else:
        output = "Score: %d/%d" % (score, max_score)
        bad = [x for x in tests if x["status"] != "passed"]
        if bad:
            output += "\nNot passed: " + ", ".join(x["name"] for x in bad)
    return {
        "score": score,
        "execution_time": int(round(data.get("seconds", 0.0))),
        "output": output,
        "output_format": "text",
        "visibility": VISIBILITY,
        "stdout_visibility": STDOUT_VISIBILITY,
        "extra_data": {"max_score": max_score, "setup_error": data.get("setup_error")},
        "tests": tests,
    }


def write(path, data):
    report.write_json(path, results(data))
