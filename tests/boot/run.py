#!/usr/bin/env python3
"""Boot tests: the kernel boots on every machine Strata supports, and says so
where it cannot (issue 15).

    python3 tests/boot/run.py            # make test: the checks below and a reduced matrix
    python3 tests/boot/run.py --matrix   # make test-matrix: the whole boot matrix

The boot matrix boots build/kernel.elf (-kernel, test=boot) and
build/strata.iso (GRUB, the monitor, reboot) with every memory size from
the smallest supported (MEMORY_MIN_MIB, src/kernel/layout.h) to 5G and
1 to 16 CPUs. The cases are graded by the grader itself (a generated labs
folder, --labs-dir), so a failure reads like any test's.

Below the minimum, each place that can still print says so in one line:
the kernel (-kernel -m 2M or 3M, GRUB -m 3M), GRUB (-m 2M: its own "out of
memory" on the serial port, then tools/grub.cfg's line and status 39) and
`make qemu` (-m 1M, where nothing else runs at all).

Needs build/kernel.elf and build/strata.iso (make kernel iso) and QEMU.
The last line is `N passed, M failed`; the exit status is non-zero if any
failed. Every QEMU has a time limit and is killed at the end."""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KERNEL = os.path.join(ROOT, "build", "kernel.elf")
ISO = os.path.join(ROOT, "build", "strata.iso")
GRADE = os.path.join(ROOT, "grader", "grade.py")
QEMU = os.environ.get("QEMU", "qemu-system-i386")
QEMU_TIMEOUT = 20	# wall seconds for one direct QEMU run (they take under 2)

MEMORY = ["4M", "5M", "6M", "8M", "16M", "32M", "64M", "128M", "256M", "512M", "1G",
          "2G", "3G", "3584M", "4G", "5G"]
CPUS = [1, 2, 3, 4, 8, 16]
# make test's reduced matrix: both ends of both axes, both boot paths.
REDUCED = [("4M", 1, "kernel"), ("4M", 1, "iso"), ("5G", 16, "kernel"), ("5G", 16, "iso"),
           ("3584M", 4, "kernel")]

KERNEL_TRACE = """\
# test=boot on -m {memory} -smp {cpus}
[boot] loader: qemu
[memmap] {{dec}} KiB available
TEST boot: PASS
"""
ISO_TRACE = """\
# GRUB, then the monitor, on -m {memory} -smp {cpus}
@exit reset
[boot] loader: GRUB 2.{{any}}
[memmap] {{dec}} KiB available
Strata kernel monitor. Type 'help' for a list of commands.
> reboot
rebooting
"""

passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s" % name)
    else:
        failed += 1
        print("FAIL %s%s" % (name, ": " + detail if detail else ""))
    return ok


def memory_min():
    with open(os.path.join(ROOT, "src", "kernel", "layout.h")) as f:
        return int(re.search(r"^#define\s+MEMORY_MIN_MIB\s+(\d+)", f.read(), re.M).group(1))


# ---- the matrix ------------------------------------------------------------------

def case_name(memory, cpus, boot):
    return "%s-%s-%dcpu" % (boot, memory, cpus)


def write_matrix(workdir, cases):
    lab = os.path.join(workdir, "labs", "lab1-matrix")
    os.makedirs(lab)
    tests = []
    for memory, cpus, boot in cases:
        name = case_name(memory, cpus, boot)
        t = {"name": name, "points": 1, "memory": memory, "cpus": cpus,
             "trace": name + ".trace", "boot": boot}
        text = (ISO_TRACE if boot == "iso" else KERNEL_TRACE).format(memory=memory, cpus=cpus)
        if boot == "iso":
            t.update(cmdline="", timeout=30)
        else:
            t.update(cmdline="test=boot")
        with open(os.path.join(lab, t["trace"]), "w") as f:
            f.write(text)
        tests.append(t)
    with open(os.path.join(lab, "lab.json"), "w") as f:
        json.dump({"lab": 1, "title": "boot matrix", "tests": tests}, f, indent=1)
    return os.path.dirname(lab)


def matrix(cases, workdir, verbose):
    labs = write_matrix(workdir, cases)
    js = os.path.join(workdir, "matrix.json")
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, GRADE, "-C", ROOT, "--labs-dir", labs, "--no-build",
                        "--kernel", KERNEL, "--iso", ISO, "--out", os.path.join(workdir, "out"),
                        "--json", js], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=1800)
    seconds = time.monotonic() - t0
    try:
        with open(js) as f:
            results = {t["name"]: t for t in json.load(f)["tests"]}
    except (OSError, ValueError):
        check("boot matrix: the grader ran", False, p.stdout.strip()[-2000:])
        return
    for memory, cpus, boot in cases:
        name = case_name(memory, cpus, boot)
        t = results.get(name)
        ok = t is not None and t["verdict"] == "OK"
        check("boot %-6s -m %-5s -smp %-2d" % (boot, memory, cpus), ok,
              "%s: %s" % (t["verdict"], t["reason"]) if t else "no result")
    ok = sum(1 for t in results.values() if t["verdict"] == "OK")
    print("     boot matrix: %d of %d cases OK in %.1f s (QEMU CPU %.1f s)"
          % (ok, len(cases), seconds, sum(t["cpu_seconds"] for t in results.values())))
    if verbose or ok != len(cases):
        print("     | " + "\n     | ".join(p.stdout.strip().splitlines()[-30:]))


# ---- too little memory -------------------------------------------------------------

def boot_direct(args, workdir, name):
    """QEMU on its own, serial to a file: (exit status or None, serial text)."""
    serial = os.path.join(workdir, name + ".serial")
    cmd = [QEMU, "-display", "none", "-monitor", "none", "-serial", "file:" + serial,
           "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"] + args
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=QEMU_TIMEOUT)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        status = None
    try:
        with open(serial, errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "")
    return status, text


def grub_out_of_memory(status, text):
    return (status == 39 and "error: out of memory." in text
            and "GRUB could not load /boot/kernel.elf" in text)


def small_memory(workdir):
    least = memory_min()
    line = ("[boot] %%d MiB of memory is too little: Strata needs at least %d MiB (QEMU -m %dM)"
            % (least, least))
    for memory in ("2M", "3M"):
        status, text = boot_direct(["-kernel", KERNEL, "-append", "test=boot", "-m", memory],
                                   workdir, "kernel-" + memory)
        want = line % int(memory[:-1])
        check("-kernel -m %s: the kernel says it is too little and exits (status 35)" % memory,
              status == 35 and want in text.splitlines(),
              "status %s, last output %r" % (status, text.strip().splitlines()[-2:]))
    # With 3M, GRUB loads the kernel if it fits (the kernel then says so) or
    # runs out of memory itself (and says so): either way one line says why.
    status, text = boot_direct(["-cdrom", ISO, "-m", "3M"], workdir, "iso-3M")
    check("ISO -m 3M: the kernel, or GRUB, says the memory is too little",
          (status == 35 and (line % 3) in text.splitlines()) or grub_out_of_memory(status, text),
          "status %s, last output %r" % (status, text.strip().splitlines()[-2:]))
    status, text = boot_direct(["-cdrom", ISO, "-m", "2M"], workdir, "iso-2M")
    check("ISO -m 2M: GRUB's own error on the serial port, then status 39, no key wait",
          grub_out_of_memory(status, text),
          "status %s, output %r" % (status, text.strip().splitlines()[-3:]))
    for target in ("qemu-nox", "qemu-gdb"):
        t0 = time.monotonic()
        p = subprocess.run(["make", "-s", "--no-print-directory", target, "MEM=1M"], cwd=ROOT,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=120)
        said = [l for l in p.stdout.splitlines() if "too little memory" in l]
        check("make %s MEM=1M refuses in one line, without starting QEMU" % target,
              p.returncode != 0 and len(said) == 1
              and "Strata needs at least %dM" % least in said[0]
              and time.monotonic() - t0 < 60, repr(p.stdout.strip()[-300:]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--matrix", action="store_true", help="the whole boot matrix")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    for path in (KERNEL, ISO):
        if not os.path.exists(path):
            print("%s is missing: make kernel iso" % os.path.relpath(path, ROOT))
            print("0 passed, 1 failed")
            return 1
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="strata-boot-") as workdir:
        if a.matrix:
            cases = [(m, c, b) for b in ("kernel", "iso") for m in MEMORY for c in CPUS]
        else:
            small_memory(workdir)
            cases = REDUCED
        matrix(cases, workdir, a.verbose)
    print("(%.1f s)" % (time.monotonic() - started))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
