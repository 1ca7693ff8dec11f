# GDB helpers for Strata: the one file to source (the repository's .gdbinit
# does; on a host test binary: source tools/gdb/strata.py). It loads the
# package next to it, tools/gdb/strata_gdb/ (see its __init__.py), once:
#
#   strata-pf   (pf)    run to the next page fault and explain it
#   strata-walk (walk)  translate a virtual address by hand, entry by entry
#   strata-maps         list the mapped ranges of an address space
#   strata-bt           backtrace that continues through trap frames
#   strata-connect      connect to the QEMU started by `make qemu-gdb`
#   strata-buddy, strata-heap, strata-threads  (from labs 2, 6 and 7 on)
#   strata-help         the list of the loaded helpers
#
# The package is imported by its path (no sys.path entry): GDB keeps the
# outer file's __file__ while one file sources another, so the code
# object's file name says where this file is. Sourcing it again is a no-op.

import importlib.util
import inspect
import os
import sys


def _load_strata_gdb():
    if "strata_gdb" in sys.modules:
        return
    here = os.path.dirname(os.path.abspath(inspect.currentframe().f_code.co_filename))
    pkg = os.path.join(here, "strata_gdb")
    spec = importlib.util.spec_from_file_location(
        "strata_gdb", os.path.join(pkg, "__init__.py"), submodule_search_locations=[pkg])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["strata_gdb"] = mod
    try:
        spec.loader.exec_module(mod)
        mod.load()
    except BaseException:
        del sys.modules["strata_gdb"]
        raise


_load_strata_gdb()
del _load_strata_gdb
