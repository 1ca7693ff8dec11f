"""The kernel's facts for the helpers: build/strata_facts.py, generated
from the kernel's headers by the build (tools/facts/facts.c). K.NAME is the
header's NAME (K.KERNBASE, K.PTE_PRESENT, K.TRAPFRAME...); it is read on
first use, from beside the ELF file GDB has loaded, else from this tree's
build/. A command that needs a fact when neither has the module says so
(make kernel makes it); commands that need none (strata-buddy on a host
test, strata-help) work without it."""

import importlib.util
import os

import gdb

from .util import StrataError

MODULE = "strata_facts.py"
TREE_BUILD = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))), "build")


def _places():
    try:
        elf = gdb.current_progspace().filename
    except (gdb.error, RuntimeError):
        elf = None
    if elf:
        yield os.path.dirname(os.path.abspath(elf))
    yield TREE_BUILD


class _Facts:
    """Attribute access reads the facts module (once)."""

    def __init__(self):
        self._module = None

    def _load(self):
        for d in _places():
            path = os.path.join(d, MODULE)
            if os.path.isfile(path):
                spec = importlib.util.spec_from_file_location("strata_facts", path)
                mod = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(mod)
                self._module = mod
                return mod
        raise StrataError("the kernel's facts (%s) are missing: run make kernel"
                          % os.path.join(TREE_BUILD, MODULE))

    def __getattr__(self, name):
        mod = self._module or self._load()
        try:
            return getattr(mod, name)
        except AttributeError:
            raise StrataError("%s has no %s: remake it (make kernel)" % (MODULE, name))


K = _Facts()
