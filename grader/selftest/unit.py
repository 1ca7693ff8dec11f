"""Unit tests of the trace parser, the matcher, verdicts and lab
declarations: pure Python, no QEMU."""

import json
import os
import tempfile
import unittest

from harness import contains, eq, kernel_facts, not_contains, raises

from strata_grader import labs as labsmod
from strata_grader.labs import LabError
from strata_grader.qemu import RunResult
from strata_grader.trace import (LineSplitter, Matcher, Pattern, TraceError, normalize,
                                 parse_trace, render_send)
from strata_grader.verdict import judge


def P(src):
    return Pattern(src)


def feed(trace_text, output, exit=None):
    """Run the matcher over output text (lines split like the runner)."""
    tr = parse_trace(trace_text, "t.trace")
    m = Matcher(tr)
    sp = LineSplitter()
    for ln, line in sp.feed(output.encode()):
        m.feed_line(ln, line)
    if m.wants_partial():
        m.feed_partial(*sp.partial)
    for ln, line in sp.finish():
        m.feed_line(ln, line)
    return m


# ---------------------------------------------------------------- placeholders


class Placeholders(unittest.TestCase):
    def test_literal_is_whole_line(self):
        eq(P("TEST boot: PASS").fullmatch("TEST boot: PASS"), {})
        eq(P("TEST boot: PASS").fullmatch("TEST boot: PASS!"), None)
        eq(P("TEST boot: PASS").fullmatch("xTEST boot: PASS"), None)
        eq(P("a.b*c(d)[e]").fullmatch("a.b*c(d)[e]"), {}, "regex metacharacters are literal")
        eq(P("a.b").fullmatch("axb"), None)

    def test_placeholder_hex(self):
        p = P("eip={hex} end")
        for ok in ("eip=0x0 end", "eip=0xC0100000 end", "eip=0xdeadBEEF end"):
            eq(p.fullmatch(ok), {}, ok)
        for bad in ("eip=c0100000 end", "eip=0x end", "eip=0xg end", "eip=-0x1 end"):
            eq(p.fullmatch(bad), None, bad)

    def test_placeholder_dec(self):
        p = P("n={dec}.")
        for ok in ("n=0.", "n=-42.", "n=4000000000."):
            eq(p.fullmatch(ok), {}, ok)
        for bad in ("n=.", "n=0x1.", "n=+1.", "n=1a."):
            eq(p.fullmatch(bad), None, bad)

    def test_placeholder_word_sym_any(self):
        eq(P("TEST {word}: PASS").fullmatch("TEST pf_read.v2: PASS"), {})
        eq(P("TEST {word}: PASS").fullmatch("TEST a b: PASS"), None)
        eq(P("TEST {word}: PASS").fullmatch("TEST : PASS"), None)
        s = P("  #0 {hex} {sym}")
        eq(s.fullmatch("  #0 0xc0101234 func+0x12"), {})
        eq(s.fullmatch("  #0 0xc0101234 _start"), {})
        eq(s.fullmatch("  #0 0xc0101234 9func"), None)
        eq(s.fullmatch("  #0 0xc0101234 func+0x1G"), None)
        eq(s.fullmatch("  #0 0xc0101234 func+12"), None)
        eq(P("a{any}b").fullmatch("ab"), {})
        eq(P("a{any}b").fullmatch("a x y b"), {})
        eq(P("{any}").fullmatch(""), {})

    def test_brace_escapes(self):
        eq(P("{{hex}} {{}}").fullmatch("{hex} {}"), {})
        eq(P("{{hex}}").fullmatch("0x1"), None)
        eq(P("struct {{ int x; }}").fullmatch("struct { int x; }"), {})
        eq(P("a}b").fullmatch("a}b"), {}, "a lone } is literal")

    def test_unknown_placeholder_is_an_error(self):
        e = raises(TraceError, parse_trace, "ok\nvalue {hexx}\n", "x.trace")
        contains(str(e), "x.trace:2")
        contains(str(e), "{hexx}")
        raises(TraceError, parse_trace, "value {hex\n")
        raises(TraceError, parse_trace, "value {hex:}\n")
        raises(TraceError, parse_trace, "value {word:X}\n", contains_text="unknown placeholder")


# ---------------------------------------------------------------- bindings


class Bindings(unittest.TestCase):
    def test_binding_same_value_required(self):
        m = feed("a={hex:A}\nb={=A}\n", "a=0xc0100000\nb=0xc0100001\nb=0xc0100000\n")
        assert m.done, "the later equal value should match"
        eq(m.matches[1][1], 3)
        eq(m.bindings["A"], ("hex", "0xc0100000"))

    def test_binding_mismatch_fails(self):
        m = feed("a={hex:A}\nb={=A}\n", "a=0x10\nb=0x11\nb=0x100\n")
        assert not m.done
        eq(m.waiting_for.ordinal, 2)

    def test_binding_compares_numbers(self):
        m = feed("a={hex:A}\nb={=A}\n", "a=0x00100000\nb=0x100000\n")
        assert m.done, "0x00100000 and 0x100000 are the same value"
        m = feed("a={hex:A}\nb={=A} end\n", "a=0xABC\nb=0xabc end\n")
        assert m.done, "hex case does not matter"
        m = feed("a={dec:N}\nb={=N}x\n", "a=-7\nb=-7x\n")
        assert m.done
        m = feed("a={dec:N}\nb={any}{=N}\n", "a=5\nb=15\n")
        assert not m.done, "5 must not match inside 15"
        m = feed("a={hex:A}\nb={=A}{any}\n", "a=0x10\nb=0x100\n")
        assert not m.done, "0x10 must not match a prefix of 0x100"

    def test_binding_repeated_in_one_line(self):
        m = feed("{hex:A} {=A}\n", "0x1 0x2\n0x5 0x5\n")
        assert m.done
        eq(m.matches[0][1], 2)
        m = feed("{hex:A} {hex:A}\n", "0x1 0x2\n")
        assert not m.done, "a second {hex:A} must equal the first"

    def test_binding_rebind_form_checks_value(self):
        m = feed("a={hex:A}\nb={hex:A}\n", "a=0x1\nb=0x2\nb=0x1\n")
        assert m.done
        eq(m.matches[1][1], 3)

    def test_binding_errors(self):
        raises(TraceError, parse_trace, "b={=A}\na={hex:A}\n", contains_text="before")
        raises(TraceError, parse_trace, "!x {hex:A}\n", contains_text="forbidden")
        raises(TraceError, parse_trace, "> x {=A}\n", contains_text="before")
        raises(TraceError, parse_trace, "> x {hex}\n", contains_text="only")

    def test_binding_ref_before_bind_on_same_line(self):
        # a ref must follow its bind on the line; caught when parsing, not when matching
        e = raises(TraceError, parse_trace, "got {=a} {hex:a}\n", "r.trace", contains_text="before")
        contains(str(e), "r.trace:1")
        m = feed("got {hex:a} {=a}\n", "got 0x1 0x1\n")
        assert m.done, "a ref after its bind on the same line is fine"

    def test_binding_in_send_line(self):
        tr = parse_trace("addr {hex:A}\n> x {=A} {{y}}\n")
        m = Matcher(tr)
        m.feed_line(1, "addr 0xc0100000")
        eq(m.take_outbox(), ["x 0xc0100000 {y}\r"])
        eq(render_send("{=Z}", {}), "{=Z}")


# ---------------------------------------------------------------- parsing


class Parsing(unittest.TestCase):
    def test_parse_structure(self):
        tr = parse_trace(
            "# comment\n\n@exit panic\n!forbidden thing\n  #0 {hex} {sym}\n> help\n~x+\n"
            "\\#not a comment\n\\!not forbidden\n>nospace\n>\n   \n", "p.trace")
        eq(tr.exit, "panic")
        eq([s.kind for s in tr.steps], ["expect", "send", "expect", "expect", "expect", "send", "send"])
        eq(tr.steps[0].pattern.source, "  #0 {hex} {sym}", "leading blanks are significant")
        eq(tr.steps[1].text, "help")
        eq(tr.steps[5].text, "nospace")
        eq(tr.steps[6].text, "")
        eq(tr.steps[3].pattern.source, "#not a comment")
        eq(tr.steps[4].pattern.source, "!not forbidden")
        eq([s.ordinal for s in tr.expects], [1, 2, 3, 4])
        eq([f.source for f in tr.forbidden], ["forbidden thing"])
        eq(tr.steps[0].lineno, 5)

    def test_parse_errors(self):
        raises(TraceError, parse_trace, "@exit maybe\n", contains_text="@exit takes")
        raises(TraceError, parse_trace, "@exit pass\n@exit fail\n", contains_text="second @exit")
        raises(TraceError, parse_trace, "@timeout 5\n", contains_text="unknown directive")
        raises(TraceError, parse_trace, "!\n", contains_text="empty")
        raises(TraceError, parse_trace, "~(unclosed\n", contains_text="bad regex")
        e = raises(TraceError, parse_trace, "a\nb\n~[\n", "r.trace")
        contains(str(e), "r.trace:3")

    def test_default_exit_is_pass(self):
        eq(parse_trace("x\n").exit, "pass")
        for ex in ("pass", "fail", "panic", "reset"):
            eq(parse_trace("@exit %s\n" % ex).exit, ex)

    def test_regex_lines(self):
        m = feed("~TEST \\w+: (PASS|FAIL)\n", "TEST a: PASS\n")
        assert m.done
        m = feed("~TEST \\w+: PASS\n", "TEST a: PASS now\n")
        assert not m.done, "a ~ regex must match the whole line"


# ---------------------------------------------------------------- matching


class Matching(unittest.TestCase):
    def test_order_with_other_output_between(self):
        m = feed("one\nthree\n", "zero\none\ntwo\nthree\nfour\n")
        assert m.done
        eq([ln for _, ln in m.matches], [2, 4])

    def test_order_is_enforced(self):
        m = feed("three\none\n", "one\ntwo\nthree\n")
        assert not m.done
        eq(m.waiting_for.pattern.source, "one")

    def test_one_output_line_matches_one_expected_line(self):
        m = feed("x\nx\n", "x\n")
        assert not m.done
        m = feed("x\nx\n", "x\ny\nx\n")
        assert m.done

    def test_normalisation(self):
        eq(normalize(b"TEST a: PASS  \r"), "TEST a: PASS")
        eq(normalize(b"\x1b[2J\x1b[1;1HStrata\x1b[0m ok"), "Strata ok")
        eq(normalize("tab\there\x07"), "tab\there")
        eq(normalize(b"caf\xc3\xa9 \xff"), "caf\u00e9 \ufffd")
        m = feed("TEST a: PASS\n", "TEST a: PASS \r\n")
        assert m.done

    def test_splitter_handles_chunks(self):
        sp = LineSplitter()
        got = []
        for chunk in (b"ab", b"c\r\nde", b"f\n\n", b"gh"):
            got += sp.feed(chunk)
        eq(got, [(1, "abc"), (2, "def"), (3, "")])
        eq(sp.partial, (4, "gh"))
        eq(sp.finish(), [(4, "gh")])
        eq(sp.finish(), [])

    def test_default_forbidden_depend_on_exit(self):
        out = "panic: boom\nTEST a: FAIL why\n"
        srcs = lambda m: [h[2].source for h in m.forbidden_hits]
        eq(srcs(feed("x\n", out)), ["panic:", "TEST {word}: FAIL"])
        eq(srcs(feed("@exit panic\nx\n", out)), ["TEST {word}: FAIL"])
        eq(srcs(feed("@exit fail\nx\n", out)), ["panic:"])
        eq(srcs(feed("x\n", "kernel panic: stopping\nmy panic: no\n")), [],
           "forbidden patterns match at the start of a line")

    def test_explicit_forbidden(self):
        m = feed("!page fault\n!{any}WARN\nok\n", "ok\npage fault: va=0x0\nx WARN y\npage\n")
        eq([(h[0], h[2].source) for h in m.forbidden_hits], [(2, "page fault"), (3, "{any}WARN")])
        m = feed("!~.*oops\n", "big oops\n")
        eq(len(m.forbidden_hits), 1)

    def test_second_test_pass_is_forbidden(self):
        m = feed("TEST a: PASS\n", "TEST a: PASS\nTEST a: PASS\n")
        eq([h[0] for h in m.forbidden_hits], [2])
        m = feed("TEST a: PASS\n", "TEST a: start\nTEST a: PASS\n")
        eq(m.forbidden_hits, [], "TEST a: start is not a PASS line")

    def test_terminal_lines_recognised(self):
        m = feed("x\n", "TEST a: start\nhello\n")
        eq(m.terminal, None)
        m = feed("x\n", "hello\nTEST a: FAIL out of memory\n")
        eq(m.terminal, (2, "TEST a: FAIL out of memory"))
        eq(m.test_lines[0][4], "out of memory")
        m = feed("x\n", "panic: bad\n")
        eq(m.terminal, (1, "panic: bad"))
        m = feed("x\n", "unknown test 'q'; known tests: a b\n")
        eq(m.unknown_test[2:], ("q", "a b"))

    def test_sends_happen_in_order(self):
        tr = parse_trace("> first\nbanner\n> help\n> memmap\nend\n> reboot\n")
        m = Matcher(tr)
        eq(m.take_outbox(), ["first\r"], "a send before any expected line goes at once")
        m.feed_line(1, "noise")
        eq(m.take_outbox(), [])
        m.feed_line(2, "banner")
        eq(m.take_outbox(), ["help\r", "memmap\r"])
        m.feed_line(3, "end")
        eq(m.take_outbox(), ["reboot\r"])
        assert m.done

    def test_prompt_without_newline(self):
        tr = parse_trace("K>\n> help\nhelp  list\nK>\n> reboot\n")
        m = Matcher(tr)
        sp = LineSplitter()
        for ln, l in sp.feed(b"banner\r\nK"):
            m.feed_line(ln, l)
        m.feed_partial(*sp.partial)
        eq(m.take_outbox(), [], "'K' is not the prompt yet")
        for ln, l in sp.feed(b"> "):
            m.feed_line(ln, l)
        m.feed_partial(*sp.partial)
        eq(m.take_outbox(), ["help\r"], "the prompt `K> ` matches before its line ends")
        for ln, l in sp.feed(b"help\r\nhelp  list\r\nK> "):
            m.feed_line(ln, l)
        m.feed_partial(*sp.partial)
        eq(m.take_outbox(), ["reboot\r"], "the echoed `K> help` did not count twice")
        eq([ln for _, ln in m.matches], [2, 3, 4])

    def test_partial_only_before_a_send(self):
        tr = parse_trace("K> {any}\nlast\n")
        m = Matcher(tr)
        m.feed_partial(1, "K> ")
        eq(m.pos, 0, "no partial matching unless a send follows")


# ---------------------------------------------------------------- verdicts


def result(trace_text, output, how="exit", status=None, debug_log="", stderr=b"", cpu=0.1, idle=0.0):
    tr = parse_trace(trace_text, "v.trace")
    if status is None:
        status = F.STATUS_PASS
    res = RunResult()
    res.matcher = m = Matcher(tr)
    res.how, res.status, res.debug_log, res.cpu, res.idle = how, status, debug_log, cpu, idle
    res.stderr = bytearray(stderr)
    res.output = bytearray(output.encode())
    for ln, line in res.splitter.feed(output.encode()):
        m.feed_line(ln, line)
    for ln, line in res.splitter.finish():
        m.feed_line(ln, line)
    return judge(res, tr, timeout=10.0, flood_limit=1 << 20, facts=F), res


F = None     # the kernel's facts


def setUpModule():
    global F
    F = kernel_facts()


class Verdicts(unittest.TestCase):
    def test_verdict_ok(self):
        v, _ = result("TEST a: PASS\n", "boot\nTEST a: PASS\n")
        eq(v.status, "OK")

    def test_verdict_exit_mismatch_quotes_test_fail_line(self):
        v, _ = result("TEST a: PASS\n", "boot\nTEST a: FAIL ppalloc returned 0\n",
                      status=F.STATUS_FAIL)
        eq(v.status, "FAIL")
        eq(v.reason, "kernel exited with status %d (test failed: ppalloc returned 0), expected "
           "pass" % F.STATUS_FAIL)
        contains("\n".join(v.details), "line 2: TEST a: FAIL ppalloc returned 0")
        v, _ = result("TEST a: PASS\n", "boot\nTEST a: FAIL\n", status=F.STATUS_FAIL)
        eq(v.reason, "kernel exited with status %d (test failed), expected pass" % F.STATUS_FAIL)
        v, _ = result("TEST a: PASS\n", "TEST a: FAIL " + "x" * 300 + "\n", status=F.STATUS_FAIL)
        contains(v.reason, "(test failed: " + "x" * 200)
        contains(v.reason, "x...), expected pass")
        self.assertLess(len(v.reason), 320)
        v, _ = result("@exit panic\nx\n", "x\nTEST a: PASS\n", status=F.STATUS_PASS)
        eq(v.reason, "kernel exited with status %d (test passed), expected panic" % F.STATUS_PASS)

    def test_verdict_panic_shows_message_and_backtrace(self):
        out = ("TEST a: start\npanic: out of frames\nbacktrace:\n  #0 0xc0101234 f+0x12\n"
               "  #1 0xc0105678 g+0x40\nkernel panic: stopping\nmore\n")
        v, _ = result("TEST a: PASS\n", out, status=F.STATUS_PANIC)
        eq(v.reason, "kernel panic: out of frames")
        d = "\n".join(v.details)
        contains(d, "line 2: panic: out of frames")
        contains(d, "line 4:   #0 0xc0101234 f+0x12")
        contains(d, "line 5:   #1 0xc0105678 g+0x40")
        not_contains(d, "more")

    def test_verdict_reset(self):
        v, _ = result("TEST a: PASS\n", "boot\n", status=0, debug_log="...\nTriple fault\n")
        eq(v.reason, "QEMU reset: triple fault (an exception with no working handler)")
        v, _ = result("TEST a: PASS\n", "boot\n", status=0)
        eq(v.reason, "QEMU reset (triple fault?)")
        v, _ = result("@exit reset\nboot\n", "boot\n", status=0)
        eq(v.status, "OK")
        v, _ = result("@exit reset\nboot\n", "boot\n", status=0, debug_log="Triple fault\n")
        eq(v.reason, "QEMU reset by a triple fault (an exception with no working handler), "
           "not by a reboot")
        v, _ = result("@exit triple\nboot\n", "boot\n", status=0, debug_log="Triple fault\n")
        eq(v.status, "OK")
        v, _ = result("@exit triple\nboot\n", "boot\n", status=0)
        eq(v.reason, "QEMU reset, but not by a triple fault")

    def test_verdict_mismatch_context(self):
        out = "".join("line %d\n" % i for i in range(1, 30))
        v, _ = result("line 3\nline 5x\n", out)
        eq(v.reason, "expected line 2 not found: `line 5x` (v.trace:2)")
        d = "\n".join(v.details)
        contains(d, "last matched: expected line 1 `line 3` at output line 3")
        contains(d, " 4| line 4")
        contains(d, "13| line 13")
        not_contains(d, "14| line 14")
        contains(d, "16 more line(s)")
        contains(d, "closest line")

    def test_verdict_mismatch_context_nothing_matched_shows_the_end(self):
        """No expected line matched: the first lines are the boot banner,
        the last ones where the kernel got to."""
        out = "".join("line %d\n" % i for i in range(1, 30)) + "[smp] 1 CPU online\n"
        v, _ = result("[smp] 4 CPUs online\n", out)
        eq(v.reason, "expected line 1 not found: `[smp] 4 CPUs online` (v.trace:1)")
        d = "\n".join(v.details)
        contains(d, "output after the start (its first and last lines):")
        contains(d, " 3| line 3")
        not_contains(d, " 4| line 4")
        contains(d, "... 20 line(s), see the log")
        contains(d, "24| line 24")
        contains(d, "30| [smp] 1 CPU online")
        not_contains(d, "23| line 23")

    def test_verdict_forbidden(self):
        v, _ = result("!oops\nTEST a: PASS\n", "x\noops: bad\nTEST a: PASS\n")
        eq(v.reason, "forbidden line at output line 2: `oops: bad`")
        contains(v.details[0], "`!oops`")
        # Two PASS lines: the framework's own is the last (it exits right
        # after), so the other one is named.
        v, _ = result("TEST a: PASS\n", "TEST a: PASS\nTEST a: PASS\n")
        eq(v.reason, "forbidden line at output line 1: `TEST a: PASS`")
        contains(v.details[0], "only one TEST PASS")

    def test_verdict_timeout_progress(self):
        v, _ = result("boot\nnever\n", "boot\n", how="timeout", status=None, cpu=10.0)
        eq(v.status, "TIMEOUT")
        contains(v.reason, "limit 10.0s CPU")
        contains(v.reason, "last expected line matched: `boot` (output line 1)")
        contains(v.reason, "waiting for: `never`")
        v, _ = result("boot\n", "", how="timeout", status=None, cpu=1.0, idle=9.0)
        contains(v.reason, "last expected line matched: none")
        contains(v.reason, "idle")
        contains("\n".join(v.details), "no output at all")
        v, _ = result("boot\n", "boot\n", how="timeout", status=None)
        contains(v.reason, "waiting for: QEMU to exit (expected exit: pass)")
        # a hang: the excerpt ends with the last line the kernel printed
        out = "boot\n" + "".join("line %d\n" % i for i in range(2, 40)) + "TEST x: start\n"
        v, _ = result("boot\nx: done\n", out, how="timeout", status=None, cpu=10.0)
        d = "\n".join(v.details)
        contains(d, "output after that line (its first and last lines):")
        contains(d, "40| TEST x: start")
        contains(d, " 4| line 4")
        not_contains(d, " 5| line 5")

    def test_verdict_exactly_once(self):
        tr = "=[smp] cpu 1 (apic {dec}) started\n=~\\[smp\\] [0-9]+ CPUs? online\nTEST a: PASS\n"
        v, _ = result(tr, "[smp] cpu 1 (apic 1) started\n[smp] 2 CPUs online\nTEST a: PASS\n")
        eq(v.status, "OK")
        v, _ = result(tr, "[smp] cpu 1 (apic 1) started\n[smp] cpu 1 (apic 1) started\n"
                      "[smp] 2 CPUs online\nTEST a: PASS\n")
        eq(v.status, "FAIL")
        eq(v.reason, "`[smp] cpu 1 (apic {dec}) started` printed 2 times (output lines 1, 2), "
           "expected once (v.trace:1)")
        v, _ = result(tr, "[smp] 2 CPUs online\n[smp] cpu 1 (apic 1) started\n[smp] 2 CPUs online\n"
                      "TEST a: PASS\n")
        contains(v.reason, "printed 2 times (output lines 1, 3)")
        v, _ = result(tr, "[smp] 2 CPUs online\nTEST a: PASS\n")
        contains(v.reason, "expected line 1 not found")
        raises(TraceError, parse_trace, "=x {dec:n}\n", contains_text="exactly-once")
        raises(TraceError, parse_trace, "=\n", contains_text="empty")
        eq(parse_trace("\\=x\n").expects[0].pattern.source, "=x")

    def test_verdict_flood_grace_unknown_qemu_error(self):
        v, _ = result("x\n", "a\n" * 10, how="flood", status=None)
        eq(v.reason, "output flood: more than 1 MiB of output")
        v, _ = result("TEST a: PASS\n", "TEST a: PASS\n", how="grace", status=None)
        contains(v.reason, "did not exit")
        v, _ = result("TEST a: PASS\n", "unknown test 'a'; known tests: b c\n",
                      status=F.STATUS_FAIL)
        eq(v.reason, "kernel has no test `a` (line 1); known tests: b c")
        v, _ = result("x\n", "", status=1, stderr=b"qemu-system-i386: -bad: invalid option\n")
        eq(v.reason, "QEMU exited with status 1: qemu-system-i386: -bad: invalid option")


# ---------------------------------------------------------------- labs


def write_labs(decls, traces=None):
    d = tempfile.mkdtemp(prefix="strata-selftest-labs-")
    for folder, decl in decls.items():
        os.makedirs(os.path.join(d, folder))
        with open(os.path.join(d, folder, "lab.json"), "w") as f:
            f.write(decl if isinstance(decl, str) else json.dumps(decl))
        for t in (decl.get("tests", []) if isinstance(decl, dict) else []):
            if isinstance(t, dict) and isinstance(t.get("trace"), str):
                with open(os.path.join(d, folder, t["trace"]), "w") as f:
                    f.write((traces or {}).get(t["trace"], "TEST x: PASS\n"))
    return d


def T(name, **kw):
    d = {"name": name, "points": 1, "cmdline": "test=" + name, "trace": name + ".trace"}
    d.update(kw)
    return d


class Labs(unittest.TestCase):
    def test_lab_defaults_and_sorting(self):
        d = write_labs({"lab2-b": {"lab": 2, "title": "b", "tests": [T("y")]},
                        "lab10-c": {"lab": 10, "title": "c", "tests": [T("z")]},
                        "lab1-a": {"lab": 1, "title": "a", "handout": "x.md", "tests": [
                            T("x", points=7), T("iso", cmdline="", boot="iso", timeout=20),
                            T("m", memory="16M", cpus=2, qemu_args=["-S"], timeout=2.5),
                            T("topo", cpus="6,sockets=2,cores=3")]},
                        "notalab": {"lab": 99}})
        labs = labsmod.discover(d)
        eq([l.number for l in labs], [1, 2, 10])
        x, iso, m, topo = labs[0].tests
        eq(topo.cpus, "6,sockets=2,cores=3")
        eq((x.points, x.memory, x.cpus, x.timeout, x.boot, x.qemu_args), (7, "128M", 1, 10.0, "kernel", []))
        eq((iso.boot, iso.timeout, iso.cmdline), ("iso", 20.0, ""))
        eq((m.memory, m.cpus, m.qemu_args, m.timeout), ("16M", 2, ["-S"], 2.5))
        eq(x.id, "lab1/x")
        eq(x.log_name, "lab1-x.log")
        eq(x.trace_file, os.path.join(d, "lab1-a", "x.trace"))

    def test_lab_validation_errors(self):
        cases = [
            ({"lab": 1, "tests": [T("a", timout=3)]}, "unknown key"),
            ({"lab": 1, "tests": [T("a", boot="iso")]}, "cmdline must be empty"),
            ({"lab": 1, "tests": [T("a", memory="lots")]}, "memory"),
            ({"lab": 1, "tests": [T("a", cpus=0)]}, "cpus"),
            ({"lab": 1, "tests": [T("a", cpus="6,sockets=2,cores=3 -S")]}, "cpus"),
            ({"lab": 1, "tests": [T("a", cpus="0,maxcpus=4")]}, "cpus"),
            ({"lab": 1, "tests": [T("a", cpus="4,bogus=2")]}, "cpus"),
            ({"lab": 1, "tests": [T("a", points=-1)]}, "points"),
            ({"lab": 1, "tests": [T("a", timeout=0)]}, "timeout"),
            ({"lab": 1, "tests": [T("a", qemu_args="-S")]}, "qemu_args"),
            ({"lab": 1, "tests": [T("a"), T("a")]}, "duplicate"),
            ({"lab": 1, "tests": [{"name": "a", "points": 1}]}, "missing 'trace'"),
            ({"lab": 2, "tests": [T("a")]}, "folder says lab 1"),
            ("{not json", "invalid JSON"),
        ]
        for decl, msg in cases:
            d = write_labs({"lab1-x": decl})
            raises(LabError, labsmod.discover, d, contains_text=msg)

    def test_lab_reruns(self):
        d = write_labs({"lab7-a": {"lab": 7, "tests": [T("x", timeout=4), T("y"), T("ps", cmdline=""),
                                                       {"name": "h", "points": 2, "host": "buddy"}]},
                        "lab8-b": {"lab": 8, "tests": [T("z", cpus=4)], "reruns": [
                            {"lab": 7, "prefix": "smp4.", "cpus": 4, "timeout_factor": 2,
                             "expect": ["smp: {dec} CPUs online"], "skip": {"ps": "ps lists 4 idle threads"}},
                            {"lab": 8, "prefix": "st.", "qemu_args": ["-accel", "tcg,thread=single"],
                             "points": 0}]}},
                       traces={"x.trace": "TEST x: start\nx: {dec:n} {=n}\nTEST x: PASS\n"})
        labs = labsmod.discover(d)
        eq([t.name for t in labs[0].tests], ["x", "y", "ps", "h"])
        eq([t.name for t in labs[1].tests], ["z", "smp4.x", "smp4.y", "st.z"])
        x = labs[1].tests[1]
        eq((x.cpus, x.timeout, x.cmdline, x.rerun_of, x.id), (4, 8.0, "test=x", labs[0].tests[0],
                                                              "lab8/smp4.x"))
        st = labs[1].tests[3]
        eq((st.cpus, st.qemu_args, st.points), (4, ["-accel", "tcg,thread=single"], 0))
        labsmod.load_traces(labs[1].tests)
        eq([s.pattern.source for s in x.trace.expects],
           ["smp: {dec} CPUs online", "TEST x: start", "x: {dec:n} {=n}", "TEST x: PASS"])
        eq([s.ordinal for s in x.trace.expects], [1, 2, 3, 4])
        eq(st.trace.expects[0].pattern.source, "TEST x: PASS")
        for bad, msg in [({"lab": 9, "prefix": "a."}, "comes after"),
                         ({"lab": 6, "prefix": "a."}, "no lab 6"),
                         ({"lab": 7}, "missing 'prefix'"),
                         ({"lab": 7, "prefix": "a.", "skip": {"nope": "why"}}, "skip names"),
                         ({"lab": 7, "prefix": "a.", "cpus": "4 -S"}, "cpus"),
                         ({"lab": 7, "prefix": "a.", "tiemout_factor": 2}, "unknown key"),
                         ({"lab": 7, "prefix": ""}, "prefix")]:
            d = write_labs({"lab7-a": {"lab": 7, "tests": [T("x")]},
                            "lab8-b": {"lab": 8, "tests": [T("z")], "reruns": [bad]}})
            raises(LabError, labsmod.discover, d, contains_text=msg)
        d = write_labs({"lab7-a": {"lab": 7, "tests": [T("x")]},
                        "lab8-b": {"lab": 8, "tests": [T("z")], "reruns": [
                            {"lab": 7, "prefix": "s.", "expect": ["x: {dec:n}"]}]}},
                       traces={"x.trace": "x: {dec:n}\n"})
        labs = labsmod.discover(d)
        raises(LabError, labsmod.load_traces, labs[1].tests, contains_text="binds n")

    def test_lab_selection(self):
        d = write_labs({"lab1-a": {"lab": 1, "tests": [T("boot"), T("x")]},
                        "lab2-b": {"lab": 2, "tests": [T("boot"), T("y")]},
                        "lab3-c": {"lab": 3, "tests": [T("z")]}})
        labs = labsmod.discover(d)
        ids = lambda ts: [t.id for t in ts]
        eq(ids(labsmod.select(labs)), ["lab1/boot", "lab1/x", "lab2/boot", "lab2/y", "lab3/z"])
        eq(ids(labsmod.select(labs, branch_lab=2)), ["lab1/boot", "lab1/x", "lab2/boot", "lab2/y"])
        eq(ids(labsmod.select(labs, lab=2, branch_lab=1)), ["lab2/boot", "lab2/y"])
        eq(ids(labsmod.select(labs, upto=1, branch_lab=3)), ["lab1/boot", "lab1/x"])
        eq(ids(labsmod.select(labs, tests=["boot"])), ["lab1/boot", "lab2/boot"])
        eq(ids(labsmod.select(labs, tests=["lab2/boot", "z"])), ["lab2/boot", "lab3/z"])
        eq(ids(labsmod.select(labs, tests=["z"], branch_lab=1)), ["lab3/z"],
           "--test looks beyond the branch's lab")
        raises(LabError, labsmod.select, labs, lab=7, contains_text="no lab 7")
        raises(LabError, labsmod.select, labs, tests=["nope"], contains_text="no test 'nope'")
        raises(LabError, labsmod.select, labs, tests=["nope"], contains_text="among: lab1/boot")

    def test_select_unknown_test_among_many_names_the_closest(self):
        tests = [T("smp_boot"), T("smp_online_sparse"), T("smp_boot_mp")] + \
            [T("t%02d" % i) for i in range(30)]
        labs = labsmod.discover(write_labs({"lab8-a": {"lab": 8, "tests": tests}}))
        try:
            labsmod.select(labs, tests=["smp_boot_apic_gaps"])
        except LabError as e:
            msg = str(e)
        contains(msg, "no test 'smp_boot_apic_gaps'; closest: smp_boot")
        contains(msg, "smp_boot_mp")
        contains(msg, "(--list lists all 33)")
        not_contains(msg, "t07")

    def test_trace_errors_reported_together(self):
        d = write_labs({"lab1-a": {"lab": 1, "tests": [T("a"), T("b")]}},
                       {"a.trace": "{bad}\n", "b.trace": "@exit never\n"})
        tests = labsmod.select(labsmod.discover(d))
        e = raises(LabError, labsmod.load_traces, tests)
        contains(str(e), "lab1/a")
        contains(str(e), "a.trace:1")
        contains(str(e), "lab1/b")


# ---------------------------------------------------------------- host tests


def host_result(output, status=0):
    from strata_grader.hosttest import judge_host
    from strata_grader.status import Ended
    res = RunResult()
    res.how, res.status, res.output = Ended.EXIT, status, bytearray(output.encode())
    return judge_host(res, 60.0)


class HostTests(unittest.TestCase):
    def test_host_test_declarations(self):
        d = write_labs({"lab2-b": {"lab": 2, "title": "b", "tests": [
            T("y"), {"name": "host_buddy", "points": 20, "host": "buddy"},
            {"name": "host_fmt", "points": 5, "host": "fmt", "given": True, "timeout": 5}]}})
        y, hb, hf = labsmod.discover(d)[0].tests
        eq((hb.host, hb.points, hb.timeout, hb.given, hb.trace_file), ("buddy", 20, 60.0, False, ""))
        eq((hf.host, hf.timeout, hf.given, y.host, y.given), ("fmt", 5.0, True, None, False))
        labsmod.load_traces([y, hb, hf])
        eq(hb.trace, None, "a host test has no trace")
        for bad, text in (({"host": "buddy", "trace": "x.trace"}, "a host test takes only"),
                          ({"host": "Buddy!"}, "host must name a host test"),
                          ({"host": "buddy", "given": "yes"}, "given must be true or false")):
            d = write_labs({"lab2-b": {"lab": 2, "tests": [{"name": "h", "points": 1, **bad}]}})
            raises(LabError, labsmod.discover, d, contains_text=text)

    def test_host_test_verdicts(self):
        ok = ("Running suite(s): buddy\n"
              "tests/test_buddy.c:310:P:core:test_strerror:0: Passed\n"
              "100%: Checks: 1, Failures: 0, Errors: 0\n")
        eq(host_result(ok).status, "OK")
        bad = ("Running suite(s): buddy\n"
               "94%: Checks: 18, Failures: 1, Errors: 1\n"
               "/abs/pristine/tests/test_buddy.c:480:F:core:test_alloc_bad_args:0: Assertion "
               "'buddy_alloc(w->b, 64, (size_t)-1, &start) == 64' failed: buddy_alloc(...) == 0\n"
               "/abs/pristine/tests/test_buddy.c:500:E:core:test_exhaustion:0: (after this point) "
               "Received signal 11 (Segmentation fault)\n")
        v = host_result(bad, status=1)
        eq(v.status, "FAIL")
        eq(v.reason, "test_alloc_bad_args: Assertion 'buddy_alloc(w->b, 64, (size_t)-1, &start) "
                     "== 64' failed: buddy_alloc(...) == 0 (tests/test_buddy.c:480)")
        contains("\n".join(v.details), "test_exhaustion: (after this point) Received signal 11")
        contains("\n".join(v.details), "94%: Checks: 18, Failures: 1, Errors: 1")
        v = host_result("Running suite(s): x\n", status=-9)
        eq(v.status, "FAIL")
        contains(v.reason, "killed by signal 9")
        v = host_result("Running suite(s): x\n", status=0)
        contains(v.reason, "printed no Check summary")


class PanicLead(unittest.TestCase):
    def test_panic_details_show_the_lines_that_led_to_it(self):
        out = ("[boot] ...\nTEST t: start\nt: reading 0xdeadb000\n"
               "page fault: va=0xdeadb000 eip=0xc0101a2e err=0x0 [read kernel not-present]\n"
               "panic: unhandled page fault at va 0xdeadb000\nbacktrace:\n"
               "  #0 0xc0101a2e f+0x12\nkernel panic: stopping\n")
        v, _ = result("TEST t: PASS\n", out, status=37)
        eq(v.reason, "kernel panic: unhandled page fault at va 0xdeadb000")
        eq(v.details[:3], ["line 3: t: reading 0xdeadb000",
                           "line 4: page fault: va=0xdeadb000 eip=0xc0101a2e err=0x0 "
                           "[read kernel not-present]",
                           "line 5: panic: unhandled page fault at va 0xdeadb000"])
        not_contains("\n".join(v.details), "TEST t: start")
