"""A minimal test harness for the grader's self-tests (stdlib only)."""

import os
import re
import sys
import time
import traceback

TESTS = []          # (name, function)
GRADER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, GRADER)


def test(fn):
    TESTS.append((fn.__module__.rsplit(".", 1)[-1] + "." + fn.__name__, fn))
    return fn


class Skip(Exception):
    pass


def eq(actual, expected, what=""):
    if actual != expected:
        raise AssertionError("%sexpected %r, got %r" % (what + ": " if what else "", expected, actual))


def contains(haystack, needle, what=""):
    if needle not in haystack:
        raise AssertionError("%sexpected %r in:\n%s" % (what + ": " if what else "", needle, _indent(haystack)))


def not_contains(haystack, needle, what=""):
    if needle in haystack:
        raise AssertionError("%sdid not expect %r in:\n%s" % (what + ": " if what else "", needle, _indent(haystack)))


def matches(text, regex, what=""):
    if not re.search(regex, text, re.M):
        raise AssertionError("%sexpected /%s/ in:\n%s" % (what + ": " if what else "", regex, _indent(text)))


def raises(exc, fn, *args, contains_text=None, **kw):
    try:
        fn(*args, **kw)
    except exc as e:
        if contains_text is not None and contains_text not in str(e):
            raise AssertionError("%s raised, but %r not in %r" % (exc.__name__, contains_text, str(e)))
        return e
    raise AssertionError("%s not raised" % exc.__name__)


def _indent(text, n=4):
    text = str(text)
    if len(text) > 6000:
        text = text[:3000] + "\n...\n" + text[-3000:]
    return "\n".join(" " * n + l for l in text.splitlines())


def run(tests, verbose=False):
    passed = failed = skipped = 0
    for name, fn in tests:
        t0 = time.monotonic()
        try:
            fn()
        except Skip as e:
            skipped += 1
            print("skip %s: %s" % (name, e), flush=True)
            continue
        except Exception as e:
            failed += 1
            dt = time.monotonic() - t0
            print("FAIL %s (%.1fs)" % (name, dt), flush=True)
            if isinstance(e, AssertionError):
                print(_indent(str(e)), flush=True)
            else:
                print(_indent(traceback.format_exc()), flush=True)
            continue
        passed += 1
        if verbose:
            print("ok   %s (%.2fs)" % (name, time.monotonic() - t0), flush=True)
    return passed, failed, skipped
