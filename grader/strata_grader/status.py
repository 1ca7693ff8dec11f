"""The grader's vocabularies, defined once: how a QEMU run ended (the
JSON's `ended`), the verdicts, and the trace's expected exits.  Each is a
StrEnum, so a member equals, prints and serialises as its plain string
("exit", "OK", "pass"): the JSON results and the logs read as before, and
tools that read the JSON (tools/labgen/validate.py) compare plain strings."""

from enum import StrEnum


class Ended(StrEnum):
    """How one QEMU run ended (RunResult.how; `ended` in the JSON)."""
    EXIT = "exit"                 # QEMU exited; RunResult.status is its status
    TIMEOUT = "timeout"           # the test's CPU-time limit
    WALL = "wall"                 # the wall-clock safety limit
    FLOOD = "flood"               # too much output
    GRACE = "grace"               # a TEST/panic line, but QEMU did not exit
    INPUT = "input"               # idle at its prompt, nothing left to send
    ERROR = "error"               # QEMU could not be started
    INTERRUPTED = "interrupted"   # the grader got a signal


# The log trailer's `end:` line for the ways a run is ended by the grader
# (EXIT's line names the status; INPUT's is its plain name).
ENDED_TEXT = {
    Ended.TIMEOUT: "killed: timeout",
    Ended.WALL: "killed: wall-clock safety limit",
    Ended.FLOOD: "killed: output flood",
    Ended.GRACE: "killed: no exit after the TEST/panic line",
    Ended.ERROR: "not started",
    Ended.INTERRUPTED: "killed: grader interrupted",
}


class Status(StrEnum):
    """A test's verdict."""
    OK = "OK"
    FAIL = "FAIL"
    TIMEOUT = "TIMEOUT"
    ERROR = "ERROR"


class Exit(StrEnum):
    """A trace's `exit:` line: how the kernel is expected to end."""
    PASS = "pass"
    FAIL = "fail"
    PANIC = "panic"
    RESET = "reset"               # a reboot
    TRIPLE = "triple"             # a triple fault (QEMU resets too)
