#!/usr/bin/env python3
"""test_facts.py BUILD/strata_facts.py -- CC FLAGS...: the generated facts
module says what the C headers say.

Writes a C file that includes facts.c (so its headers and macros) and
holds a _Static_assert() per fact of the module (the value of the fact's C
spelling; each struct field's offset and size), and compiles it with the
kernel's flags: a value the generator got wrong, or a module older than a
changed header, fails to compile, naming the fact. It also shows that this check
can fail: a module with one value changed must not compile. Run by `make
test` (make test-facts)."""

import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE = None
CC = None


def load(path):
    spec = importlib.util.spec_from_file_location("strata_facts", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def asserts(facts):
    """The C text of one _Static_assert per fact of the module (facts: a
    dict of its names): facts.c itself (its headers and macros), then for
    each fact its C spelling (C_SPELLING) against the module's value, and
    for each struct each field's offset and size."""
    out = ['#include "%s"' % os.path.join(HERE, "facts.c")]
    for name, value in facts.items():
        if name in facts["C_SPELLING"] and isinstance(value, int):
            c = facts["C_SPELLING"][name]
            out.append("_Static_assert((long long)(%s) == %dLL || "
                       "(unsigned long long)(%s) == %dULL, \"%s\");"
                       % (c, value, c, value, name))
        elif isinstance(value, dict) and name.isupper() and name != "C_SPELLING":
            for field, (off, size) in value.items():
                out.append("_Static_assert(offsetof(struct %s, %s) == %d && "
                           "sizeof(((struct %s *)0)->%s) == %d, \"%s.%s\");"
                           % (name.lower(), field, off, name.lower(), field, size, name, field))
    return "\n".join(out) + "\n"


def compile_c(text):
    """(ok, compiler messages)."""
    with tempfile.TemporaryDirectory(prefix="test-facts-") as tmp:
        path = os.path.join(tmp, "check.c")
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run(CC + ["-fsyntax-only", path], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return p.returncode == 0, p.stdout


def module_facts():
    return {k: v for k, v in vars(MODULE).items() if not k.startswith("_")}


class Facts(unittest.TestCase):
    def test_module_matches_the_headers(self):
        facts = module_facts()
        for name in ("STATUS_PASS", "STATUS_FAIL", "STATUS_PANIC", "DEBUG_EXIT_PORT",
                     "KERNBASE", "PTE_PRESENT", "PF_WRITE", "TRAPFRAME", "SIZEOF_TRAPFRAME"):
            self.assertIn(name, facts)
        self.assertEqual(set(facts["C_SPELLING"]),
                         {n for n, v in facts.items() if isinstance(v, int)})
        ok, msgs = compile_c(asserts(facts))
        self.assertTrue(ok, msgs)

    def test_trapframe_fields_in_offset_order(self):
        tf = MODULE.TRAPFRAME
        self.assertEqual(list(MODULE.TRAPFRAME_FIELDS), sorted(tf, key=lambda f: tf[f][0]))
        self.assertEqual(sum(size for _, size in tf.values()), MODULE.SIZEOF_TRAPFRAME,
                         "facts.c names every field of struct trapframe")

    def test_a_wrong_value_fails(self):
        for name, delta in (("STATUS_PANIC", 2), ("KERNBASE", 0x1000), ("PF_WRITE", 1),
                            ("SIZEOF_TRAPFRAME", 4)):
            facts = module_facts()
            facts[name] += delta
            ok, msgs = compile_c(asserts(facts))
            self.assertFalse(ok, "%s changed, and the check still compiled" % name)
            self.assertIn('"%s"' % name, msgs)
        facts = module_facts()
        facts["TRAPFRAME"] = dict(facts["TRAPFRAME"], eip=(0, 4))
        ok, msgs = compile_c(asserts(facts))
        self.assertFalse(ok, "a wrong trap-frame offset compiled")
        self.assertIn('"TRAPFRAME.eip"', msgs)


def main(argv):
    global MODULE, CC
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    MODULE = load(argv[0])
    # the kernel's flags, less the dependency-file options
    CC = [a for a in argv[2:] if a not in ("-MMD", "-MP")]
    prog = unittest.main(argv=["test_facts"], exit=False, verbosity=1)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
