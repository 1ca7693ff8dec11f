"""Judging one run: from a RunResult and its trace to a verdict with a
specific reason."""

import difflib
import re
from dataclasses import dataclass, field

from . import nonce as noncemod
from .facts import status_meaning
from .qemu import GRACE, INPUT_WAIT
from .status import Ended, Exit, Status

CONTEXT_LINES = 10
REASON_MAX = 240    # characters of a kernel's FAIL reason quoted in the one-line reason


@dataclass
class Verdict:
    """A test's verdict with its one-line reason and detail lines."""
    status: Status
    reason: str = ""
    details: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.status = Status(self.status)
        self.details = list(self.details)

    @property
    def ok(self):
        return self.status == Status.OK

    def __repr__(self):
        return "Verdict(%s, %r)" % (self.status, self.reason)


def q(text):
    """Quote a line/pattern for a reason."""
    return "`%s`" % text


def expected_status(exit, facts):
    """The QEMU exit status a trace's @exit means (the values are the
    kernel's: facts.py)."""
    return {Exit.PASS: facts.STATUS_PASS, Exit.FAIL: facts.STATUS_FAIL,
            Exit.PANIC: facts.STATUS_PANIC, Exit.RESET: 0, Exit.TRIPLE: 0}[exit]


def describe_status(status, facts):
    if status is None:
        return "did not exit"
    if status < 0:
        return "killed by signal %d" % -status
    return status_meaning(facts).get(status, "unknown status")


def numbered(lines, first, last):
    """Lines first..last (1-based, inclusive) numbered."""
    width = len(str(max(last, 1)))
    return ["%*d| %s" % (width, n, lines[n - 1]) for n in range(first, last + 1)]


def _tail(lines, n=5):
    if not lines:
        return ["(no output at all)"]
    first = max(1, len(lines) - n + 1)
    return ["last output lines:"] + ["  " + s for s in numbered(lines, first, len(lines))]


def _progress(matcher):
    lm = matcher.last_match
    if lm:
        last = "%s (output line %d)" % (q(lm[0].pattern.source), lm[1])
    else:
        last = "none"
    step = matcher.waiting_for
    if step is None:
        waiting = "QEMU to exit (expected exit: %s)" % matcher.trace.exit
    elif step.kind == "expect":
        waiting = "%s (expected line %d, %s:%d)" % (
            q(step.pattern.source), step.ordinal, _base(step.pattern.path or matcher.trace.path),
            step.lineno)
    else:
        waiting = "sending %s" % q(step.text)
    return last, waiting


def _base(path):
    return str(path).replace("\\", "/").rsplit("/", 1)[-1]


HEAD_LINES = 3      # of a long excerpt that ends with the output's last lines


def _mismatch_details(res, tail=False):
    """Context for 'expected line N not found'. tail: the last output lines
    matter most (a timeout: where the kernel stopped); so they do when no
    expected line matched at all (the first lines are the boot banner)."""
    matcher, lines = res.matcher, res.lines
    lm = matcher.last_match
    after = lm[1] if lm else 0
    out = []
    if lm:
        out.append("last matched: expected line %d %s at output line %d"
                   % (lm[0].ordinal, q(lm[0].pattern.source), lm[1]))
    rest = len(lines) - after
    if rest <= 0:
        out.append("no output after %s" % ("that line" if lm else "the start") +
                   (" (no output at all)" if not lines else ""))
    elif (tail or not lm) and rest > CONTEXT_LINES:
        out.append("output after %s (its first and last lines):"
                   % ("that line" if lm else "the start"))
        first_tail = len(lines) - (CONTEXT_LINES - HEAD_LINES) + 1
        out += ["  " + s for s in numbered(lines, after + 1, after + HEAD_LINES)]
        out.append("  ... %d line(s), see the log" % (first_tail - after - HEAD_LINES - 1))
        out += ["  " + s for s in numbered(lines, first_tail, len(lines))]
    else:
        out.append("output after %s:" % ("that line" if lm else "the start"))
        last = min(len(lines), after + CONTEXT_LINES)
        out += ["  " + s for s in numbered(lines, after + 1, last)]
        if len(lines) > last:
            out.append("  ... %d more line(s), see the log" % (len(lines) - last))
    if rest > 0:
        # closest candidate line
        step = matcher.waiting_for
        want = step.pattern.literal_text() if step is not None and step.kind == "expect" else ""
        if want.strip():
            best, best_n = 0.0, None
            for n in range(after + 1, min(len(lines), after + 5000) + 1):
                sm = difflib.SequenceMatcher(None, want, lines[n - 1], autojunk=False)
                if sm.real_quick_ratio() <= best or sm.quick_ratio() <= best:
                    continue
                r = sm.ratio()
                if r > best:
                    best, best_n = r, n
            if best_n is not None and best >= 0.6:
                out.append("closest line %d: %s" % (best_n, q(lines[best_n - 1])))
    return out


LEAD_LINES = 3


def _panic_details(res, lines):
    """The panic line, the lines that led to it (what the kernel printed
    just before: the decoded `page fault: ...` line of an unhandled fault,
    the test's last step), and the backtrace after it."""
    pl = res.matcher.panic_line
    first = max(1, pl[0] - LEAD_LINES)
    for n in range(pl[0] - 1, first - 1, -1):
        if re.match(r"TEST \S+: start$", lines[n - 1]):
            first = n + 1       # nothing from before the test began
            break
    out = ["line %d: %s" % (n, lines[n - 1]) for n in range(first, pl[0])]
    out.append("line %d: %s" % pl)
    for n in range(pl[0] + 1, min(len(lines), pl[0] + 30) + 1):
        text = lines[n - 1]
        if text.lstrip().startswith("#") or text.lstrip().lower().startswith("backtrace"):
            out.append("line %d: %s" % (n, text))
        elif n > pl[0] + 2:
            break
    return out


ONE_PASS = "default: only one TEST PASS line"


def _fake_pass(m, nonce):
    """(lineno, line) of a PASS line that is not the test framework's own.
    Its own is the one carrying this run's nonce, else the last (the
    framework exits right after it): a fake printed earlier, inside another
    test, is the one to name, not the genuine line after it."""
    passes = [(t[0], t[1]) for t in m.test_lines if t[3] == "PASS"]
    genuine = passes[-1][0]
    if nonce is not None:
        carrying = [ln for ln, _, token in m.finals if token == nonce]
        if carrying:
            genuine = carrying[-1]
    return next((p for p in passes if p[0] != genuine), passes[0])


def _loader_failed(lines):
    """GRUB refused the kernel (tools/grub.cfg): its own error is the reason."""
    errors = [l.strip() for l in lines if l.strip().startswith("error:")]
    reason = "GRUB could not load the kernel"
    if errors:
        reason += ": " + errors[0][len("error:"):].strip()
        if "multiboot header" in errors[0]:
            reason += " (the kernel's multiboot header is missing or wrong)"
    return Verdict(Status.FAIL, reason, errors[1:] + _tail(lines))


def judge(res, trace, *, timeout, flood_limit, facts, grace=GRACE, nonce=None):
    """nonce: this run's nonce, when its final TEST line must carry it."""
    m = res.matcher
    lines = res.lines
    exp = trace.exit
    if res.how == Ended.ERROR:
        return Verdict(Status.ERROR, res.error or "QEMU could not be started")
    if res.how == Ended.INTERRUPTED:
        return Verdict(Status.ERROR, "interrupted")
    if res.how == Ended.FLOOD:
        lim = flood_limit
        size = ("%d MiB" % (lim >> 20)) if lim % (1 << 20) == 0 else ("%d bytes" % lim)
        return Verdict(Status.FAIL, "output flood: more than %s of output" % size,
                       ["(killed after %d lines; a print loop that never ends?)" % len(lines)]
                       + _tail(lines, 3))
    if res.how in (Ended.TIMEOUT, Ended.WALL):
        last, waiting = _progress(m)
        if res.how == Ended.TIMEOUT:
            limit = "limit %.1fs CPU" % timeout
            if res.idle > 0.25 * timeout:
                limit += ": %.2fs CPU + %.2fs idle — guest halted or waiting for input" % (
                    res.cpu, res.idle)
        else:
            limit = ("wall-clock safety limit %.0fs reached after only %.1fs CPU "
                     "— host overloaded or QEMU stopped?" % (res.wall, res.cpu))
        details = []
        if m.panic_line:
            details += ["the kernel panicked and did not exit:"] + _panic_details(res, lines)
        step = m.waiting_for
        if step is not None and step.kind == "expect" and lines:
            details += _mismatch_details(res, tail=True)
        else:
            details += _tail(lines)
        return Verdict(Status.TIMEOUT, "timed out (%s) — last expected line matched: %s, waiting for: %s"
                       % (limit, last, waiting), details)
    if res.how == Ended.INPUT:
        last, waiting = _progress(m)
        return Verdict(Status.FAIL, "the kernel sits at its prompt %s waiting for input (idle "
                       "%.1fs), but the trace sends nothing more before: %s"
                       % (q(res.prompt), INPUT_WAIT, waiting),
                       ["last expected line matched: %s" % last] + _mismatch_details(res))
    if res.how == Ended.GRACE:
        t = m.terminal
        return Verdict(Status.FAIL, "kernel printed %s (line %d) but QEMU did not exit within %.1fs CPU "
                       "(isa-debug-exit at port 0x%x not written?)"
                       % (q(t[1]), t[0], grace, facts.DEBUG_EXIT_PORT),
                       _tail(lines, 3))
    status = res.status
    if status is None or status < 0:
        return Verdict(Status.FAIL, "QEMU %s" % describe_status(status, facts), _tail(lines, 3))
    if status not in status_meaning(facts):
        err = res.stderr.decode("utf-8", "replace").strip().splitlines()
        if status == 1 and err and "without PVH ELF Note" in err[-1]:
            # QEMU's words for a kernel whose multiboot header it did not find
            return Verdict(Status.FAIL, "the kernel has no valid multiboot header (magic "
                           "0x1BADB002, flags, checksum) in its first 8 KiB, so QEMU could "
                           "not boot it", ["qemu stderr: " + e for e in err[-3:]])
        if status == 1 and err:
            return Verdict(Status.FAIL, "QEMU exited with status 1: %s" % err[-1],
                           ["qemu stderr: " + e for e in err[-6:-1]])
        return Verdict(Status.FAIL, "QEMU exited with status %d (%s)" % (
            status, "isa-debug-exit value %d" % (status >> 1) if status & 1 else "unknown"),
            ["qemu stderr: " + e for e in err[-5:]] + _tail(lines, 3))
    if status == getattr(facts, "STATUS_LOADER", None):
        return _loader_failed(lines)
    want = expected_status(exp, facts)
    progress = []
    if not m.done:
        last, waiting = _progress(m)
        progress = ["(trace progress — last expected line matched: %s, waiting for: %s)" % (last, waiting)]
    # unexpected panic
    if m.panic_line and exp != Exit.PANIC:
        return Verdict(Status.FAIL, "kernel panic: %s" % m.panic_line[1][len("panic:"):].strip(),
                       _panic_details(res, lines) +
                       (["QEMU exited with status %d (%s)" % (status, describe_status(status, facts))]
                        if status != facts.STATUS_PANIC else []))
    # unexpected reset; "reset" is a reboot, "triple" a triple fault
    triple = "Triple fault" in res.debug_log
    if status == 0 and exp not in (Exit.RESET, Exit.TRIPLE):
        if triple:
            reason = "QEMU reset: triple fault (an exception with no working handler)"
        else:
            reason = "QEMU reset (triple fault?)"
        return Verdict(Status.FAIL, reason, (progress if m.matches else []) + _tail(lines))
    if status == 0 and exp == Exit.RESET and triple:
        return Verdict(Status.FAIL, "QEMU reset by a triple fault (an exception with no working "
                       "handler), not by a reboot", (progress if m.matches else []) + _tail(lines))
    if status == 0 and exp == Exit.TRIPLE and not triple:
        return Verdict(Status.FAIL, "QEMU reset, but not by a triple fault", _tail(lines))
    # unknown test name
    if m.unknown_test and exp != Exit.FAIL:
        ut = m.unknown_test
        return Verdict(Status.FAIL, "kernel has no test %s (line %d); known tests: %s"
                       % (q(ut[2]), ut[0], ut[3] or "none"))
    if status != want:
        details = []
        fails = [t for t in m.test_lines if t[3] == "FAIL"]
        why = ""
        if fails and fails[0][4].strip() and status == facts.STATUS_FAIL:
            # the kernel's own reason, which names what went wrong
            why = fails[0][4].strip()
            why = ": " + (why if len(why) <= REASON_MAX else why[:REASON_MAX - 3] + "...")
        for t in (fails or m.test_lines)[:3]:
            details.append("line %d: %s" % (t[0], t[1]))
        if not m.test_lines and not m.panic_line:
            details.append("(no TEST line in the output)")
            details += _tail(lines, 3)
        if m.panic_line:
            details += _panic_details(res, lines)
        return Verdict(Status.FAIL, "kernel exited with status %d (%s%s), expected %s"
                       % (status, describe_status(status, facts), why, exp),
                       details + (progress if not m.test_lines and not m.panic_line else []))
    if m.forbidden_hits:
        n, line, fb = m.forbidden_hits[0]
        if fb.default and fb.why == ONE_PASS:
            n, line = _fake_pass(m, nonce)
        why = " (%s)" % fb.why if fb.default else ""
        details = ["forbidden by %s%s" % (q("!" + fb.source), why)]
        if len(m.forbidden_hits) > 1:
            details.append("%d more forbidden line(s)" % (len(m.forbidden_hits) - 1))
        return Verdict(Status.FAIL, "forbidden line at output line %d: %s" % (n, q(line)),
                       details + progress)
    twice = [(st, ns) for st, ns in m.once_hits.items() if len(ns) > 1]
    if twice:
        st, ns = min(twice, key=lambda x: x[1][1])
        return Verdict(Status.FAIL, "%s printed %d times (output lines %s), expected once "
                       "(%s:%d)" % (q(st.pattern.source), len(ns), ", ".join(map(str, ns[:5])),
                                    _base(st.pattern.path or trace.path), st.lineno),
                       progress)
    if not m.done:
        step = m.waiting_for
        if step.kind == "expect":
            return Verdict(Status.FAIL, "expected line %d not found: %s (%s:%d)"
                           % (step.ordinal, q(step.pattern.source),
                              _base(step.pattern.path or trace.path), step.lineno),
                           _mismatch_details(res))
        return Verdict(Status.FAIL, "QEMU exited before %s was sent" % q(step.text))
    if nonce is not None:
        bad = noncemod.check(m.finals, nonce)
        if bad:
            return Verdict(Status.FAIL, bad[0], bad[1])
    return Verdict(Status.OK)
