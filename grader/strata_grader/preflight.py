"""Before any test runs: does QEMU accept each machine the selected tests
ask for?  lab.json's memory, cpus and qemu_args are the instructor's; if
QEMU refuses them (`-no-such-option`, a CPU topology that does not add up,
more memory than the host can map) or QEMU cannot start any machine at all
(a broken install that still answers --version), every test would FAIL in
the student's name.  So QEMU is started once per distinct (memory, cpus,
qemu_args) with the test's own machine options but nothing to boot and
the CPUs halted (-S), its QMP monitor on stdin/stdout: the QMP greeting
means QEMU built the machine; `quit` then ends it.  A refusal is a
SetupError quoting QEMU and naming the lab.json entries.

What the kernel itself causes (a missing multiboot header, which QEMU
reports when it loads -kernel) is never seen here: the preflight loads no
kernel, no ISO and no initrd, so it stays the student's FAIL (verdict.py).

Cost: about 0.05 s of CPU per distinct machine (5 in labs 1-7), run
args.jobs at a time."""

import concurrent.futures
import json
import subprocess

from .qemu import Interrupted
from .qemucmd import qemu_argv
from .setup import SetupError

# Wall seconds a preflight QEMU may take to greet and quit (it needs about
# 0.2 s; the limit is for a QEMU that hangs, not a slow machine).
PREFLIGHT_WALL = 60
QMP_QUIT = b'{"execute": "qmp_capabilities"}\n{"execute": "quit"}\n'


def machines(tests):
    """The distinct machines of the booted tests: {(memory, cpus,
    qemu_args): [tests]} in declaration order."""
    out = {}
    for t in tests:
        if not t.host:
            out.setdefault((t.memory, t.cpus, tuple(t.qemu_args)), []).append(t)
    return out


def machine_argv(qemu, facts, machine):
    memory, cpus, qemu_args = machine
    return qemu_argv(qemu, facts=facts, memory=memory, cpus=cpus, console="qmp", halted=True,
                     extra=qemu_args)


def try_machine(registry, qemu, facts, machine, cwd=None):
    """None if QEMU builds the machine, else QEMU's own words."""
    argv = machine_argv(qemu, facts, machine)
    try:
        proc = registry.spawn(argv, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    except OSError as e:
        return "cannot start %s: %s" % (qemu, e.strerror or e)
    try:
        out, err = proc.communicate(QMP_QUIT, timeout=PREFLIGHT_WALL)
    except subprocess.TimeoutExpired:
        return "QEMU neither built the machine nor refused it in %d s" % PREFLIGHT_WALL
    finally:
        registry.release(proc)
    if registry.aborted is not None:
        raise Interrupted(registry.aborted)
    words = err.decode("utf-8", "replace").strip()
    if proc.returncode == 0 and out.lstrip().startswith(b'{"QMP"'):
        return None
    last = words.splitlines()[-3:] if words else []
    if proc.returncode == 0:
        return "QEMU exited without building the machine (no QMP greeting)%s" % (
            ": " + " / ".join(last) if last else "")
    return "QEMU exited with status %s%s" % (
        proc.returncode if proc.returncode >= 0 else "%d (signal %d)" % (proc.returncode, -proc.returncode),
        ": " + " / ".join(last) if last else " and said nothing")


def _named(tests):
    first = tests[0]
    text = first.where or first.id
    if len(tests) > 1:
        text += " (and %d more test(s) with the same machine: %s)" % (
            len(tests) - 1, ", ".join(t.id for t in tests[1:4]) + (", ..." if len(tests) > 4 else ""))
    return text


def preflight(registry, qemu, facts, tests, jobs=1, cwd=None):
    """Raise SetupError naming every machine QEMU refuses."""
    todo = machines(tests)
    if not todo:
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(jobs, len(todo)))) as ex:
        results = list(ex.map(lambda m: try_machine(registry, qemu, facts, m, cwd), todo))
    problems = []
    for (machine, ts), why in zip(todo.items(), results):
        if why is None:
            continue
        memory, cpus, qemu_args = machine
        problems.append("%s: QEMU cannot start this test's machine (memory %s, cpus %s%s): %s" % (
            _named(ts), memory, cpus,
            ", qemu_args %s" % json.dumps(list(qemu_args)) if qemu_args else "", why))
    if problems:
        if len(problems) == len(todo) and len(todo) > 1:
            problems.insert(0, "QEMU (%s) starts none of the %d machines the tests use: is it "
                            "installed properly?" % (qemu, len(todo)))
        raise SetupError("\n".join(problems))
