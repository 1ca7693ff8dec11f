"""The text a result file shows for a test (Gradescope's output, JUnit's
<failure> and <system-out>, Classroom's message): the verdict's reason and
details as the terminal shows them, and the end of the test's log."""

import os

LOG_MAX = 64 * 1024          # bytes of a test's log put into a result file
LINE_MAX = 500               # characters of one reason or detail line


def read_log(test, limit=LOG_MAX):
    """The end of a test's log (serial output and trailer), '' if none."""
    path = test.get("log")
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    if size > limit:
        text = "[... first %d bytes of the log left out ...]\n" % (size - limit) + text
    return text


def verdict_text(t):
    """The reason and details a test's verdict line shows on the terminal."""
    lines = ["%s: %s" % (t["id"], t.get("verdict", "not run"))]
    if t.get("reason"):
        lines.append("    " + _cut(t["reason"]))
    lines += ["      " + _cut(d) for d in t.get("details") or []]
    return "\n".join(lines)


def _cut(line):
    """A line of at most LINE_MAX characters (a flood can print a line of a
    megabyte, which the details quote)."""
    if len(line) <= LINE_MAX:
        return line
    return "%s ... (%d more characters)" % (line[:LINE_MAX], len(line) - LINE_MAX)
