"""Assertion helpers for the grader's self-tests (unittest test cases):
each raises AssertionError with the text it looked in, which unittest
reports as the failure."""

import functools
import os
import re
import subprocess
import sys

GRADER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, GRADER)

from strata_grader import facts as factsmod  # noqa: E402


@functools.cache
def kernel_facts():
    """The kernel's facts (exit statuses...) of this repository, made by
    `make -s facts` first (cheap when they are up to date)."""
    root = os.path.dirname(GRADER)
    p = subprocess.run(["make", "-s", "facts"], cwd=root, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise AssertionError("make facts failed:\n" + p.stdout.decode("utf-8", "replace"))
    return factsmod.load(os.path.join(root, "build"))


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
