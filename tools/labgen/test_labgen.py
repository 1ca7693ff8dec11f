#!/usr/bin/env python3
"""Self-tests of labgen.py on small synthetic trees (no kernel build).

    python3 tools/labgen/test_labgen.py [-v]
"""
import os
import shutil
import subprocess
import sys
import tempfile
import types
import unittest

# tools/ first: `labgen` is the package in this folder (not labgen.py)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import labgen  # noqa: E402
import validate  # noqa: E402

GIT_ID = ["-c", "user.name=t", "-c", "user.email=t@t.invalid", "-c", "commit.gpgsign=false"]

LAB_JSON = '{"lab": %d, "title": "%s", "handout": "handouts/lab%d-%s.md", "tests": []}\n'

MAIN_C = """\
#include "a.h"
//@ LAB 2 BEGIN
#include "two.h"
//@ LAB 2 END
int f(int x)
{
	//@ LAB 1 BEGIN
	return x * 2 + solution_one(x);
	//@ LAB 1 STUB
	//@ /* LAB 1 exercise: see handouts/lab1-one.md */
	//@ return 0;
	//@ LAB 1 END
}
//@ LAB 2 BEGIN
int g(int y)
{
	//@ LAB 2 BEGIN
	return y + secret_two(y) * 17;
	//@ LAB 2 STUB
	//@ (void)y;
	//@
	//@ return 0;
	//@ LAB 2 END
}
//@ LAB 2 END
int h(void)
{
	//@ LAB 3 BEGIN
	return compute_three() + 12345;
	//@ LAB 3 STUB
	//@ return -1;
	//@ LAB 3 END
}
"""

TWO_C = """\
//@ LAB 2 FILE
/* belongs to lab 2 */
int two(void) { return 2; }
"""

MAKEFILE = """\
all:
	echo always
#@ LAB 2 BEGIN
	echo two-solution-line-here
#@ LAB 2 STUB
	#@ echo two-stub
#@	echo two-stub-tab
#@ LAB 2 END
"""


def write(root, files):
    for path, text in files.items():
        p = os.path.join(root, path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)


def base_files():
    files = {"src/main.c": MAIN_C, "src/two.c": TWO_C, "Makefile": MAKEFILE,
             "README.md": "# Course\n", ".ci/run": "#!/bin/sh\nmake test\n",
             "tools/labgen/x.py": "# not copied\n"}
    for n, name in ((1, "one"), (2, "two"), (3, "three")):
        files["labs/lab%d-%s/lab.json" % (n, name)] = LAB_JSON % (n, name, n, name)
        files["labs/lab%d-%s/ktests.c" % (n, name)] = "int t%d;\n" % n
        files["handouts/lab%d-%s.md" % (n, name)] = "# Lab %d\n" % n
    return files


class Tmp(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="labgen-test-")
        self.root = os.path.join(self.tmp, "src")
        write(self.root, base_files())

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def src(self):
        return labgen.Source(self.root)

    def text(self, tree, path):
        return tree[path][1].decode()


class Render(Tmp):
    def test_check_ok(self):
        self.assertEqual(self.src().check(), [])

    def test_catchup(self):
        s = self.src()
        t1 = s.render("catchup", 1)
        main = self.text(t1, "src/main.c")
        self.assertNotIn("//@", main)
        self.assertIn("\t/* LAB 1 exercise: see handouts/lab1-one.md */\n\treturn 0;\n", main)
        self.assertNotIn("solution_one", main)
        self.assertNotIn("int g(int y)", main)	# lab 2 wiring absent
        self.assertNotIn("two.h", main)
        self.assertNotIn("h(void)\n{\n\n", main)
        self.assertIn("int h(void)\n{\n}\n", main)	# lab 3 region removed entirely
        self.assertNotIn("src/two.c", t1)
        self.assertNotIn("labs/lab2-two/lab.json", t1)
        self.assertNotIn("handouts/lab2-two.md", t1)
        self.assertIn("handouts/lab1-one.md", t1)
        self.assertNotIn(".ci/run", t1)
        self.assertNotIn("tools/labgen/x.py", t1)
        self.assertEqual(t1["LAB"][1], b"1\n")
        self.assertIn("echo always", self.text(t1, "Makefile"))
        self.assertNotIn("two", self.text(t1, "Makefile"))

        t2 = s.render("catchup", 2)
        main = self.text(t2, "src/main.c")
        self.assertIn("solution_one", main)
        self.assertIn('#include "two.h"\n', main)
        self.assertIn("\t(void)y;\n\n\treturn 0;\n", main)	# empty stub line
        self.assertNotIn("secret_two", main)
        self.assertEqual(self.text(t2, "src/two.c"), "/* belongs to lab 2 */\nint two(void) { return 2; }\n")
        self.assertIn("\techo two-stub\n\techo two-stub-tab\n", self.text(t2, "Makefile"))
        readme = self.text(t2, "README.md")
        self.assertTrue(readme.endswith("# Course\n"))
        self.assertIn("[handouts/lab2-two.md](handouts/lab2-two.md)", readme)
        self.assertIn("lab 2", readme)
        self.assertIn("Build and run the kernel with `make qemu`;", readme)

        t3 = s.render("catchup", 3)
        main = self.text(t3, "src/main.c")
        self.assertIn("secret_two", main)
        self.assertIn("\treturn -1;\n", main)
        self.assertNotIn("compute_three", main)

    def test_carry_and_solved(self):
        s = self.src()
        c3 = self.text(s.render("carry", 3), "src/main.c")
        for hidden in ("solution_one", "secret_two", "compute_three"):
            self.assertNotIn(hidden, c3)
        self.assertIn("int g(int y)", c3)
        v2 = self.text(s.render("solved", 2), "src/main.c")
        self.assertIn("solution_one", v2)
        self.assertIn("secret_two", v2)
        self.assertNotIn("compute_three", v2)
        self.assertNotIn("return -1;", v2)

    def test_no_leaks(self):
        s = self.src()
        for kind in ("catchup", "carry"):
            for n in (1, 2, 3):
                self.assertEqual(s.leaks(kind, n, s.render(kind, n)), [])

    def test_leak_in_handout(self):
        write(self.root, {"handouts/lab2-two.md": "# Lab 2\n    return y + secret_two(y) * 17;\n"})
        s = self.src()
        leaks = s.leaks("catchup", 2, s.render("catchup", 2))
        self.assertEqual(len(leaks), 1)
        self.assertTrue(leaks[0].startswith("handouts/lab2-two.md:2: solution line of lab 2"), leaks)
        self.assertIn("src/main.c:18", leaks[0])
        self.assertEqual(s.leaks("catchup", 3, s.render("catchup", 3)), [])	# lab 2 solved there
        self.assertEqual(len(s.leaks("carry", 3, s.render("carry", 3))), 1)

    def test_leak_shared_lines_do_not_count(self):
        # A solution line that also occurs outside solution parts is boilerplate.
        write(self.root, {"src/other.c": "int k(int y) {\n\treturn y + secret_two(y) * 17;\n}\n"})
        s = self.src()
        self.assertEqual(s.leaks("catchup", 2, s.render("catchup", 2)), [])

    def test_leak_in_verbatim_copy(self):
        # A notes file that copies a marked file without its marker lines
        # (grep -v '//@' src/main.c > notes.txt) does not excuse the solution.
        notes = "".join(l + "\n" for l in MAIN_C.split("\n") if "//@" not in l)
        write(self.root, {"notes-main.txt": notes})
        s = self.src()
        leaks = s.leaks("catchup", 2, s.render("catchup", 2))
        self.assertTrue(any(l.startswith("notes-main.txt:") and "secret_two" in l for l in leaks),
                        leaks)
        self.assertTrue(any("compute_three" in l for l in leaks), leaks)
        self.assertEqual(len(s.leaks("carry", 1, s.render("carry", 1))), 3)

    def test_only_tracked_files(self):
        subprocess.run(["git", "init", "-q", self.root], check=True)
        subprocess.run(["git", "-C", self.root, "add", "-A"], check=True)
        write(self.root, {"notes.txt": "instructor's notes\n", "src/scratch.c": "int s;\n",
                          "build/kernel.map": "x\n", ".gitignore": "/build/\n"})
        os.remove(os.path.join(self.root, "labs/lab1-one/ktests.c"))	# tracked, deleted
        files = [f.path for f in self.src().files]
        self.assertIn("src/main.c", files)
        for p in ("notes.txt", "src/scratch.c", "build/kernel.map", ".gitignore",
                  "labs/lab1-one/ktests.c"):
            self.assertNotIn(p, files)
        self.assertNotIn("notes.txt", self.src().render("catchup", 3))

    def test_gdb_helper_file_marker(self):
        # A Python file (a GDB helper) of a later lab: '#@ LAB N FILE'.
        write(self.root, {"tools/gdb/helper.py": "#@ LAB 2 FILE\n# helper\nimport gdb\n"})
        s = self.src()
        self.assertEqual(s.check(), [])
        self.assertNotIn("tools/gdb/helper.py", s.render("catchup", 1))
        self.assertEqual(self.text(s.render("carry", 2), "tools/gdb/helper.py"), "# helper\nimport gdb\n")

    def test_crlf_and_no_final_newline(self):
        write(self.root, {"src/x.c": "a();\r\n//@ LAB 1 BEGIN\r\nb_solution_line_long();\r\n"
                          "//@ LAB 1 STUB\r\n//@ c();\r\n//@ LAB 1 END\r\nd();"})
        s = self.src()
        self.assertEqual(s.check(), [])
        self.assertEqual(self.text(s.render("catchup", 1), "src/x.c"), "a();\r\nc();\r\nd();")


class Readme(Tmp):
    def test_links_to_absent_files(self):
        write(self.root, {"README.md": "| 1 | [one](handouts/lab1-one.md) |\n"
                                       "| 3 | [handouts/lab3-three.md](handouts/lab3-three.md#x) |\n"
                                       "see [labgen](tools/labgen/) and [web](https://x.org/a)\n"})
        text = self.text(self.src().render("catchup", 2), "README.md")
        self.assertIn("| 1 | [one](handouts/lab1-one.md) |", text)
        self.assertIn("| 3 | handouts/lab3-three.md (comes with lab 3) |", text)
        self.assertIn("see labgen and [web](https://x.org/a)", text)
        text = self.text(self.src().render("catchup", 3), "README.md")
        self.assertIn("[handouts/lab3-three.md](handouts/lab3-three.md#x)", text)

    def test_run_command(self):
        """A lab's lab.json may say how its kernel is run (lab 8: on 4 CPUs)."""
        write(self.root, {"labs/lab3-three/lab.json":
                          '{"lab": 3, "title": "three", "run": "make qemu CPUS=4", "tests": []}\n'})
        self.assertIn("Build and run the kernel with `make qemu CPUS=4`;",
                      self.text(self.src().render("catchup", 3), "README.md"))
        self.assertIn("Build and run the kernel with `make qemu`;",
                      self.text(self.src().render("catchup", 2), "README.md"))

    README = ("# Course\n\n## Students\n\nmake grade\n\n"
              "<!-- labgen: instructors only -->\n## For instructors\n\n"
              "run labgen: make student-repo\n\n<!-- labgen: end -->\n## Targets\n\n"
              "| target | what |\n|---|---|\n| `make grade` | grade |\n"
              "| `make student-repo OUT=DIR` | branches <!-- labgen: instructors only --> |\n"
              "| `make clean` | clean |\n")

    def test_instructor_only(self):
        write(self.root, {"README.md": self.README})
        s = self.src()
        self.assertEqual(s.check(), [])
        for kind in ("catchup", "carry", "solved"):
            text = self.text(s.render(kind, 2), "README.md")
            self.assertNotIn("instructor", text)
            self.assertNotIn("student-repo", text)
            self.assertNotIn("labgen:", text.split("\n", 1)[1])	# (the generated block's comment)
            self.assertTrue(text.endswith("# Course\n\n## Students\n\nmake grade\n\n## Targets\n\n"
                                          "| target | what |\n|---|---|\n| `make grade` | grade |\n"
                                          "| `make clean` | clean |\n"), text)
            self.assertEqual(s.leaks(kind, 2, s.render(kind, 2)), []) if kind != "solved" else None
        # the file's line map skips the removed lines ("## Targets" is line 13)
        readme = next(f for f in s.files if f.path == "README.md")
        self.assertEqual(readme.line_map(s.mode_fn("catchup", 2))[6], 13)

    def test_instructor_only_errors(self):
        def errs(text):
            write(self.root, {"README.md": text})
            return self.src().check()
        b, e = labgen.INSTR_BEGIN, labgen.INSTR_END
        self.assertEqual(errs("a\n%s\nb\n" % b), ["README.md:2: %s has no %s" % (b, e)])
        self.assertEqual(errs("a\n%s\n" % e), ["README.md:2: %s without a %s" % (e, b)])
        self.assertTrue(errs("%s\n%s\n%s\n" % (b, b, e))[0].startswith("README.md:2: "))
        self.assertTrue(errs("<!-- labgen: instructor only -->\n")[0].startswith(
            "README.md:1: unknown labgen comment"))
        self.assertTrue(errs("x %s y\n" % e)[0].startswith("README.md:1: unknown labgen comment"))
        # Handouts too: a whole file may hold instructor notes.
        write(self.root, {"README.md": "# Course\n",
                          "handouts/lab2-two.md": "# Lab 2\n%s\nanswer: 42\n%s\n" % (b, e)})
        s = self.src()
        self.assertEqual(s.check(), [])
        self.assertEqual(self.text(s.render("catchup", 2), "handouts/lab2-two.md"), "# Lab 2\n")


class Check(Tmp):
    def errors(self, text, path="src/bad.c"):
        write(self.root, {path: text})
        return [e for e in self.src().check() if e.startswith(path)]

    def assertError(self, text, line, fragment, path="src/bad.c"):
        errs = self.errors(text, path)
        self.assertTrue(any(e.startswith("%s:%d:" % (path, line)) and fragment in e for e in errs),
                        "%r not in %r" % (fragment, errs))

    def test_unbalanced(self):
        self.assertError("x\n//@ LAB 1 BEGIN\ny\n", 2, "has no END")
        self.assertError("x\n//@ LAB 1 END\n", 2, "without a BEGIN")

    def test_mismatch(self):
        self.assertError("//@ LAB 1 BEGIN\nx\n//@ LAB 2 STUB\n//@ LAB 1 END\n", 3, "LAB 2 STUB inside the LAB 1")
        self.assertError("//@ LAB 1 BEGIN\nx\n//@ LAB 2 END\n", 3, "closes the LAB 1 region")

    def test_stub_outside(self):
        self.assertError("x\n//@ LAB 1 STUB\n", 2, "STUB outside a region")
        self.assertError("x\n//@ return 0;\n", 2, "outside a STUB part")
        self.assertError("//@ LAB 1 BEGIN\n//@ return 0;\n//@ LAB 1 END\n", 2, "outside a STUB part")

    def test_uncommented_stub_line(self):
        self.assertError("//@ LAB 1 BEGIN\nx\n//@ LAB 1 STUB\nreturn 0;\n//@ LAB 1 END\n", 4,
                         "compiled in the reference build")

    def test_unknown_lab_and_keyword(self):
        self.assertError("//@ LAB 9 BEGIN\nx\n//@ LAB 9 END\n", 1, "no labs/lab9-* folder")
        self.assertError("//@ LAB 1 BEGINS\n", 1, "unknown keyword")
        self.assertError("//@ LAB one BEGIN\n", 1, "malformed marker")

    def test_file_marker(self):
        self.assertError("a\nb\nc\nd\ne\n//@ LAB 2 FILE\n", 6, "first 5 lines")
        self.assertEqual(self.errors("a\nb\nc\nd\n//@ LAB 2 FILE\n"), [])
        s = self.src()
        self.assertNotIn("src/bad.c", s.render("catchup", 1))
        self.assertEqual(self.text(s.render("catchup", 2), "src/bad.c"), "a\nb\nc\nd\n")

    def test_hash_prefix(self):
        self.assertError("all:\n#@ LAB 1 BEGINX\n", 2, "unknown keyword", path="sub/Makefile")
        self.assertError("#!/bin/sh\n#@ LAB 1 END\n", 2, "without a BEGIN", path="tools/script")
        # In C, '#@' is not a marker prefix; in a verbatim file a marker is an error.
        self.assertEqual(self.errors("#@ LAB 1 BEGIN\n"), [])
        self.assertError("//@ LAB 1 BEGIN\n", 1, "verbatim", path="data/x.trace")

    def test_exercise_order(self):
        two = "/* LAB 3 exercise 1: a */\n/* LAB 3 exercise 2: b */\n"
        write(self.root, {"handouts/lab3-three.md": "### Exercise 1: a\n### Exercise 2: b\n"})
        self.assertEqual(self.errors(two), [])
        self.assertError("/* LAB 3 exercise 2: b */\n/* LAB 3 exercise 1: a */\n", 2,
                         "comes after exercise 2")
        self.assertError("/* LAB 3 exercise 1: a */\n/* LAB 3 exercise 3: c */\n", 2,
                         "expected 1..3 without gaps")
        write(self.root, {"src/other.c": "/* LAB 3 exercise 1: again */\n"})
        self.errors(two)
        self.assertIn("src/other.c:1: LAB 3 exercise 1 is also in src/bad.c:1", self.src().check())
        os.remove(os.path.join(self.root, "src/other.c"))
        write(self.root, {"handouts/lab3-three.md": "### Exercise 2: b\n### Exercise 1: a\n"})
        self.errors(two)
        self.assertTrue(any(e.startswith("handouts/lab3-three.md: exercise headings [2, 1]")
                            for e in self.src().check()), self.src().check())


class StubHandout(Check):
    def test_stub_points_to_handout(self):
        def region(comment):
            return ("int f(void)\n{\n\t//@ LAB 3 BEGIN\n\treturn compute_it_all();\n"
                    "\t//@ LAB 3 STUB\n%s\t//@ return 0;\n\t//@ LAB 3 END\n}\n" % comment)
        self.assertError(region("\t//@ /* LAB 3 exercise 1: do it. */\n"), 6,
                         "does not point to the handout: mention handouts/lab3-three.md")
        self.assertEqual(self.errors(region("\t//@ /* LAB 3 exercise 1: do it "
                                            "(handouts/lab3-three.md). */\n")), [])
        self.assertEqual(self.errors(region("\t//@ /* LAB 3 exercise 1: do it,\n"
                                            "\t//@    see handouts/lab3-three.md. */\n")), [])
        self.assertError(region("\t//@ /* LAB 3 exercise 1: see handouts/lab2-two.md */\n"), 6,
                         "mention handouts/lab3-three.md")
        # A stub without an exercise comment, and a wiring region, need none.
        self.assertEqual(self.errors(region("")), [])


class Generate(Tmp):
    def git(self, repo, *args):
        return subprocess.run(["git", "-C", repo] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, check=True).stdout.decode().strip()

    def refs(self, repo):
        return self.git(repo, "for-each-ref", "--format=%(refname) %(objectname)")

    def gen(self, out, **kw):
        log = []
        labgen.generate(self.src(), out, log=log.append, **kw)
        return log

    def test_branches_and_determinism(self):
        a, b = os.path.join(self.tmp, "a"), os.path.join(self.tmp, "b")
        self.gen(a)
        self.gen(b)
        self.assertEqual(self.refs(a), self.refs(b))
        refs = self.refs(a)
        for r in ("lab1", "lab2", "lab3", "carry/lab1", "carry/lab2", "carry/lab3", "main"):
            self.assertIn("refs/heads/%s " % r, refs)
        self.assertEqual(self.git(a, "symbolic-ref", "HEAD"), "refs/heads/main")
        self.assertEqual(self.git(a, "rev-parse", "main"), self.git(a, "rev-parse", "lab1"))
        self.assertEqual(self.git(a, "rev-parse", "carry/lab1"), self.git(a, "rev-parse", "lab1"))
        self.assertEqual(self.git(a, "rev-parse", "carry/lab3^"), self.git(a, "rev-parse", "carry/lab2"))
        self.assertEqual(self.git(a, "rev-parse", "lab3^"), self.git(a, "rev-parse", "carry/lab3"))
        self.assertTrue(os.path.exists(os.path.join(a, "src/main.c")))	# work tree = main
        # The tree ids labgen computes are git's.
        tree = self.src().render("carry", 2)
        self.assertEqual(labgen.git_tree_id(tree), self.git(a, "rev-parse", "carry/lab2^{tree}"))
        # No solution of a hidden lab in any object of the repository.
        objs = self.git(a, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)")
        for line in objs.splitlines():
            sha, kind = line.split()
            if kind == "blob":
                body = self.git(a, "cat-file", "blob", sha)
                self.assertNotIn("compute_three", body)
        again = self.gen(a)
        self.assertTrue(all("unchanged" in l for l in again if l.startswith(("lab", "carry/"))), again)
        self.assertEqual(self.refs(a), self.refs(b))

    def test_keep_history(self):
        a = os.path.join(self.tmp, "a")
        self.gen(a)
        old = {r: self.git(a, "rev-parse", r) for r in ("lab2", "carry/lab2", "carry/lab3", "lab3")}
        write(self.root, {"src/two.c": TWO_C + "int more(void) { return 3; }\n"})
        log = self.gen(a, keep_history=True)
        self.assertTrue(any(l.startswith("lab1 ") and "unchanged" in l for l in log), log)
        for r, sha in old.items():
            self.git(a, "merge-base", "--is-ancestor", sha, r)	# fast-forward for students
            self.assertNotEqual(self.git(a, "rev-parse", r), sha)
        self.git(a, "merge-base", "--is-ancestor", "carry/lab2", "carry/lab3")
        self.git(a, "merge-base", "--is-ancestor", "carry/lab3", "lab3")
        tree = self.src().render("carry", 3)
        self.assertEqual(labgen.git_tree_id(tree), self.git(a, "rev-parse", "carry/lab3^{tree}"))

    def test_out_inside_a_work_tree(self):
        # A new folder inside another repository's work tree gets its own repository.
        self.git(self.root, "init", "-q")
        self.git(self.root, "add", "-A")
        out = os.path.join(self.root, "student-out")
        self.gen(out)
        self.assertEqual(subprocess.run(["git", "-C", self.root, "rev-parse", "-q", "--verify",
                                         "refs/heads/lab1"], stdout=subprocess.PIPE).returncode, 1)
        self.assertEqual(self.git(out, "rev-parse", "--show-toplevel"), os.path.realpath(out))

    def foreign_repo(self, path):
        os.makedirs(path)
        self.git(path, "init", "-q")
        write(path, {"mine.txt": "my work\n"})
        self.git(path, "add", "mine.txt")
        self.git(path, *GIT_ID, "commit", "-q", "-m", "mine")
        self.git(path, "branch", "lab1")

    def test_refuses_foreign_repository(self):
        out = os.path.join(self.tmp, "other")
        self.foreign_repo(out)
        before = self.refs(out)
        with self.assertRaisesRegex(labgen.LabgenError, "labgen did not create"):
            self.gen(out)
        write(out, {"mine.txt": "edited\n"})	# a dirty work tree: still refused
        with self.assertRaisesRegex(labgen.LabgenError, "labgen did not create"):
            self.gen(out)
        self.assertEqual(self.refs(out), before)
        self.assertEqual(self.git(out, "status", "--porcelain"), "M mine.txt")
        self.assertEqual(sorted(os.listdir(out)), [".git", "mine.txt"])
        # An empty bare repository is not labgen's either.
        bare = os.path.join(self.tmp, "bare.git")
        subprocess.run(["git", "init", "-q", "--bare", bare], check=True)
        with self.assertRaisesRegex(labgen.LabgenError, "labgen did not create"):
            self.gen(bare)
        self.assertEqual(self.refs(bare), "")
        # The reference repository itself.
        with self.assertRaisesRegex(labgen.LabgenError, "reference repository"):
            self.gen(self.root)

    def test_refuses_uncommitted_changes(self):
        a = os.path.join(self.tmp, "a")
        self.gen(a)
        self.assertEqual(self.git(a, "config", labgen.OWNER_KEY), "true")
        before = self.refs(a)
        write(self.root, {"src/two.c": TWO_C + "int more(void) { return 3; }\n"})	# new trees
        for change in ({"src/main.c": "edited\n"}, {"scratch.txt": "untracked\n"}):
            write(a, change)
            with self.assertRaisesRegex(labgen.LabgenError, "uncommitted changes"):
                self.gen(a)
            self.assertEqual(self.refs(a), before)
            path, text = list(change.items())[0]
            with open(os.path.join(a, path)) as f:
                self.assertEqual(f.read(), text)
            self.git(a, "checkout", "-q", "--", ".")
            if os.path.exists(os.path.join(a, "scratch.txt")):
                os.remove(os.path.join(a, "scratch.txt"))
        log = self.gen(a)	# clean again: updated
        self.assertTrue(any(l.startswith("lab2 ") and "updated" in l for l in log), log)

    def test_marker_error_writes_nothing(self):
        write(self.root, {"src/bad.c": "//@ LAB 1 BEGIN\n"})
        out = os.path.join(self.tmp, "o")
        with self.assertRaises(labgen.LabgenError):
            self.gen(out)
        self.assertFalse(os.path.exists(out))

    def test_leak_writes_nothing(self):
        write(self.root, {"handouts/lab3-three.md": "\treturn compute_three() + 12345;\n"})
        out = os.path.join(self.tmp, "o")
        with self.assertRaises(labgen.LabgenError):
            self.gen(out)
        self.assertFalse(os.path.exists(out))


# The exit statuses in these samples of the grader's JSON, and the facts
# validate reads them with (the kernel's are build/strata_facts.py's).
SAMPLE_FACTS = types.SimpleNamespace(STATUS_PASS=33, STATUS_FAIL=35, STATUS_PANIC=37)


def result(name, verdict="FAIL", status=35, reason="kernel exited with status 35 (test "
           "failed), expected pass", lab=2, ended="exit"):
    """One test of the grader's --json results; ended: how the run ended
    (exit_status is None unless it is "exit")."""
    return {"lab": lab, "name": name, "verdict": verdict, "reason": reason, "exit_status": status,
            "ended": ended}


class ValidateJudge(unittest.TestCase):
    """validate.py's reading of the grader's --json results for branch lab2."""

    def judge(self, own, rc=1, setup_error=None, exercises=True):
        res = {"setup_error": setup_error, "tests": [result("boot", "OK", 33, "", lab=1)] + own}
        return validate.judge_grade(2, 1, res, rc, SAMPLE_FACTS, exercises)

    def test_lab_without_exercises(self):
        """A lab with no stubs yet: its tests must pass, and the line says why."""
        parts, problems = self.judge([result("a", "OK", 33, ""), result("b", "OK", 33, "")],
                                     rc=0, exercises=False)
        self.assertEqual(problems, [])
        self.assertEqual(parts, ["labs 1-2: 3/3 OK",
                                 "lab 2 has no exercises yet (no LAB 2 STUB): its tests pass"])
        parts, problems = self.judge([result("a", "OK", 33, ""), result("b")], exercises=False)
        self.assertEqual(len(problems), 1)
        self.assertIn("lab2/b: FAIL, expected OK (lab 2 has no exercises yet)", problems[0])

    def test_clean_failures(self):
        parts, problems = self.judge([
            result("a"), result("b", status=37, reason="kernel panic: out of memory"),
            result("c", status=33, reason="expected line 2 not found: `x` (c.trace:3)"),
            result("d", status=0, reason="expected line 1 not found: `K> ` (d.trace:2)"),
            result("e", status=None, reason="the kernel sits at its prompt `K>` waiting "
                   "for input (idle 1.0s), but ...", ended="input")])
        self.assertEqual(problems, [])
        self.assertEqual(parts, ["lab 1: 1/1 OK", "lab 2: 5/5 fail with stubs (5 FAIL)"])

    def test_unclean_failures(self):
        parts, problems = self.judge([
            result("ok"),
            result("hang", "TIMEOUT", None, "timed out (limit 5.0s CPU) — last expected line ...",
                   ended="timeout"),
            result("triple", status=0, reason="QEMU reset: triple fault (an exception with no "
                   "working handler)"),
            result("reset", status=0, reason="QEMU reset (triple fault?)"),
            result("signal", status=-11, reason="QEMU killed by signal 11"),
            result("noexit", status=None, reason="kernel printed `TEST x: FAIL` (line 3) but QEMU "
                   "did not exit within 1.0s CPU", ended="grace"),
            result("flood", status=None, reason="output flood: more than 1 MiB of output",
                   ended="flood"),
            result("qemu1", status=1, reason="QEMU exited with status 1: qemu: fatal"),
            result("odd", status=9, reason="QEMU exited with status 9 (isa-debug-exit value 4)"),
            result("error", "ERROR", None, "cannot start qemu", ended="error"),
            result("notest", status=35, reason="kernel has no test `x` (line 1); known tests: y")])
        names = [p.split(":")[0].strip() for p in problems]
        self.assertEqual(names, ["lab2/" + n for n in ("hang", "triple", "reset", "signal",
                                                       "noexit", "flood", "qemu1", "odd",
                                                       "error", "notest")])
        self.assertIn("timed out", problems[0])
        self.assertIn("triple fault", problems[1])
        self.assertEqual(parts[1], "lab 2: 1/11 fail with stubs (1 FAIL, 1 ERROR, 3 QEMU crash, "
                         "2 QEMU reset, 1 TIMEOUT, 1 flood, 1 no exit, 1 not run)")

    def test_setup_error_and_pass(self):
        parts, problems = self.judge([], rc=2, setup_error="build failed")
        self.assertTrue(any("SETUP ERROR: build failed" in p for p in problems), problems)
        self.assertTrue(any("no tests" in p for p in problems), problems)
        parts, problems = self.judge([result("a"), result("b", "OK", 33, "")])
        self.assertIn("PASS with stubs: b", parts)
        self.assertEqual(len(problems), 1)


class RealTree(unittest.TestCase):
    """What this repository's own markers give (fast: no build)."""

    @classmethod
    def setUpClass(cls):
        cls.src = labgen.Source(labgen.DEFAULT_ROOT)

    def test_gdb_helpers_come_with_their_lab(self):
        labs = {f.path: f.lab for f in self.src.files}
        self.assertEqual(labs.get("tools/gdb/strata_gdb/buddy.py"), 2)
        self.assertEqual(labs.get("tools/gdb/strata_gdb/buddy_struct.py"), 2)
        self.assertEqual(labs.get("tools/gdb/strata_gdb/heap.py"), 6)
        self.assertEqual(labs.get("tools/gdb/strata_gdb/heap_walk.py"), 6)
        self.assertEqual(labs.get("tools/gdb/strata_gdb/threads.py"), 7)
        self.assertIsNone(labs.get("tools/gdb/strata_gdb/__init__.py"))
        self.assertIsNone(labs.get("tools/gdb/strata.py"))

    def test_readme_has_no_instructor_text(self):
        for n in sorted(self.src.labs):
            text = self.src.render("catchup", n)["README.md"][1].decode()
            self.assertNotIn("## For instructors", text)
            self.assertNotIn("student-repo", text)
            self.assertNotIn("tools/labgen", text)

    @unittest.skipUnless(shutil.which("gdb"), "no gdb")
    def test_gdb_banner_in_lab1(self):
        tmp = tempfile.mkdtemp(prefix="labgen-test-gdb-")
        try:
            for n, want, absent in ((1, (), ("strata-buddy", "strata-heap", "strata-threads")),
                                    (6, ("strata-buddy", "strata-heap"), ("strata-threads",)),
                                    (7, ("strata-heap", "strata-threads"), ())):
                d = os.path.join(tmp, str(n))
                labgen.write_tree(self.src.render("catchup", n), d)
                r = subprocess.run(["gdb", "-batch", "-nx", "-ex", "source tools/gdb/strata.py",
                                    "-ex", "strata-help"], cwd=d, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=60)
                out = r.stdout.decode(errors="replace")
                self.assertIn("strata-walk", out)
                self.assertNotIn("Error", out)
                for w in want:
                    self.assertIn(w, out)
                for w in absent:
                    self.assertNotIn(w, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
