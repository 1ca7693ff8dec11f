#@ LAB 7 FILE
# GDB helper for Strata's user programs (lab 7, src/user/).
#
#   strata-user PROG   loads the symbols of the user program PROG
#                      (build/user/PROG, beside the kernel GDB loaded) at
#                      the addresses it was linked at (0x00400000 on), so
#                      break, backtrace and list work in user code; the
#                      kernel's symbols stay loaded (the two do not overlap)
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


class StrataUserCommand(gdb.Command):
    """strata-user PROG: load the symbols of the user program PROG (build/user/PROG)."""

    def __init__(self):
        super().__init__("strata-user", gdb.COMMAND_USER)

    @reported("strata-user")
    def invoke(self, arg, from_tty):
        argv = split_args(arg)
        d = user_dir()
        if len(argv) != 1:
            progs = sorted(os.listdir(d)) if os.path.isdir(d) else []
            raise StrataError("usage: strata-user PROG (one of: %s)"
                              % (" ".join(progs) or "none built: make"))
        path = os.path.join(d, argv[0])
        if not os.path.isfile(path):
            raise StrataError("no user program %s (make builds build/user/PROG)" % path)
        text = text_address(path)
        gdb.execute("add-symbol-file %s 0x%x" % (path, text), to_string=True)
        out("strata-user: symbols of %s loaded (.text at 0x%08x)" % (argv[0], text))


def load(plain_bt=None):
    StrataUserCommand()
