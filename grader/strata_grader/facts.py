"""The kernel's facts: build/strata_facts.py, generated from the kernel's
headers by the build (tools/facts/facts.c, `make facts`; `make kernel`
makes it too).  The exit statuses, the debug-exit port and the rest are
defined in C only; the grader, tools/run-qemu, the GDB test and labgen's
validate read them from here."""

import importlib.util
import os

MODULE = "strata_facts.py"


class FactsMissing(Exception):
    """No readable build/strata_facts.py."""


def path_in(build_dir):
    return os.path.join(build_dir, MODULE)


def load(build_dir):
    """The facts module in build_dir; raises FactsMissing with what to do."""
    path = path_in(build_dir)
    if not os.path.isfile(path):
        raise FactsMissing("%s is missing: it is generated from the kernel's headers by "
                           "`make facts` (and by `make kernel`)" % path)
    spec = importlib.util.spec_from_file_location("strata_facts", path)
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except (OSError, SyntaxError) as e:
        raise FactsMissing("%s cannot be read (%s): remake it with `make facts`" % (path, e))
    return mod


def status_meaning(facts):
    """QEMU exit status -> what it means for the kernel's run."""
    meaning = {facts.STATUS_PASS: "test passed", facts.STATUS_FAIL: "test failed",
               facts.STATUS_PANIC: "kernel panic", 0: "reset: reboot or triple fault"}
    if hasattr(facts, "STATUS_LOADER"):	# GRUB (tools/grub.cfg), not the kernel
        meaning[facts.STATUS_LOADER] = "GRUB could not load the kernel"
    return meaning
