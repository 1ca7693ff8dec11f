"""strata-connect: attach to the QEMU of `make qemu-gdb` (its port file),
checking that the kernel it runs is the one GDB loaded (build ids)."""

import os
import socket
import struct
import time

import gdb

from .facts import K
from .util import StrataError, out, paging_enabled, read_bytes, to_int

# ---- connecting ----------------------------------------------------------------

class ConnectCommand(gdb.Command):
    """Connect to the QEMU started by `make qemu-gdb`.

Usage: strata-connect [PORT | PORTFILE]

Without an argument the port is $STRATA_GDB_PORT if set, else the number in
build/qemu-gdb.port, which `make qemu-gdb` writes (tools/gdbport.py)."""

    def __init__(self):
        super().__init__("strata-connect", gdb.COMMAND_RUNNING, gdb.COMPLETE_FILENAME)

    def invoke(self, arg, from_tty):
        arg = arg.strip()
        portfile = "build/qemu-gdb.port"
        port = None
        if arg.isdigit():
            port = arg
        elif arg:
            portfile = arg
        elif os.environ.get("STRATA_GDB_PORT", "").strip():
            port = os.environ["STRATA_GDB_PORT"].strip()
        if port is None:
            try:
                with open(portfile) as f:
                    port = f.read().strip()
            except OSError:
                raise gdb.GdbError("strata-connect: %s not found: run make qemu-gdb first "
                                   "(in another terminal, in this directory)" % portfile)
            if not port.isdigit():
                raise gdb.GdbError("strata-connect: %s does not hold a port number: "
                                   "run make qemu-gdb again" % portfile)
        # A quick look first: GDB itself retries a refused port for 15 s.
        # (Opening and closing QEMU's gdbstub connection leaves QEMU halted.)
        for attempt in range(4):
            try:
                socket.create_connection(("127.0.0.1", int(port)), timeout=2).close()
                break
            except OSError as e:
                if attempt == 3:
                    raise gdb.GdbError("strata-connect: nothing listens on port %s (%s): "
                                       "is make qemu-gdb still running?"
                                       % (port, e.strerror or e))
                time.sleep(0.5)
        try:
            gdb.execute("target remote 127.0.0.1:%s" % port)
        except gdb.error as e:
            raise gdb.GdbError("strata-connect: cannot connect to QEMU on port %s (%s): "
                               "is make qemu-gdb still running?" % (port, e))
        try:
            out("strata-connect: %s" % same_kernel())
        except StrataError as e:
            gdb.execute("disconnect", to_string=True)
            raise gdb.GdbError("strata-connect: the kernel on port %s is not this tree's "
                               "(%s): another QEMU has that port; run make qemu-gdb "
                               "again here" % (port, e))


def same_kernel():
    """Checks that the kernel in the target's memory is the file GDB loaded:
    the build ids (ld --build-id, kept in memory at build_id_note by
    kernel.ld) must be equal. Says what it found; StrataError if they differ.
    At QEMU's first instruction (-S) the -kernel image is already loaded;
    before paging it is read at its physical address."""
    path = gdb.current_progspace().filename
    if path is None:
        return "no symbols loaded, kernel not checked"
    want = next((o.build_id for o in gdb.objfiles() if o.filename == path), None)
    try:
        note = to_int(gdb.parse_and_eval("&build_id_note"))
    except gdb.error:
        note = None
    if want is None or note is None:
        return "%s has no build id, kernel not checked (make kernel)" % os.path.basename(path)
    if not paging_enabled():
        note -= K.KERNBASE
    try:
        namesz, descsz, kind = struct.unpack("<3I", read_bytes(note, 12))
        have = None
        if (namesz, kind) == (4, 3) and descsz <= 64 \
                and read_bytes(note + 12, 4) == b"GNU\0":
            have = read_bytes(note + 16, descsz).hex()
    except StrataError:
        have = None
    if have != want:
        raise StrataError("build id %s in memory, %s in %s"
                          % (have or "missing", want, os.path.basename(path)))
    return "kernel build id %s matches %s" % (want[:12], os.path.basename(path))
