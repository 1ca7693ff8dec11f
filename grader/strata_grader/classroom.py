"""GitHub Classroom: the result format of its autograding actions (the
command grader's output, which autograding-grading-reporter reads from
the environment variable RUNNERID_RESULTS, base64-encoded):

    {"version": 1, "status": "pass"|"fail"|"error", "max_score": N,
     "tests": [{"name", "status", "score", "message", "test_code",
                "filename", "line_no", "duration"}]}

`duration` is in milliseconds, as the command grader measures it.  The
workflow that runs the grader and hands this to the reporter is
tools/labgen/classroom.yml (copied into every student branch)."""


from . import report
from .excerpt import verdict_text
from .status import Status

STATUS = {Status.OK: "pass", Status.FAIL: "fail", Status.TIMEOUT: "error",
          Status.ERROR: "error"}


def result(data):
    tests = []
    for t in data.get("tests", []):
        tests.append({
            "name": t["id"],
            "status": STATUS.get(t.get("verdict"), "error"),
            "score": t["points"] if t.get("verdict") == Status.OK else 0,
            "message": verdict_text(t) if t.get("verdict") != Status.OK else "",
            "test_code": "make grade GRADEFLAGS=\"--test %s -v\"" % t["id"],
            "filename": "", "line_no": 0,
            "duration": int(round(t.get("seconds", 0.0) * 1000)),
        })
    for t in data.get("not_run", []):
        tests.append({"name": t["id"], "status": "error", "score": 0,
                      "message": "not run: %s" % data.get("setup_error"), "test_code": "",
                      "filename": "", "line_no": 0, "duration": 0})
    if data.get("setup_error") and not tests:
        tests.append({"name": "setup", "status": "error", "score": 0,
                      "message": "SETUP ERROR: %s" % data["setup_error"], "test_code": "make",
                      "filename": "", "line_no": 0, "duration": 0})
    statuses = {x["status"] for x in tests}
    status = ("error" if data.get("setup_error") or "error" in statuses else
              "fail" if "fail" in statuses else "pass")
    max_score = sum(t["points"] for t in data.get("tests", []) + data.get("not_run", []))
    return {"version": 1, "status": status, "max_score": max_score, "tests": tests}


def write(path, data):
    report.write_json(path, result(data))
