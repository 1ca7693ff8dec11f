"""Trace files: parsing, pattern compilation and the streaming matcher.

Pure Python, no QEMU: everything here is unit-tested by grader/selftest.
The format is documented in grader/README.md ("Trace format").
"""

import re
import re._constants as _sre
import re._parser as _sre_parse
import warnings
from dataclasses import dataclass, field

from . import nonce as noncemod
from .status import Exit

EXITS = tuple(Exit)

# Placeholder name -> regex (without groups).
PLACEHOLDERS = {
    "hex": r"0x[0-9a-fA-F]+",
    "dec": r"-?[0-9]+",
    "word": r"[A-Za-z0-9_.]+",
    "sym": r"[A-Za-z_][A-Za-z0-9_]*(?:\+0x[0-9a-f]+)?",
    "any": r".*",
}
BINDABLE = ("hex", "dec")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_BRACE = re.compile(r"\{(?:(%s)|(%s):(%s)|=(%s))\}" % (
    "|".join(PLACEHOLDERS), "|".join(BINDABLE), _NAME, _NAME))
# Tokens of a send (`>`) line: {{, }}, {=NAME} (group 1) or any other {...}.
_SEND_TOKEN = re.compile(r"\{\{|\}\}|\{=(%s)\}|\{[^{}]*\}" % _NAME)

# Lines the grader recognises in any output (independent of the trace).
TEST_LINE = re.compile(r"TEST ([A-Za-z0-9_.]+): (PASS|FAIL)(?:\s+(.*))?$")
PANIC_LINE = re.compile(r"panic:")
UNKNOWN_TEST_LINE = re.compile(r"unknown test '([^']*)'; known tests:\s*(.*)$")

# Output normalisation: ANSI escape sequences and control characters go,
# trailing whitespace goes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_CTRL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def normalize(raw):
    """bytes or str of one output line (without '\\n') -> text to match."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    return _CTRL.sub("", _ANSI.sub("", raw)).rstrip()


class TraceError(Exception):
    """A malformed trace; str() includes file and line."""

    def __init__(self, msg, path=None, lineno=None):
        self.path, self.lineno = path, lineno
        where = ""
        if path is not None:
            where = "%s:%s: " % (path, lineno) if lineno else "%s: " % path
        super().__init__(where + msg)


def _unbound_ref(name, path, lineno):
    """The error for a {=NAME} that no earlier {hex:NAME}/{dec:NAME} bound."""
    return TraceError("{=%s} used before {hex:%s} or {dec:%s} bound it" % (name, name, name),
                      path, lineno)


def _value_regex(kind, text):
    """Regex matching any spelling of the same number as `text`."""
    if kind == "hex":
        digits = format(int(text, 16), "x")
        body = "".join("[%s%s]" % (c, c.upper()) if c.isalpha() else c for c in digits)
        return r"(?<![0-9A-Za-z_])0[xX]0*%s(?![0-9a-fA-F])" % body
    value = int(text)
    if value == 0:
        return r"(?<![0-9])-?0+(?![0-9])"
    return r"(?<![0-9])%s0*%d(?![0-9])" % ("-" if value < 0 else "", abs(value))


# `~` regexes: the largest repeat count accepted, and the repeats whose
# nesting makes Python's backtracking matcher take exponential time.
REPEAT_MAX = 1000
_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT) + (
    (_sre.POSSESSIVE_REPEAT,) if hasattr(_sre, "POSSESSIVE_REPEAT") else ())


BROAD_MAX = 2		# repeats of "any character" (.*, {any}) in one pattern
LINE_MATCH_MAX = 4096	# characters of an output line the patterns see


def _broad(tree):
    """Whether a repeated item can match (almost) any character: the ones
    that make several repeats in a row try every way to share a line."""
    if len(tree) != 1:
        return False
    op, av = tree[0]
    return (op == _sre.ANY or op == _sre.NOT_LITERAL or
            (op == _sre.IN and any(o == _sre.NEGATE for o, _ in av)))


def _count_broad(tree):
    n = 0
    for op, av in tree:
        if op in _REPEATS:
            n += (av[1] > 1 and _broad(av[2])) + _count_broad(av[2])
        elif op == _sre.SUBPATTERN:
            n += _count_broad(av[-1])
        elif op == _sre.BRANCH:
            n += max(_count_broad(alt) for alt in av[1])
    return n


def regex_problem(source):
    """Why a `~` regex is refused, or None. Python's re has no time limit:
    a repeat inside a repeat (`(.*)*X`, `(a+)+`) can take exponential time
    on one output line and hang the grader, so can alternatives inside a
    repeat (`(a|aa)+`), and a huge count (`a{99999999999}`) overflows. Such
    regexes are refused when the trace is read (a SETUP ERROR with file and
    line); what is left has no nested repetition and matches in polynomial
    time."""
    try:
        with warnings.catch_warnings():	# "Possible nested set": Python's, not ours
            warnings.simplefilter("ignore", FutureWarning)
            tree = _sre_parse.parse(source)
            re.compile(source)
    except (re.error, OverflowError, RecursionError, ValueError) as e:
        return str(e)
    problem = _nesting_problem(tree, False)
    if problem is None and _count_broad(tree) > BROAD_MAX:
        problem = ("more than %d repeats of any character (.*) can take very long to match "
                   "a line; anchor the pattern on more literal text" % BROAD_MAX)
    return problem


def _nesting_problem(tree, in_repeat):
    for op, av in tree:
        if op in _REPEATS:
            lo, hi, sub = av
            if lo > REPEAT_MAX or (hi != _sre.MAXREPEAT and hi > REPEAT_MAX):
                return "repeat count above %d" % REPEAT_MAX
            repeats = hi > 1
            if repeats and in_repeat:
                return ("a repeat inside a repeat (like (.*)* or (a+)+) can take "
                        "exponential time; write it with one repeat")
            problem = _nesting_problem(sub, in_repeat or repeats)
        elif op == _sre.BRANCH and in_repeat:
            return ("an alternative inside a repeat (like (a|aa)+) can take exponential "
                    "time; write the repetition out")
        elif op == _sre.GROUPREF or op == _sre.GROUPREF_EXISTS:
            return "back references are not supported in traces"
        else:
            problem = None
            for item in (av if isinstance(av, (list, tuple)) else ()):
                if isinstance(item, _sre_parse.SubPattern):
                    problem = problem or _nesting_problem(item, in_repeat)
                elif isinstance(item, (list, tuple)):	# BRANCH: (None, [alternatives])
                    for alt in item:
                        if isinstance(alt, _sre_parse.SubPattern):
                            problem = problem or _nesting_problem(alt, in_repeat)
        if problem:
            return problem
    return None


class Pattern:
    """One pattern of a trace: an expected line or a forbidden line.

    `source` is the text as written (placeholders and all).  Literal
    patterns are split into parts:
      ("lit", text) | ("ph", kind) | ("bind", kind, name) | ("ref", name)
    A `~` pattern is a raw Python regex.  `free_refs` are the refs that
    come before any bind of their name on this line: earlier lines must
    bind them.
    """

    def __init__(self, source, lineno=None, path=None, regex=False):
        self.source, self.lineno, self.path = source, lineno, path
        self.is_regex = regex
        self.parts = []
        self.binds, self.refs, self.free_refs = [], [], []
        self._static = None
        self._memo = None          # (relevant bindings, compiled regex)
        if regex:
            problem = regex_problem(source)
            if problem:
                raise TraceError("bad regex %r: %s" % (source, problem), path, lineno)
            self._static = re.compile(source)
        else:
            self._parse()
            if sum(1 for p in self.parts if p == ("ph", "any")) > BROAD_MAX:
                raise TraceError("more than %d {any} in one line can take very long to match; "
                                 "anchor it on more literal text" % BROAD_MAX, path, lineno)
            self._names = tuple(dict.fromkeys([n for _, n in self.binds] + self.refs))
            if not self.binds and not self.refs:
                self._static = re.compile(self._build({}))

    def _parse(self):
        s, i, lit = self.source, 0, []
        while i < len(s):
            if s.startswith("{{", i):
                lit.append("{"); i += 2; continue
            if s.startswith("}}", i):
                lit.append("}"); i += 2; continue
            if s[i] == "{":
                m = _BRACE.match(s, i)
                if not m:
                    end = s.find("}", i)
                    bad = s[i:end + 1] if end >= 0 else s[i:]
                    raise TraceError(
                        "unknown placeholder %r (known: %s, {hex:NAME}, {dec:NAME}, {=NAME}; "
                        "write {{ for a literal brace)" % (
                            bad, ", ".join("{%s}" % k for k in PLACEHOLDERS)),
                        self.path, self.lineno)
                if lit:
                    self.parts.append(("lit", "".join(lit))); lit = []
                ph, bkind, bname, ref = m.groups()
                if ph:
                    self.parts.append(("ph", ph))
                elif bkind:
                    self.parts.append(("bind", bkind, bname)); self.binds.append((bkind, bname))
                else:
                    self.parts.append(("ref", ref)); self.refs.append(ref)
                    if ref not in {n for _, n in self.binds}:
                        self.free_refs.append(ref)
                i = m.end()
                continue
            lit.append(s[i]); i += 1
        if lit:
            self.parts.append(("lit", "".join(lit)))

    def _build(self, bindings):
        out, seen = [], set()
        for part in self.parts:
            kind = part[0]
            if kind == "lit":
                out.append(re.escape(part[1]))
            elif kind == "ph":
                out.append(PLACEHOLDERS[part[1]])
            else:
                name = part[2] if kind == "bind" else part[1]
                if name in bindings:
                    out.append(_value_regex(*bindings[name]))
                elif name in seen:
                    out.append("(?P=b_%s)" % name)
                elif kind == "bind":
                    seen.add(name)
                    out.append("(?P<b_%s>%s)" % (name, PLACEHOLDERS[part[1]]))
                else:  # a free ref: parse_trace checks earlier lines bind it
                    raise _unbound_ref(name, self.path, self.lineno)
        return "".join(out)

    def _regex(self, bindings):
        if self._static is not None:
            return self._static
        # Rebuild only when a binding this pattern uses has changed.
        key = tuple(bindings.get(name) for name in self._names)
        memo = self._memo
        if memo is None or memo[0] != key:
            memo = self._memo = (key, re.compile(self._build(bindings)))
        return memo[1]

    def fullmatch(self, line, bindings=None):
        """Match a whole line.  Returns the dict of NEW bindings ({} if
        none) on success, None on failure."""
        bindings = bindings or {}
        m = self._regex(bindings).fullmatch(line)
        if not m:
            return None
        new = {}
        for kind, name in self.binds:
            if name not in bindings and name not in new:
                new[name] = (kind, m.group("b_" + name))
        return new

    def prefix_match(self, line):
        """Forbidden patterns: match at the start of the line."""
        return self._regex({}).match(line) is not None

    def literal_text(self):
        """Approximate literal text (for 'closest line' suggestions)."""
        if self.is_regex:
            return self.source
        return "".join(p[1] for p in self.parts if p[0] == "lit")

    def __repr__(self):
        return "Pattern(%r)" % self.source


@dataclass(eq=False)
class Step:
    """An expected line (kind 'expect', .pattern) or a send (kind 'send',
    .text).  `ordinal` numbers expected lines from 1."""
    kind: str
    lineno: int
    pattern: "Pattern | None" = None
    text: str | None = None
    ordinal: int | None = None
    once: bool = False         # `=` line: no other output line may match it

    def __repr__(self):
        return "Step(%s, %r)" % (self.kind, self.pattern.source if self.pattern else self.text)


@dataclass(eq=False)
class Forbidden:
    """A pattern no output line may match; `default` ones come from the
    trace's exit, with `why`."""
    pattern: "Pattern"
    default: bool = False
    why: str | None = None

    @property
    def source(self):
        return self.pattern.source


@dataclass(eq=False)
class Trace:
    """A parsed trace file."""
    path: str = "<trace>"
    exit: Exit = Exit.PASS
    exit_lineno: int | None = None
    steps: list[Step] = field(default_factory=list)
    forbidden: list[Forbidden] = field(default_factory=list)  # explicit ones, from `!` lines

    @property
    def expects(self):
        return [s for s in self.steps if s.kind == "expect"]

    def all_forbidden(self):
        """Explicit forbidden patterns plus the defaults for this exit."""
        out = list(self.forbidden)
        if self.exit != Exit.PANIC:
            out.append(Forbidden(Pattern("panic:"), True, "default: no panic unless @exit panic"))
        if self.exit != Exit.FAIL:
            out.append(Forbidden(Pattern("TEST {word}: FAIL"), True,
                                 "default: no TEST FAIL unless @exit fail"))
        return out


def _check_send(text, path, lineno, bound):
    """Check a send line: only {=NAME} of bound names, {{ and }} are allowed."""
    for m in _SEND_TOKEN.finditer(text):
        tok, name = m.group(), m.group(1)
        if tok in ("{{", "}}"):
            continue
        if name is None:
            raise TraceError("only {=NAME}, {{ and }} may be used in a `>` line, not %r" % tok,
                             path, lineno)
        if name not in bound:
            raise _unbound_ref(name, path, lineno)


def render_send(text, bindings):
    """Expand {=NAME}, {{ and }} of a send line with the captured text
    (_check_send has allowed nothing else)."""
    def rep(m):
        tok, name = m.group(), m.group(1)
        if tok == "{{":
            return "{"
        if tok == "}}":
            return "}"
        return bindings[name][1] if name in bindings else tok
    return _SEND_TOKEN.sub(rep, text)


def parse_trace(text, path="<trace>"):
    """Parse the text of a trace file; raises TraceError."""
    tr = Trace(path)
    bound = set()
    ordinal = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line or line.startswith("#"):
            continue
        head = line[0]
        if head == "@":
            words = line[1:].split()
            if not words or words[0] != "exit":
                raise TraceError("unknown directive %r (only @exit exists)" % line, path, lineno)
            if len(words) != 2 or words[1] not in EXITS:
                raise TraceError("@exit takes one of %s" % "|".join(EXITS), path, lineno)
            if tr.exit_lineno is not None:
                raise TraceError("second @exit (first at line %d)" % tr.exit_lineno, path, lineno)
            tr.exit, tr.exit_lineno = Exit(words[1]), lineno
        elif head == "!":
            body = line[1:]
            if not body:
                raise TraceError("empty forbidden pattern", path, lineno)
            if body.startswith("~"):
                pat = Pattern(body[1:], lineno, path, regex=True)
            else:
                pat = Pattern(body, lineno, path)
                if pat.binds or pat.refs:
                    raise TraceError("bindings cannot be used in a forbidden (`!`) line", path, lineno)
            tr.forbidden.append(Forbidden(pat))
        elif head == ">":
            body = line[1:]
            if body.startswith(" "):
                body = body[1:]
            _check_send(body, path, lineno, bound)
            tr.steps.append(Step("send", lineno, text=body))
        elif head == "=":
            body = line[1:]
            if body.startswith(" "):
                body = body[1:]
            if not body:
                raise TraceError("empty `=` line", path, lineno)
            pat = Pattern(body[1:], lineno, path, regex=True) if body.startswith("~") else \
                Pattern(body, lineno, path)
            if pat.binds or pat.refs:
                raise TraceError("bindings cannot be used in an exactly-once (`=`) line",
                                 path, lineno)
            ordinal += 1
            tr.steps.append(Step("expect", lineno, pattern=pat, ordinal=ordinal, once=True))
        else:
            if head == "~":
                pat = Pattern(line[1:], lineno, path, regex=True)
            else:
                if head == "\\":
                    line = line[1:]
                    if not line:
                        raise TraceError("lone backslash", path, lineno)
                pat = Pattern(line, lineno, path)
                for name in pat.free_refs:
                    if name not in bound:
                        raise _unbound_ref(name, path, lineno)
                for kind, name in pat.binds:
                    bound.add(name)
            ordinal += 1
            tr.steps.append(Step("expect", lineno, pattern=pat, ordinal=ordinal))
    return tr


def prefixed(trace, lines, where):
    """trace with the expected lines `lines` (trace syntax, e.g. from a
    lab.json rerun) before its own; their errors name `where`."""
    head = parse_trace("\n".join(lines), where)
    if head.exit_lineno is not None or head.forbidden or \
            any(s.kind != "expect" for s in head.steps):
        raise TraceError("only expected lines may come before a trace", where)
    bound = {name for s in head.steps for _, name in s.pattern.binds}
    for s in trace.expects:
        clash = bound & {name for _, name in s.pattern.binds}
        if clash:
            raise TraceError("binds %s, as a line before the trace does" % ", ".join(sorted(clash)),
                             s.pattern.path, s.lineno)
    n = len(head.steps)
    steps = head.steps + [Step(s.kind, s.lineno, s.pattern, s.text,
                               None if s.ordinal is None else s.ordinal + n, s.once)
                          for s in trace.steps]
    return Trace(trace.path, trace.exit, trace.exit_lineno, steps, list(trace.forbidden))


def load_trace(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise TraceError("cannot read trace: %s" % e.strerror, path)
    except UnicodeDecodeError:
        raise TraceError("trace is not UTF-8 text", path)
    return parse_trace(text, path)


class Matcher:
    """Streaming matcher for one run.

    Feed complete output lines with feed_line(); feed the current
    incomplete line with feed_partial() (used for prompts such as `K> `
    that have no newline yet).  Texts to send to the kernel accumulate in
    `outbox` (already terminated by "\\r")."""

    PARTIAL_MAX = 4096

    def __init__(self, trace):
        self.trace = trace
        self.forbidden = trace.all_forbidden()
        self.pos = 0
        self.bindings = {}
        self.matches = []          # (step, output lineno)
        self.forbidden_hits = []   # (lineno, line, Forbidden)
        self.test_lines = []       # (lineno, line, name, PASS|FAIL, reason)
        self.panic_line = None     # (lineno, line)
        self.unknown_test = None   # (lineno, line, name, known)
        self.finals = []           # (lineno, line, nonce or None): final TEST lines
        self.outbox = []
        self.once = [s for s in trace.steps if s.once]
        self.once_hits = {}        # step -> output linenos of the lines it matches
        self._partial_done = None  # lineno consumed by a partial match
        self._flush_sends()

    # -- state
    @property
    def done(self):
        return self.pos >= len(self.trace.steps)

    @property
    def waiting_for(self):
        return None if self.done else self.trace.steps[self.pos]

    @property
    def last_match(self):
        return self.matches[-1] if self.matches else None

    @property
    def terminal(self):
        """First line that means the kernel is about to exit."""
        cands = []
        if self.test_lines:
            cands.append(self.test_lines[0][:2])
        if self.panic_line:
            cands.append(self.panic_line)
        if self.unknown_test:
            cands.append(self.unknown_test[:2])
        return min(cands) if cands else None

    def wants_partial(self):
        """True if the current step is an expected line followed by a send
        (i.e. we may be waiting for a prompt without a newline)."""
        st = self.trace.steps
        return (self.pos + 1 < len(st) and st[self.pos].kind == "expect"
                and st[self.pos + 1].kind == "send")

    # -- feeding
    def _flush_sends(self):
        st = self.trace.steps
        while self.pos < len(st) and st[self.pos].kind == "send":
            self.outbox.append(render_send(st[self.pos].text, self.bindings) + "\r")
            self.pos += 1

    def _try_expect(self, lineno, line):
        step = self.waiting_for
        if step is None or step.kind != "expect":
            return False
        new = step.pattern.fullmatch(line, self.bindings)
        if new is None:
            return False
        self.bindings.update(new)
        self.matches.append((step, lineno))
        self.pos += 1
        self._flush_sends()
        return True

    def feed_partial(self, lineno, line):
        line = line[:LINE_MATCH_MAX]
        if lineno == self._partial_done or len(line) > self.PARTIAL_MAX or not self.wants_partial():
            return
        if self._try_expect(lineno, line):
            self._partial_done = lineno

    def feed_line(self, lineno, line):
        line = line[:LINE_MATCH_MAX]	# bounds the regex engine's time per line
        line, token = noncemod.split(line)      # matched without its nonce
        if noncemod.FINAL_LINE.match(line):
            self.finals.append((lineno, line, token))
        if lineno != self._partial_done:
            self._try_expect(lineno, line)
        for fb in self.forbidden:
            if fb.pattern.prefix_match(line):
                self.forbidden_hits.append((lineno, line, fb))
        for st in self.once:
            if st.pattern.fullmatch(line, {}) is not None:
                self.once_hits.setdefault(st, []).append(lineno)
        m = TEST_LINE.match(line)
        if m:
            if m.group(2) == "PASS" and any(t[3] == "PASS" for t in self.test_lines):
                self.forbidden_hits.append((lineno, line, Forbidden(
                    Pattern("TEST {word}: PASS"), True, "default: only one TEST PASS line")))
            self.test_lines.append((lineno, line, m.group(1), m.group(2), m.group(3) or ""))
        if self.panic_line is None and PANIC_LINE.match(line):
            self.panic_line = (lineno, line)
        if self.unknown_test is None:
            m = UNKNOWN_TEST_LINE.match(line)
            if m:
                self.unknown_test = (lineno, line, m.group(1), m.group(2))

    def take_outbox(self):
        out, self.outbox = self.outbox, []
        return out


class LineSplitter:
    """Accumulates raw output bytes and yields normalised lines."""

    def __init__(self):
        self.lines = []      # normalised complete lines (index 0 = line 1)
        self._buf = bytearray()

    def feed(self, data):
        """Returns the list of (lineno, line) completed by this data."""
        self._buf += data
        out = []
        if b"\n" in data:
            cut = self._buf.rfind(b"\n")
            done = bytes(self._buf[:cut]).split(b"\n")
            del self._buf[:cut + 1]
            for raw in done:
                self.lines.append(normalize(raw))
                out.append((len(self.lines), self.lines[-1]))
        return out

    @property
    def partial(self):
        """(lineno, text) of the incomplete last line ('' if none)."""
        return len(self.lines) + 1, normalize(bytes(self._buf[:Matcher.PARTIAL_MAX + 1]))

    def finish(self):
        """End of output: the incomplete last line becomes a line."""
        if self._buf:
            self.lines.append(normalize(bytes(self._buf)))
            self._buf = bytearray()
            return [(len(self.lines), self.lines[-1])]
        return []
