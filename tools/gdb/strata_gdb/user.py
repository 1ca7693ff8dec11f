#@ LAB 7 FILE
# GDB helper for Strata's user programs (lab 7, src/user/).
#
#   strata-user PROG   loads the symbols of the user program PROG
#                      (build/user/PROG, beside the kernel GDB loaded) at
#                      the addresses it was linked at (0x00400000 on), so
#                      break, backtrace and list work in user code; the
#                      kernel's symbols stay loaded (the two do not overlap).
#                      The previous program's symbols are removed first
#                      (every program is linked at the same addresses).
#   strata-user --auto on|off
#                      whether a stop in user mode loads the symbols by
#                      itself (on by default): when GDB stops with
#                      $cs & 3 == 3, the program of the process running on
#                      that CPU (cpus[N].current->process->name, read from
#                      kernel memory) is loaded, once, as strata-user would.
#                      strata-pf does the same for a user fault.
#
# A module of the strata_gdb package (tools/gdb/strata.py loads it when a
# branch has it: lab 7 on).

import os
import struct

import gdb

from .util import StrataError, out, reported, split_args


def user_dir():
    """build/user beside the kernel GDB loaded (or ./build/user)."""
    kernel = gdb.current_progspace().filename
    base = os.path.dirname(os.path.abspath(kernel)) if kernel else "build"
    return os.path.join(base, "user")


def text_address(path):
    """The address of PROG's .text section, from its ELF section headers."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 1:
        raise StrataError("%s is not an ELF32 file" % path)
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2e)
    sections = [struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize)
                for i in range(shnum)]
    strtab = sections[shstrndx][4]
    for s in sections:
        name = data[strtab + s[0]:data.index(b"\0", strtab + s[0])]
        if name == b".text":
            return s[3]
    raise StrataError("%s has no .text section" % path)


# The user program whose symbols are loaded (at most one: they overlap).
loaded_path = None
auto = True


def load_program(name, why=""):
    """Loads build/user/NAME's symbols in place of the previous program's;
    returns the line to print, or None if NAME's are loaded already."""
    global loaded_path
    path = os.path.join(user_dir(), name)
    if not os.path.isfile(path):
        raise StrataError("no user program %s (make builds build/user/PROG)" % path)
    if path == loaded_path:
        return None
    if loaded_path is not None:
        try:
            gdb.execute("remove-symbol-file %s" % loaded_path, to_string=True)
        except gdb.error:
            pass	# removed by hand (or by a new `file`)
        loaded_path = None
    text = text_address(path)
    gdb.execute("add-symbol-file %s 0x%x" % (path, text), to_string=True)
    loaded_path = path
    return "strata-user: symbols of %s loaded (.text at 0x%08x)%s" % (name, text, why)


def cpu_index():
    """The struct cpu of the CPU GDB has selected (QEMU: thread N is CPU
    N-1), 0 if unknown."""
    try:
        n = gdb.selected_thread().num - 1
    except (gdb.error, AttributeError):
        return 0
    return max(n, 0)


def running_program():
    """(name, pid, tid) of the thread running on the selected CPU, read
    from kernel memory; None if it cannot be read (no lab 7 kernel)."""
    for expr in ("cpus[%d].current" % cpu_index(), "cpus[0].current"):
        try:
            t = gdb.parse_and_eval(expr)
            if int(t) == 0:
                continue
            p = t["process"]
            return p["name"].string(), int(p["pid"]), int(t["tid"])
        except (gdb.error, gdb.MemoryError, RuntimeError):
            continue
    return None


def load_running(why_prefix):
    """Loads the running user program's symbols (when they are not yet):
    the line to print, or None."""
    prog = running_program()
    if prog is None or not os.path.isfile(os.path.join(user_dir(), prog[0])):
        return None
    return load_program(prog[0], " [%s: pid %d tid %d]" % (why_prefix, prog[1], prog[2]))


def in_user_mode():
    try:
        return int(gdb.parse_and_eval("$cs")) & 3 == 3
    except gdb.error:
        return False


def on_stop(event):
    if not auto or not in_user_mode():
        return
    try:
        line = load_running("auto, stopped in user mode")
    except (StrataError, gdb.error, OSError) as e:
        out("strata-user: cannot load the program's symbols: %s" % e)
        return
    if line:
        out(line)


class StrataUserCommand(gdb.Command):
    """strata-user PROG: load the symbols of the user program PROG (build/user/PROG)."""

    def __init__(self):
        super().__init__("strata-user", gdb.COMMAND_USER)

    @reported("strata-user")
    def invoke(self, arg, from_tty):
        global auto
        argv = split_args(arg)
        d = user_dir()
        if len(argv) == 2 and argv[0] == "--auto" and argv[1] in ("on", "off"):
            auto = argv[1] == "on"
            out("strata-user: automatic loading on a stop in user mode is %s" % argv[1])
            return
        if len(argv) != 1:
            progs = sorted(os.listdir(d)) if os.path.isdir(d) else []
            raise StrataError("usage: strata-user PROG (one of: %s)"
                              % (" ".join(progs) or "none built: make"))
        line = load_program(argv[0])
        out(line or "strata-user: symbols of %s already loaded" % argv[0])


def load(plain_bt=None):
    StrataUserCommand()
    gdb.events.stop.connect(on_stop)
