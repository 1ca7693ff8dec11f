"""The per-run nonce: every kernel test run gets `nonce=HEX` on its command
line, and the kernel's test framework (src/kernel/ktest.c) ends the test's
final TEST line (PASS, FAIL or PANIC) with ` nonce=HEX`.  A run passes only
if the last such line carries this run's nonce, so output recorded from
another run (a kernel that prints a transcript) fails.  What this does and
does not stop is in README.md, "For instructors"."""

import re
import secrets

# A final line of the test framework, with the nonce split off.
FINAL_LINE = re.compile(r"TEST [A-Za-z0-9_.]+: (?:PASS|FAIL|PANIC)(?:\s|$)")
_TOKEN = re.compile(r"^(.*?) nonce=(\S*)$")
_TEST_WORD = re.compile(r"(?:^| )test=")


def new():
    return secrets.token_hex(8)


def applies(boot, cmdline, exit_kind):
    """Runs that go through the test framework and end by its final line."""
    return (boot == "kernel" and bool(_TEST_WORD.search(cmdline or ""))
            and exit_kind in ("pass", "fail", "panic"))


def cmdline(base, value):
    """The nonce goes first, so traces that match the end of the command
    line (`[boot] cmdline: '{any}test=boot'`) are unchanged."""
    return ("nonce=%s %s" % (value, base)).rstrip()


def split(line):
    """(line without its ` nonce=...` suffix, the nonce or None) for a final
    TEST line; (line, None) for any other line."""
    if not FINAL_LINE.match(line):
        return line, None
    m = _TOKEN.match(line)
    if m:
        return m.group(1), m.group(2)
    return line, None


def check(finals, value):
    """finals: [(lineno, line, nonce or None)] of the run's final TEST lines.
    None if the last one carries `value`, else (reason, details)."""
    if not finals:
        return ("no final `TEST NAME: PASS|FAIL|PANIC nonce=...` line: the test did not end "
                "through the course's test framework (src/kernel/ktest.c)", [])
    lineno, line, got = finals[-1]
    where = ["line %d: %s" % (lineno, line + (" nonce=%s" % got if got is not None else ""))]
    if got is None:
        return ("the final TEST line carries no nonce: the kernel's test framework is not the "
                "course's src/kernel/ktest.c", where)
    if got != value:
        return ("the final TEST line carries nonce=%s, not this run's nonce=%s: the output was "
                "not produced by this run (a recorded transcript?)" % (got, value), where)
    return None
