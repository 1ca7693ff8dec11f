#!/usr/bin/env python3
"""make bench: every benchmark figure with its target and verdict.

Verdicts are taken on instruction counts, measured with
valgrind --tool=callgrind: each benchmark binary brackets the part it
measures with callgrind client requests and dumps the counts of each part
separately (bench/bench_*.c say how), so a figure is the same on an idle
and on a loaded machine, run after run. Times are reported beside them as
medians of interleaved repeats (the allocators alternate within one
process); the one target set in time (malloc mixed) has its verdict too,
the other times are for information. Times are the benchmark thread's CPU
time (CLOCK_THREAD_CPUTIME_ID), so the time it spends preempted on a loaded
machine is not in them.

That time verdict is taken, as issue 17 sets it, on the median, here of
the ratios strata/glibc of each repeat (the two runs of a repeat are back
to back, in alternating order, so they see the same load). Beside it is a
band: the order statistics of those ratios that hold their median with at
least 90 % confidence (sign test); a band that reaches past the target is
said to, so a PASS within the noise of the run is visible as one.

    python3 bench/bench.py BUILD_DIR [--reps N] [--no-smp]

BUILD_DIR holds host/bench_malloc and host/bench_buddy (a lab branch may
have neither or one: only those there are run). The exit status
is 0 whatever the verdicts (a MISS is a figure, not a failure); 1 if a
benchmark could not be run.
"""
import argparse
import glob
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile


def callgrind(binary, *args):
    """Runs binary under callgrind; returns (stdout, {dump name: instructions})."""
    with tempfile.TemporaryDirectory(prefix="strata-bench-") as tmp:
        out = os.path.join(tmp, "cg.out")
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", "--collect-atstart=no",
             "--callgrind-out-file=" + out, binary, *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            raise SystemExit("bench: %s under callgrind failed (status %d)"
                             % (binary, proc.returncode))
        counts = {}
        for path in glob.glob(out + ".*"):
            name = total = None
            with open(path) as f:
                for line in f:
                    m = re.match(r"desc: Trigger: Client Request: (\S+)", line)
                    if m:
                        name = m.group(1)
                    m = re.match(r"totals: (\d+)", line)
                    if m:
                        total = int(m.group(1))
            if name is not None and total is not None:
                counts[name] = total
        return proc.stdout, counts


def run(binary, *args):
    proc = subprocess.run([binary, *args], stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit("bench: %s failed (status %d)" % (binary, proc.returncode))
    return proc.stdout


def verdict(value, target, at_most=True):
    ok = value <= target if at_most else value >= target
    return "PASS" if ok else "MISS"


BUDDY_REPS = 5      # the buddy's times have no verdict


def median_band(values, confidence=0.90):
    """(low, median, high): the median of values and the order statistics
    around it that hold the true median with probability >= confidence
    (the sign test's interval: binomial(n, 1/2) tails)."""
    v = sorted(values)
    n = len(v)
    med = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    # the largest j with P(Bin(n, 1/2) <= j - 1) <= (1 - confidence) / 2
    tail, j = 0.0, 0
    while True:
        p = math.comb(n, j) / 2.0 ** n
        if tail + p > (1 - confidence) / 2:
            break
        tail += p
        j += 1
    if j == 0:          # too few repeats for that confidence: the whole range
        return v[0], med, v[-1]
    return v[j - 1], med, v[n - j]


def row(figure, value, unit, target_text, result):
    print("  %-52s %10s %-4s %-14s %s" % (figure, value, unit, target_text, result))


def malloc_figures(build, reps):
    binary = os.path.join(build, "host", "bench_malloc")
    out, cg = callgrind(binary, "count")
    ops = {m.group(1): int(m.group(2))
           for m in re.finditer(r"^count (\S+) ops (\d+)$", out, re.M)}
    tout = run(binary, "time", str(reps))
    times = {(m.group(1), m.group(2)): float(m.group(3))
             for m in re.finditer(r"^time (\S+) (\S+) median_ns ([\d.]+)", tout, re.M)}
    pairs = {(m.group(1), int(m.group(2))): (float(m.group(3)), float(m.group(4)))
             for m in re.finditer(r"^pair (\S+) (\d+) libc_ns ([\d.]+) strata_ns ([\d.]+)",
                                  tout, re.M)}
    mem = {m.group(1): (int(m.group(2)), int(m.group(3)))
           for m in re.finditer(r"^memory mixed (\S+) peak_memory (\d+) peak_live (\d+)",
                                tout, re.M)}

    def per_op(w, a):
        return cg["%s/%s" % (w, a)] / ops[w]

    print("malloc (bench/bench_malloc.c): strata's heap vs glibc's malloc")
    print("  instructions per op (callgrind, the verdicts' figure); median ns of %d"
          " interleaved repeats" % reps)
    print("  %-10s %12s %12s %12s %12s" % ("workload", "strata ins", "glibc ins",
                                         "strata ns", "glibc ns"))
    for w, what in (("mixed", "free+malloc"), ("batch64", "malloc+free"),
                    ("realloc", "realloc")):
        print("  %-10s %12.1f %12.1f %12.1f %12.1f   (per %s)" % (
            w, per_op(w, "strata"), per_op(w, "libc"), times[(w, "strata")],
            times[(w, "libc")], what))
    print()
    for w, target, label in (("mixed", 1.0, "mixed: instructions per pair, strata/glibc"),
                             ("batch64", 1.5, "batch of 64-byte blocks: instructions, strata/glibc"),
                             ("realloc", 1.2, "realloc growth: instructions, strata/glibc")):
        r = per_op(w, "strata") / per_op(w, "libc")
        row(label, "%.2f" % r, "x", "<= %.1fx" % target, verdict(r, target))
    ratios = [st / lc for (w, _), (lc, st) in pairs.items() if w == "mixed"]
    lo, med, hi = median_band(ratios)
    row("mixed: median time per pair, strata/glibc (%d repeats)" % len(ratios),
        "%.2f" % med, "x", "<= 1.0x", verdict(med, 1.0))
    print("    (90%% band of that median: %.2f-%.2f, %s)" % (
        lo, hi, "all of it <= 1.0x" if hi <= 1.0 else
        "it reaches past 1.0x: in this run the margin is within the noise"))
    for w in ("batch64", "realloc"):
        r = times[(w, "strata")] / times[(w, "libc")]
        row("%s: median time, strata/glibc" % w, "%.2f" % r, "x", "(information)", "-")
    peak, live = mem["strata"]
    over = 100.0 * (peak / live - 1)
    row("mixed: memory overhead (peak pages / peak live)", "%.1f" % over, "%", "<= 20%",
        verdict(over, 20.0))
    gpeak, glive = mem["libc"]
    row("mixed: glibc's memory overhead", "%.1f" % (100.0 * (gpeak / glive - 1)), "%",
        "(information)", "-")
    print()


def buddy_figures(build, reps):
    binary = os.path.join(build, "host", "bench_buddy")
    out, cg = callgrind(binary, "count")
    steps = {(m.group(1), int(m.group(2)), int(m.group(3))): int(m.group(4))
             for m in re.finditer(r"^count (\S+) (\d+) (\d+) steps (\d+)", out, re.M)}
    meta = {int(m.group(1)): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"^meta (\d+) buddy (\d+) flbuddy (\d+)", out, re.M)}
    tout = run(binary, "time", str(reps))
    times = {(m.group(1), int(m.group(2)), int(m.group(3))): float(m.group(4))
             for m in re.finditer(r"^time (\S+) (\d+) (\d+) steps \d+ median_ns ([\d.]+)",
                                  tout, re.M)}

    def ins(kind, units, live):
        return cg["%s/%d/%d" % (kind, units, live)] / steps[(kind, units, live)]

    def mib(units):
        m = units * 4 // 1024
        return "%d MiB" % m if m < 1024 else "%d GiB" % (m // 1024)

    print("buddy (bench/bench_buddy.c): the bitmap buddy vs a free-list buddy and the"
          " first-fit list")
    print("  instructions per alloc+free pair (callgrind); live allocations of 1..16 units"
          " of 4 KiB")
    print("  %-8s %5s %10s %10s %10s %9s %9s" % ("managed", "live", "buddy", "flbuddy",
                                                "list", "buddy ns", "flb ns"))
    combos = sorted({(u, l) for (_, u, l) in steps})
    for units, live in combos:
        t = times.get(("buddy", units, live))
        tf = times.get(("flbuddy", units, live))
        print("  %-8s %5d %10.1f %10.1f %10.1f %9s %9s" % (
            mib(units), live, ins("buddy", units, live), ins("flbuddy", units, live),
            ins("list", units, live), "%.1f" % t if t else "-", "%.1f" % tf if tf else "-"))
    print()
    top = max(meta)
    r = ins("buddy", top, 4096) / ins("flbuddy", top, 4096)
    row("4 GiB, 4096 live: instructions, buddy/free-list buddy", "%.2f" % r, "x", "<= 1.2x",
        verdict(r, 1.2))
    t = times[("buddy", top, 4096)] / times[("flbuddy", top, 4096)]
    row("4 GiB, 4096 live: median time, buddy/free-list buddy", "%.2f" % t, "x",
        "(information)", "-")
    b = meta[top][0] / top
    row("metadata at 4 GiB: bytes per page", "%.2f" % b, "B", "<= 1 B", verdict(b, 1.0))
    small = min(meta)
    row("metadata at %s: bytes per page (the fixed header)" % mib(small),
        "%.2f" % (meta[small][0] / small), "B", "(information)", "-")
    for live in sorted({l for (_, l) in combos}):
        sizes = sorted(u for (u, l) in combos if l == live)
        if len(sizes) < 2:
            continue
        g = ins("buddy", sizes[-1], live) / ins("buddy", sizes[0], live)
        row("%d live: growth %s -> %s, buddy instructions" % (live, mib(sizes[0]),
                                                               mib(sizes[-1])),
            "%.2f" % g, "x", "<= 1.2x", verdict(g, 1.2))
    # The first-fit list is the seed's allocator, kept for scale. Issue 17's
    # buddy targets are the three above (against the free-list buddy); the
    # old ">= 100x the list" is none of them, so it has no verdict.
    for units in sorted(u for (u, l) in combos if l == 4096):
        r = ins("list", units, 4096) / ins("buddy", units, 4096)
        row("%s, 4096 live: instructions, first-fit list/buddy" % mib(units), "%.0f" % r, "x",
            "(information)", "-")
    print("    (the first-fit list is the seed's allocator, for scale: issue 17's buddy targets"
          " are the\n     free-list buddy ratio, the metadata and the growth above; it sets"
          " none against the list)")
    print()


CONTENTION_BOOTS = 3


def contention_boot(cmd):
    """One boot of test=alloc_contention: ({"caches off": (heap, ppalloc),
    "caches on": ...}, output)."""
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=300).stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        out = ""
    runs = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in re.finditer(
        r"alloc_contention: (caches off|caches on):.*per 1e5 ops: heap (\d+), ppalloc (\d+)",
        out)}
    return runs, out


def contention_figures(build):
    """Boots the kernel CONTENTION_BOOTS times with -smp 4 and
    test=alloc_contention (labs/lab8-smp/mcachetests.c): lock waits per 10^5
    operations, caches off then on. A wait is counted, not timed, but how
    many acquisitions overlap depends on how the host schedules the vCPU
    threads (a lock holder descheduled for a host time slice makes every
    other CPU that wants the lock wait): the verdicts use the median boot."""
    kernel = os.path.join(build, "kernel.elf")
    facts = os.path.join(build, "strata_facts.py")
    if not os.path.exists(kernel) or "alloc_contention" not in open(
            os.path.join(os.path.dirname(__file__), "..", "labs", "lab8-smp",
                         "mcachetests.c")).read():
        return
    cmd = [sys.executable, os.path.join(os.path.dirname(__file__), "..", "tools", "run-qemu"),
           "--qemu", os.environ.get("QEMU", "qemu-system-i386"), "--facts", facts,
           "--kernel", kernel, "--append", "test=alloc_contention",
           "--console", "nographic", "--memory", "128M", "--cpus", "4"]
    initrd = os.path.join(build, "user.ar")
    if os.path.exists(initrd):
        cmd[cmd.index("--append"):cmd.index("--append")] = ["--initrd", initrd]
    print("contention (labs/lab8-smp/mcachetests.c, -smp 4, 4 workers): lock acquisitions "
          "that waited per 10^5 operations, median of %d boots" % CONTENTION_BOOTS)
    boots = []
    for _ in range(CONTENTION_BOOTS):
        runs, out = contention_boot(cmd)
        if "caches off" not in runs or "caches on" not in runs:
            why = re.search(r"(panic: [^\n]*|TEST alloc_contention: FAIL[^\n]*)", out)
            what = "caches on" if "caches off" in runs else "caches off"
            row("the run with the %s did not finish" % what, "-", "", ">= 10x fewer", "MISS")
            print("    (%s)" % (why.group(1) if why else "no output"))
            print()
            return
        boots.append(runs)
    for i, name in ((0, "heap"), (1, "ppalloc")):
        off = sorted(b["caches off"][i] for b in boots)[len(boots) // 2]
        on = sorted(b["caches on"][i] for b in boots)[len(boots) // 2]
        row("%s lock, caches off (boots: %s)" % (name, ", ".join(
            "%d" % b["caches off"][i] for b in boots)), "%d" % off, "", "(baseline)", "-")
        row("%s lock, caches on (boots: %s)" % (name, ", ".join(
            "%d" % b["caches on"][i] for b in boots)), "%d" % on, "", "", "-")
        r = off / max(on, 1)
        row("%s lock: caches off/on, medians" % name, "%.0f" % r, "x",
            ">= 10x", verdict(r, 10, at_most=False))
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("--reps", type=int, default=61,
                    help="interleaved repeats of the malloc times (the buddy's times,"
                    " for information only, take %d)" % BUDDY_REPS)
    ap.add_argument("--no-smp", action="store_true",
                    help="skip the contention figures (QEMU -smp 4)")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("bench: valgrind is missing: sudo apt-get install valgrind"
                         " (or: make deps)")
    print("== make bench: figures, targets and verdicts (verdicts on instruction counts)\n")
    ran = 0
    for name, figures in (("malloc", malloc_figures), ("buddy", buddy_figures)):
        if os.path.exists(os.path.join(args.build, "host", "bench_" + name)):
            figures(args.build, args.reps if name == "malloc" else BUDDY_REPS)
            ran += 1
    if ran == 0:
        print("(this tree has no benchmarks yet: they come with labs 2 and 6)")
    if not args.no_smp:
        contention_figures(args.build)
    return 0


if __name__ == "__main__":
    sys.exit(main())
