"""The Strata GDB helpers, one package loaded once by tools/gdb/strata.py
(which .gdbinit sources), a module per subject:

    util      errors, output, memory reads, symbols, options (shared)
    facts     the kernel's facts (build/strata_facts.py, from the headers)
    paging    strata-walk, strata-maps (page-table sources)
    traps     strata-bt, strata-pf (trap frames, vector names)
    connect   strata-connect (make qemu-gdb's port, the build id check)
    buddy     strata-buddy (lab 2 on: whole-lab files; buddy_struct reads one)
    heap      strata-heap (lab 6 on; heap_walk reads the heap)
    threads   strata-threads, strata-bt TID (lab 7 on)
    user      strata-user PROG (lab 7 on)
    cpus      strata-cpus (lab 8 on); strata-threads reads each running
              thread from its CPU's vCPU

Every command prints a first line starting with its own name, so the output
can be grepped (tools/gdb/test_gdb.py does). The helpers only read the
target: memory through GDB, the control registers through QEMU's gdbstub,
and physical memory through QEMU's "Qqemu.PhyMemMode" packet (--phys).

The modules of later labs are in a lab branch from the lab that needs them
on (labgen whole-file markers); load() imports those that are there, and
strata-help lists only the commands that were loaded."""

import importlib
import importlib.util

import gdb

from .util import out

BANNER = """\
Strata GDB helpers (help strata-pf, ...; tools/gdb/README.md):
  pf   / strata-pf            run to the next page fault and explain it
  walk / strata-walk ADDR     translate ADDR through the page tables
  strata-maps [START END]     list the mapped ranges of the active directory
  strata-bt                   backtrace through trap frames
%s  strata-connect              (re)connect to make qemu-gdb"""

# The helpers of later labs, with their strata-help lines.
OPTIONAL = (("buddy", "  strata-buddy [EXPR]         free blocks per order of ppalloc's "
             "(or EXPR's) buddy allocator\n"),
            ("heap", "  strata-heap                 walk the kernel malloc heap\n"),
            ("threads", "  strata-threads              list the threads, their state and saved "
             "eip/esp\n  strata-bt TID [MAX]         backtrace of thread TID, running or not\n"),
            ("user", "  strata-user PROG            load the symbols of user program PROG (a stop "
             "in user mode does it)\n"),
            ("cpus", "  strata-cpus                 list the CPUs: APIC ID, ticks, thread, vCPU eip, "
             "locks\n"))
loaded = set()


def banner():
    return BANNER % "".join(line for name, line in OPTIONAL if name in loaded)


class BannerCommand(gdb.Command):
    """List the Strata GDB helper commands."""

    def __init__(self):
        super().__init__("strata-help", gdb.COMMAND_SUPPORT)

    def invoke(self, arg, from_tty):
        out(banner())


def define_alias(alias, command):
    try:
        gdb.execute("alias %s = %s" % (alias, command), to_string=True)
    except gdb.error:
        pass	# already defined


def load():
    """Register every command (once: the loader imports this package once)."""
    from . import connect, paging, traps
    paging.WalkCommand()
    paging.MapsCommand()
    bt = traps.BtCommand()
    traps.PfCommand()
    connect.ConnectCommand()
    BannerCommand()
    define_alias("pf", "strata-pf")
    define_alias("walk", "strata-walk")
    for name, _ in OPTIONAL:
        if importlib.util.find_spec("." + name, __name__) is not None:
            importlib.import_module("." + name, __name__).load(plain_bt=bt)
            loaded.add(name)
