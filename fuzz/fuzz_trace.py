#!/usr/bin/env python3
"""fuzz_trace.py: the grader's trace parser and matcher on arbitrary trace
files and output, for a bounded time.

    python3 fuzz/fuzz_trace.py [--seconds S] [--seed N] [--max-input-seconds T]

A small mutation fuzzer written for this project, Python standard library
only, without coverage guidance: Python coverage-guided fuzzers (atheris)
are not Debian packages. It starts from the repository's own traces
(labs/*/*.trace) and a few written for it, and mutates them line by line
and character by character (placeholders, regex syntax, braces, sends,
exits, forbidden lines, long and huge repeat counts, nesting). Each trace
is parsed; if it parses, a Matcher is fed output lines made from the
trace's own expected lines (mutated too) and random ones, with partial
lines, as the grader feeds them.

What must hold, for every input:
  - parse_trace returns a Trace or raises TraceError (never another
    exception: that would be a traceback in the grader);
  - feeding the matcher never raises;
  - parsing and matching one input takes at most --max-input-seconds
    (default 2): a regex that backtracks for ever fails here.
A failing input is written to build/fuzz/trace-crash-N.trace (with its
output) and the run exits 1. The last line is `N passed, M failed`
(inputs), as the other test runners print it."""

import argparse
import glob
import os
import random
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grader"))

from strata_grader.trace import LineSplitter, Matcher, TraceError, parse_trace  # noqa: E402

# Pieces the mutator splices in: the trace syntax and the regex syntax.
TOKENS = ["{hex}", "{dec}", "{word}", "{sym}", "{any}", "{hex:A}", "{dec:B}", "{=A}", "{=B}",
          "{=C}", "{{", "}}", "{", "}", "{nope}", "@exit pass", "@exit reset", "@exit triple",
          "@exit bogus", "> ", ">", "!", "~", "\\", "#", "(", ")", "(?:", "*", "+", "?", "{2}",
          "{1,3}", "{99999999999}", "{1000}", "{1001}", "(.*)*", "(a+)+", "(a|aa)+", "[a-z]",
          "[", "]", "|", "\\1", "(?P<x>a)(?P=x)", "^", "$", ".*", "TEST x: PASS",
          "TEST x: FAIL why", "panic: oops", "nonce=", "\t", " ", "\x00", "\u00e9", "K> "]
SEEDS = [
    "TEST a: start\n~a+b*\nTEST a: PASS\n",
    "@exit reset\nK>\n> help\n{any}\n> reboot\nrebooting\n",
    "[memmap] {hex:END} available\n> memmap\n[memmap] {=END} available\n",
    "!panic\n!{any}oops\nTEST {word}: PASS\n",
    "~(x|y)?z{3}\n\\#literal\n\\~tilde\n",
]


def seed_traces():
    texts = list(SEEDS)
    for path in sorted(glob.glob(os.path.join(ROOT, "labs", "*", "*.trace"))):
        with open(path, encoding="utf-8", errors="replace") as f:
            texts.append(f.read())
    return texts


def mutate_line(rng, line):
    for _ in range(rng.randint(1, 3)):
        i = rng.randint(0, len(line))
        k = rng.random()
        if k < 0.4:
            line = line[:i] + rng.choice(TOKENS) + line[i:]
        elif k < 0.6 and line:
            j = rng.randint(i, len(line))
            line = line[:i] + line[j:]
        elif k < 0.8:
            line = line[:i] + chr(rng.randint(0, 0x7f)) + line[i:]
        else:
            line = line[:i] + line[i:i + 8] * rng.randint(2, 40) + line[i + 8:]
    return line


def mutate(rng, text, pool):
    lines = text.splitlines()
    for _ in range(rng.randint(1, 6)):
        k = rng.random()
        if k < 0.5 and lines:
            i = rng.randrange(len(lines))
            lines[i] = mutate_line(rng, lines[i])
        elif k < 0.7:
            other = rng.choice(pool).splitlines() or [""]
            lines.insert(rng.randint(0, len(lines)), rng.choice(other))
        elif k < 0.85 and lines:
            del lines[rng.randrange(len(lines))]
        else:
            lines.insert(rng.randint(0, len(lines)),
                         rng.choice("~!>@\\#") + "".join(rng.choice(TOKENS)
                                                         for _ in range(rng.randint(1, 5))))
    return "\n".join(lines) + ("\n" if rng.random() < 0.9 else "")


def output_for(rng, trace_text):
    """Output lines: the trace's own lines (as text), mutated, and noise."""
    out = []
    for line in trace_text.splitlines():
        body = line.lstrip("~!>\\@")
        if rng.random() < 0.7:
            out.append(mutate_line(rng, body) if rng.random() < 0.3 else body)
        if rng.random() < 0.2:
            out.append("".join(rng.choice(TOKENS) for _ in range(rng.randint(0, 8))))
    if rng.random() < 0.1:
        out.append("a" * rng.randint(100, 3000) + "X")	# what backtracking chokes on
    return out


def run_one(text, output):
    """Parses and matches; raises on any problem but TraceError."""
    try:
        trace = parse_trace(text, "fuzz.trace")
    except TraceError:
        return
    m = Matcher(trace)
    splitter = LineSplitter()
    data = ("\r\n".join(output)).encode("utf-8", "replace")
    cut = len(data) // 2
    for chunk in (data[:cut], data[cut:]):
        for lineno, line in splitter.feed(chunk):
            m.feed_line(lineno, line)
            m.take_outbox()
        if m.wants_partial():
            m.feed_partial(*splitter.partial)
    for lineno, line in splitter.finish():
        m.feed_line(lineno, line)
    _ = (m.done, m.waiting_for, m.last_match, m.terminal)


def save(n, text, output, why):
    d = os.path.join(ROOT, "build", "fuzz")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "trace-crash-%d.trace" % n)
    with open(path, "w", encoding="utf-8", errors="replace") as f:
        f.write(text)
    with open(path + ".output", "w", encoding="utf-8", errors="replace") as f:
        f.write("\n".join(output) + "\n")
    print("FAIL input %d: %s\n     saved in %s (+ .output)" % (n, why, os.path.relpath(path, ROOT)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="how long to run")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: from the time)")
    ap.add_argument("--max-input-seconds", type=float, default=2.0)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int(time.time())
    rng = random.Random(seed)
    pool = seed_traces()
    passed = failed = refused = 0
    slowest = 0.0
    deadline = time.monotonic() + a.seconds
    n = 0
    while time.monotonic() < deadline and failed == 0:
        n += 1
        text = rng.choice(pool)
        for _ in range(rng.randint(0, 3)):
            text = mutate(rng, text, pool)
        output = output_for(rng, text)
        t0 = time.process_time()
        try:
            run_one(text, output)
        except Exception as e:
            failed += 1
            save(n, text, output, "%s\n%s" % (e.__class__.__name__, traceback.format_exc()[-1500:]))
            continue
        spent = time.process_time() - t0
        slowest = max(slowest, spent)
        if spent > a.max_input_seconds:
            failed += 1
            save(n, text, output, "took %.1f s of CPU (limit %.1f s)" % (spent, a.max_input_seconds))
            continue
        try:
            parse_trace(text, "fuzz.trace")
        except TraceError:
            refused += 1
        passed += 1
        if rng.random() < 0.05 and len(pool) < 400:
            pool.append(text)		# keep some survivors to mutate further
    print("fuzz_trace: seed %d, %d inputs in %.1f s (%.0f/s), %d refused as TraceError, "
          "slowest %.3f s" % (seed, n, a.seconds, n / a.seconds, refused, slowest))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
