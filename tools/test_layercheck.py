#!/usr/bin/env python3
"""Self-tests of tools/layercheck.py on small trees in a temporary folder:
it passes a tree that keeps the order, and fails on an upward include, a
cycle (across layers and inside one), a misused allowed header, a file in
no layer, an include of no file and a malformed LAYERS. Last, this tree
passes.

Run: python3 tools/test_layercheck.py [-v]   (make layers, make test)
"""
import contextlib
import io
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layercheck  # noqa: E402

LAYERS = """\
# bottom first
lib:   lib/str
core:  kernel/cons kernel/printk
       kernel/trap
mm:    mm/alloc*
top:   kernel/main kernel/monitor kernel/version labs/*/ktests
allow kernel/monitor.h: REGISTER
"""

CLEAN = {
    "src/LAYERS": LAYERS,
    "src/lib/str.h": "int str(void);\n",
    "src/lib/str.c": '#include "lib/str.h"\nint str(void) { return 0; }\n',
    "src/kernel/cons.h": "void cons(void);\n",
    "src/kernel/cons.c": '#include "kernel/cons.h"\n#include "lib/str.h"\nvoid cons(void) {}\n',
    "src/kernel/printk.h": '#include "lib/str.h"\nvoid printk(void);\n',
    "src/kernel/printk.c": '#include "kernel/cons.h"\n#include "kernel/printk.h"\n',
    "src/kernel/trap.h": "void trap(void);\n",
    "src/kernel/trap.c": '#include "kernel/printk.h"\n#include "kernel/trap.h"\n',
    "src/mm/alloc.h": "int alloc(void);\n",
    "src/mm/alloc.c": ('#include "kernel/monitor.h"\n#include "kernel/printk.h"\n'
                       '#include "mm/alloc.h"\n'
                       '/* monitor() would be wrong here, but this is a comment */\n'
                       'REGISTER(pages, "the monitor prints pages") { return alloc(); }\n'),
    "src/kernel/monitor.h": ("#define REGISTER(id, help) int reg_##id(void)\n"
                             "void monitor(void);\nint monitor_exec(char *line);\n"),
    "src/kernel/monitor.c": '#include "kernel/monitor.h"\n#include "mm/alloc.h"\n',
    "src/kernel/version.h": "#define VERSION 1\n",
    "src/kernel/main.c": '#include "kernel/monitor.h"\n#include "mm/alloc.h"\n',
    "labs/lab1-x/ktests.c": '#include "mm/alloc.h"\n#include "kernel/trap.h"\n',
}


class LayercheckTest(unittest.TestCase):
    def run_tree(self, changes):
        files = dict(CLEAN)
        files.update(changes)
        with tempfile.TemporaryDirectory() as root:
            for path, text in files.items():
                if text is None:
                    continue
                os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
                with open(os.path.join(root, path), "w") as f:
                    f.write(text)
            problems, _ = layercheck.check(root)
            with contextlib.redirect_stdout(io.StringIO()):
                status = layercheck.main(["--root", root])
        return problems, status

    def assertOneProblem(self, changes, *parts):
        problems, status = self.run_tree(changes)
        self.assertEqual(status, 1)
        self.assertEqual(len(problems), 1, problems)
        for p in parts:
            self.assertIn(p, problems[0])
        return problems[0]

    def test_clean_tree_passes(self):
        problems, status = self.run_tree({})
        self.assertEqual(problems, [])
        self.assertEqual(status, 0)

    def test_upward_include_fails(self):
        self.assertOneProblem(
            {"src/kernel/cons.c": '#include "kernel/cons.h"\n#include "kernel/version.h"\n'},
            "src/kernel/cons.c:2:", "includes kernel/version.h", "layer top", "above layer core")

    def test_upward_include_from_a_header_fails(self):
        self.assertOneProblem({"src/lib/str.h": '#include "kernel/version.h"\n'},
                              "src/lib/str.h:1:", "layer top", "above layer lib")

    def test_cycle_inside_a_layer_fails(self):
        # cons -> trap -> printk -> cons: every include within layer core.
        p = self.assertOneProblem(
            {"src/kernel/cons.c": '#include "kernel/cons.h"\n#include "kernel/trap.h"\n'},
            "include cycle", "src/kernel/cons.c:2 includes kernel/trap")
        self.assertIn("kernel/cons -> kernel/trap -> kernel/printk -> kernel/cons", p)

    def test_cycle_between_two_modules_fails(self):
        self.assertOneProblem(
            {"src/kernel/trap.h": '#include "kernel/printk.h"\n',
             "src/kernel/printk.c": '#include "kernel/trap.h"\n'},
            "include cycle kernel/printk -> kernel/trap -> kernel/printk")

    def test_allowed_header_used_for_more_fails(self):
        self.assertOneProblem(
            {"src/mm/alloc.c": CLEAN["src/mm/alloc.c"] + "void f(void) { monitor(); }\n"},
            "src/mm/alloc.c:1:", "for monitor", "only REGISTER")

    def test_allowed_header_is_not_a_cycle(self):
        # monitor.c includes mm/alloc.h and alloc.c includes monitor.h: the
        # registration include makes no edge.
        problems, status = self.run_tree({})
        self.assertEqual((problems, status), ([], 0))

    def test_files_of_one_glob_are_one_module(self):
        # alloc.c includes alloc_part.h, which includes alloc.h: a module's
        # private header that includes its public one is no cycle.
        problems, status = self.run_tree({
            "src/mm/alloc_part.h": '#include "mm/alloc.h"\n',
            "src/mm/alloc.c": CLEAN["src/mm/alloc.c"] + '#include "mm/alloc_part.h"\n'})
        self.assertEqual((problems, status), ([], 0))

    def test_file_in_no_layer_fails(self):
        self.assertOneProblem({"src/mm/stray.c": '#include "mm/alloc.h"\n'},
                              "src/mm/stray.c:1:", "mm/stray is in no layer")
        self.assertOneProblem({"src/kernel/stray.h": ""},
                              "src/kernel/stray.h:1:", "kernel/stray is in no layer")

    def test_include_of_no_file_fails(self):
        self.assertOneProblem({"src/mm/alloc.h": '#include "mm/gone.h"\n'},
                              'src/mm/alloc.h:1: includes "mm/gone.h", which is no file')

    def test_malformed_layers_fails(self):
        self.assertOneProblem({"src/LAYERS": "lib lib/str\n"}, "src/LAYERS:1:")
        self.assertOneProblem({"src/LAYERS": "  lib/str\n"}, "continuation")

    def test_this_tree_passes(self):
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
        problems, summary = layercheck.check(root)
        self.assertEqual(problems, [])
        self.assertIn("layer(s)", summary)


if __name__ == "__main__":
    unittest.main()
