#!/usr/bin/env python3
"""A stand-in for qemu-system-i386 used by a few self-tests to produce
behaviour the real kernel never shows: a kernel that prints its TEST line
but never exits, and a QEMU that leaves a child process behind.  The
behaviour is chosen by -append "test=NAME"; test=replay prints the file
$STRATA_FAKE_REPLAY (a recorded transcript) and exits as a pass.  It
passes the grader's preflight (-qmp stdio) as QEMU does."""

import os
import subprocess
import sys
import time

GRADER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, GRADER)
from strata_grader import facts  # noqa: E402

F = facts.load(os.path.join(os.path.dirname(GRADER), "build"))
args = sys.argv[1:]
if args[:1] == ["--version"]:
    print("QEMU emulator version 0.0 (fake for the grader self-tests)")
    sys.exit(0)
if "-qmp" in args:
    # the grader's preflight (preflight.py): greet, then quit when told
    print('{"QMP": {"version": {}, "capabilities": []}}', flush=True)
    for line in sys.stdin:
        print('{"return": {}}', flush=True)
        if '"quit"' in line:
            break
    sys.exit(0)
if args[:1] == ["--child"]:
    time.sleep(300)
    sys.exit(0)
cmdline = args[args.index("-append") + 1] if "-append" in args else ""
test = cmdline.split("test=", 1)[1].split()[0] if "test=" in cmdline else ""
nonce = " nonce=" + cmdline.split("nonce=", 1)[1].split()[0] if "nonce=" in cmdline else ""
out = sys.stdout
out.write("fake qemu: %s\n" % test)
out.flush()
if test == "replay":
    # a kernel that prints a transcript recorded from another run
    with open(os.environ["STRATA_FAKE_REPLAY"]) as f:
        out.write(f.read())
    out.flush()
    os._exit(F.STATUS_PASS)
if test == "noexit":
    out.write("TEST noexit: PASS%s\n" % nonce)
    out.flush()
    while True:
        pass
if test == "child":
    marker = args[args.index("-D") + 1]
    subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", marker])
    out.write("child started\n")
    out.flush()
    time.sleep(300)
if test == "echo":
    for line in iter(lambda: os.read(0, 100), b""):
        out.write("got %r\n" % line.decode())
        out.flush()
        if b"quit" in line:
            out.write("TEST echo: PASS%s\n" % nonce)
            out.flush()
            os._exit(F.STATUS_PASS)
sys.exit(F.STATUS_FAIL)
