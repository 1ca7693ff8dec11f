#!/usr/bin/env python3
"""transcripts: re-run the GDB walk-throughs of the handouts and check that
what they show is what GDB prints today.

Each session below names a handout, the first `(gdb) ` line of its
transcript and how many ``` blocks (with `(gdb) ` lines) it spans. The
session runs on the lab's rendered, solved tree (`labgen.py --render N
--solved`, built in a temporary folder), optionally with one exercise put
back to a stub (the "before you have done it" outputs), in QEMU halted
for GDB, and GDB runs the transcript's own `(gdb) ` commands.

A transcript shows a subset of GDB's output ("..." marks lines left out,
and "Continuing." or "Run till exit ..." lines are often omitted): each
shown line must equal the next line of GDB's output that has its shape
(the same text once numbers are set aside), in order ("Run till exit" and
"Continuing." are not compared: GDB prints them only to a terminal). A
shown line with no
such line, or one that differs, is reported as `handout:line: ...`.

Usage:
  python3 tools/labgen/transcripts.py [--write] [--only TEXT] [-v]
  make transcripts
--write replaces each differing line by GDB's and reports the lines it
could not place (to be fixed by hand). Needs gdb and qemu-system-i386;
takes a few minutes (it builds one tree per lab). Not part of make test;
like the rest of tools/labgen/, not in the student branches.
"""
import argparse
import difflib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# An exercise put back to its stub for the outputs a handout shows "before".
EX4_NOT_DONE = ("src/mm/paging.c",
                r"\tfor \(unsigned i = 0; i < USER_PDES; i\+\+\)\n\t\tboot_pgdir\[i\] = 0;\n"
                r"\twrite_cr3\(init_pd.phys\);\n", "")
COALESCE_STUB = ("src/mm/malloc.c",
                 r"(static struct chunk \*coalesce\(struct chunk \*c\)\n\{\n).*?\n\}\n",
                 "\\1\treturn c;\n}\n")

# (handout, lab, kernel command line, first (gdb) line, blocks, options)
SESSIONS = [
    ("handouts/lab1-boot.md", 1, "test=pf_write", "(gdb) strata-pf", 6, {}),
    ("handouts/lab1-boot.md", 1, "test=boot", "(gdb) x/32i _start", 3, {}),
    ("handouts/lab2-buddy.md", 2, "test=ppalloc_minmax",
     "(gdb) break ppalloc if max_pages == 3", 3, {}),
    ("handouts/lab3-vpalloc.md", 3, "test=vpalloc_region", "(gdb) break vpalloc", 4, {}),
    ("handouts/lab3-vpalloc.md", 3, "test=vpalloc_kernel",
     "(gdb) break vpalloc if vpa == 0", 1, {}),
    ("handouts/lab4-paging.md", 4, "test=null_read", "(gdb) strata-pf", 1, {}),
    ("handouts/lab4-paging.md", 4, "test=null_read", "(gdb) break ktest_null_read", 1,
     {"patch": EX4_NOT_DONE}),
    ("handouts/lab4-paging.md", 4, "test=map_inactive",
     "(gdb) break map_mem if pd == &second", 2, {}),
    ("handouts/lab5-kvmalloc.md", 5, "test=kvmalloc_sizes",
     "(gdb) break kvmalloc if min_pages == 3", 1, {}),
    ("handouts/lab5-kvmalloc.md", 5, "test=kvmalloc_map_fails", "(gdb) break kvmalloc", 1,
     {"mem": "32M"}),
    ("handouts/lab6-malloc.md", 6, "test=malloc_coalesce",
     "(gdb) break ktest_malloc_coalesce", 2, {}),
    ("handouts/lab6-malloc.md", 6, "test=malloc_coalesce", "(gdb) strata-heap", 1,
     {"patch": COALESCE_STUB, "pre": ["break ktest_malloc_coalesce", "continue", "break free",
                                      "continue", "continue", "continue", "finish"],
      "block_after": "(gdb) strata-heap --lists --summary"}),
    ("handouts/lab6-malloc.md", 6, "test=malloc_realloc", "(gdb) break ktest_malloc_realloc", 1,
     {}),
    # Cooperative yields only: the timer is stopped with QEMU while GDB holds
    # it, and no tick lands between these stops (checked over repeated runs).
    # The preempted spinner of test=preempt is left as prose: where the
    # timer catches it, and so its saved esp, varies from run to run.
    ("handouts/lab7-threads.md", 7, "test=yield_order", "(gdb) break yielder", 4, {}),
    # A user program's stack-growth fault: the programs' archive as -initrd.
    ("handouts/lab7-threads.md", 7, "test=user_stack", "(gdb) strata-pf", 3, {"initrd": True}),
    # Stopped on an AP's vCPU: every CPU is halted while GDB holds QEMU.
    ("handouts/lab8-smp.md", 8, "test=smp_boot", "(gdb) break ktest_smp_boot", 3,
     {"cpus": "4"}),
    ("tools/gdb/README.md", 0, "test=pf_read", "(gdb) strata-pf", 1, {}),
    ("tools/gdb/README.md", 0, "test=pf_read", "(gdb) walk &kernel_main", 2,
     {"pre": ["strata-pf"]}),
    ("tools/gdb/README.md", 0, "test=pf_write", "(gdb) strata-bt", 1, {"pre": ["strata-pf"]}),
]


# Lines GDB prints only to a terminal, not in a batch run: not compared.
INTERACTIVE_ONLY = ("Run till exit from ", "Continuing.")


def blocks_of(lines):
    fences = [i for i, l in enumerate(lines) if l.startswith("```")]
    return [(a, b) for a, b in zip(fences[0::2], fences[1::2])
            if any(l.startswith("(gdb) ") for l in lines[a + 1:b])]


def session_blocks(lines, first, count, after=None):
    """The count blocks (with (gdb) lines) from the one holding line first
    (after the block holding line `after`, if given)."""
    spans = blocks_of(lines)
    start = 0
    if after:
        start = next(i for i, (a, b) in enumerate(spans) if after in lines[a + 1:b]) + 1
    for i in range(start, len(spans)):
        a, b = spans[i]
        if first in lines[a + 1:b]:
            return spans[i:i + count]
    raise SystemExit("transcripts: %s not found" % first)


def shape(line):
    m = re.match(r"(\s+\d+|#\d+)(?=\s)", line)	# a table row's or a frame's own number
    lead, rest = (m.group(0), line[m.end():]) if m else ("", line)
    rest = re.sub(r"0x[0-9a-fA-F]+", "H", rest)
    rest = re.sub(r"\d+", "N", rest)
    return lead.strip() + rest.strip()


def like(real, shown):
    """real as the transcript would show it if it has shown's shape, else
    None. A shown line that ends in "..." stands for a longer line: real's
    shortest prefix of the same shape, then "..."."""
    if real == shown or shape(real) == shape(shown):
        return real
    if shown.endswith("..."):
        want = shape(shown[:-3])
        for k in range(1, len(real) + 1):
            if shape(real[:k]) == want and (k == len(real) or real[k] in " ,)"):
                return real[:k] + "..."
    return None


def tree_for(lab, patch, cache):
    key = (lab, patch)
    if key in cache:
        return cache[key]
    tree = tempfile.mkdtemp(prefix="strata-transcripts-")
    os.rmdir(tree)
    n = lab or max(int(m.group(1)) for m in
                   (re.match(r"lab(\d+)-", d) for d in os.listdir(os.path.join(ROOT, "labs"))) if m)
    subprocess.run([sys.executable, "tools/labgen/labgen.py", "--render", str(n), "--solved",
                    "--out-tree", tree], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    if patch:
        path, pattern, repl = patch
        with open(os.path.join(tree, path)) as f:
            text = f.read()
        new, k = re.subn(pattern, repl, text, count=1, flags=re.S)
        if k != 1:
            raise SystemExit("transcripts: the stub patch does not apply to %s" % path)
        with open(os.path.join(tree, path), "w") as f:
            f.write(new)
    subprocess.run(["make", "-s", "kernel"], cwd=tree, check=True, stdout=subprocess.DEVNULL)
    cache[key] = tree
    return tree


def run_gdb(tree, cmdline, mem, pre, commands, initrd=False, cpus="1"):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    qemu = subprocess.Popen(
        ["qemu-system-i386", "-kernel", "build/kernel.elf", "-append", cmdline, "-nographic",
         "-m", mem, "-smp", cpus, "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
         "-S", "-gdb", "tcp:127.0.0.1:%d" % port]
        + (["-initrd", "build/user.ar"] if initrd else []),
        cwd=tree, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    args = ["gdb", "-q", "-nx", "-batch", "-iex", "set auto-load safe-path /",
            "-ex", "set architecture i386", "-ex", "set confirm off", "-ex", "set pagination off",
            "-ex", "set width 0", "-ex", "file build/kernel.elf",
            "-ex", "source tools/gdb/strata.py", "-ex", "target remote 127.0.0.1:%d" % port]
    for c in pre:
        args += ["-ex", c]
    args += ["-ex", "echo @@START\\n"]
    for c in commands:
        args += ["-ex", "echo (gdb) %s\\n" % c.replace("\\", "\\\\"), "-ex", c]
    try:
        out = subprocess.run(args, cwd=tree, capture_output=True, text=True, timeout=180)
    finally:
        qemu.kill()
        qemu.wait()
    return (out.stdout + out.stderr).split("@@START\n", 1)[-1].split("\n")


def match(lines, spans, real):
    """(new lines, problems): each shown line replaced by GDB's line of the
    same shape; problems are (index, message)."""
    new, problems, j = list(lines), [], 0
    for a, b in spans:
        for i in range(a + 1, b):
            line = lines[i]
            if line.strip() in ("", "...") or line.startswith(INTERACTIVE_ONLY):
                continue
            if line.startswith("(gdb) "):
                if line in real[j:]:
                    j = real.index(line, j) + 1
                else:
                    problems.append((i, "command not run: " + line))
                continue
            k, found = j, None
            while k < len(real) and not real[k].startswith("(gdb) "):
                got = like(real[k], line)
                if got is not None:
                    found = k
                    break
                k += 1
            if found is None:
                problems.append((i, "GDB prints no line like: " + line))
                continue
            if got != line:
                problems.append((i, "GDB prints: " + got))
                new[i] = got
            j = found + 1
    return new, problems


def main(argv=None):
    ap = argparse.ArgumentParser(description="Check the handouts' GDB transcripts against GDB.")
    ap.add_argument("--write", action="store_true", help="replace differing lines by GDB's")
    ap.add_argument("--only", metavar="TEXT", help="only sessions whose handout contains TEXT")
    ap.add_argument("-v", "--verbose", action="store_true", help="print GDB's whole output")
    opts = ap.parse_args(argv)
    for tool in ("gdb", "qemu-system-i386"):
        if not shutil.which(tool):
            raise SystemExit("transcripts: %s is missing (make deps)" % tool)
    cache, bad = {}, 0
    try:
        for handout, lab, cmdline, first, count, o in SESSIONS:
            if opts.only and opts.only not in handout:
                continue
            path = os.path.join(ROOT, handout)
            with open(path) as f:
                lines = f.read().split("\n")
            spans = session_blocks(lines, first, count, o.get("block_after"))
            commands = [l[len("(gdb) "):] for a, b in spans for l in lines[a + 1:b]
                        if l.startswith("(gdb) ")]
            tree = tree_for(lab, o.get("patch"), cache)
            real = run_gdb(tree, cmdline, o.get("mem", "128M"), o.get("pre", []), commands,
                           o.get("initrd", False), o.get("cpus", "1"))
            if opts.verbose:
                print("\n".join(real))
            new, problems = match(lines, spans, real)
            for i, msg in problems:
                print("%s:%d: %s" % (handout, i + 1, msg))
            bad += len(problems)
            print("%s %s: %s" % ("FAIL" if problems else "ok  ", handout, first))
            if opts.write and new != lines:
                with open(path, "w") as f:
                    f.write("\n".join(new))
    finally:
        for tree in cache.values():
            shutil.rmtree(tree, ignore_errors=True)
    print("transcripts: %d line(s) differ from GDB" % bad if bad else "transcripts: all match GDB")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
