"""Before any test runs: the repository, QEMU, the build and the images
the tests boot.  Everything here fails with a SetupError (exit status 2)."""

import os
import shutil
import subprocess
import sys

from . import facts as factsmod
from .qemu import DEBIAN_PACKAGE


class SetupError(Exception):
    """The grader cannot grade (a build failure, no QEMU, a missing image)."""


def repo_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def branch_lab(root):
    path = os.path.join(root, "LAB")
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        raise SetupError("%s must hold a single lab number" % path)


def check_qemu(registry, qemu):
    exe = shutil.which(qemu)
    if exe is None:
        raise SetupError("QEMU not found: %r is not an executable on PATH — install the Debian "
                         "package %s (apt-get install %s)" % (qemu, DEBIAN_PACKAGE, DEBIAN_PACKAGE))
    try:
        proc = registry.spawn([exe, "--version"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as e:
        raise SetupError("QEMU %s cannot be run: %s — reinstall the Debian package %s"
                         % (exe, e.strerror or e, DEBIAN_PACKAGE))
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        raise SetupError("`%s --version` did not finish in 30 s" % exe)
    finally:
        registry.release(proc)
    text = out.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or "QEMU" not in text:
        raise SetupError("`%s --version` failed (status %s): %s — reinstall the Debian package %s"
                         % (exe, proc.returncode, text[-500:], DEBIAN_PACKAGE))
    return exe, text.splitlines()[0]


def build(registry, root, targets, timeout=None):
    """make -s TARGETS in root, serialised between graders by a lock; a
    build that takes more than `timeout` wall seconds is killed."""
    if shutil.which("make") is None:
        raise SetupError("make not found — install the Debian package make")
    argv = ["make", "-s"] + targets
    print("grade: building (%s)" % " ".join(argv), file=sys.stderr, flush=True)
    try:
        proc = registry.spawn(argv, cwd=root, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, gentle=True)
    except OSError as e:
        raise SetupError("cannot run make: %s" % (e.strerror or e))
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SetupError("build failed: `%s` did not finish in %g s (killed)" % (" ".join(argv), timeout))
    finally:
        if proc.returncode is None:
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                pass
        registry.release(proc)
    text = out.decode("utf-8", "replace")
    if proc.returncode != 0:
        tail = text.rstrip().splitlines()[-25:]
        raise SetupError("build failed: `%s` exited with status %d%s\n%s" % (
            " ".join(argv), proc.returncode,
            "; last lines of its output:" if tail else " and printed nothing",
            "\n".join("    " + l for l in tail)))


class BuildLock:
    def __init__(self, root):
        self.path = os.path.join(root, "build", ".grade-build.lock")
        self.fd = None

    def __enter__(self):
        try:
            import fcntl
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except (ImportError, OSError):
            self.fd = None
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)


def snapshot(src, tmp, name, what):
    """Copy an image to TMP/build/NAME; QEMU runs in TMP and is given the
    relative path build/NAME, so the kernel sees the same multiboot
    command line ('build/kernel.elf test=...') as with `make qemu-gdb`."""
    if not os.path.isfile(src):
        raise SetupError("%s %s not found%s" % (what, src, {
            "kernel": " (build it with `make kernel`, or drop --no-build)",
            "ISO": " (build it with `make iso`, or drop --no-build)"}.get(what, "")))
    os.makedirs(os.path.join(tmp, "build"), exist_ok=True)
    shutil.copyfile(src, os.path.join(tmp, "build", name))
    return "build/" + name


def not_a_kernel(path):
    """Why the file is not an i386 ELF executable (what -kernel boots), or
    None. Only the ELF header: a kernel without a multiboot header is the
    student's to fix and is graded so (verdict.py)."""
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError as e:
        return "cannot read it: %s" % e.strerror
    if head[:4] != b"\x7fELF":
        kind = "an ISO image (use --iso)" if head[:2] == b"\x00\x00" and path.endswith(".iso") \
            else "not an ELF file (it starts with %r)" % head[:8]
        return kind
    if head[4] != 1 or head[5] != 1 or int.from_bytes(head[18:20], "little") != 3:
        return "an ELF file, but not a 32-bit little-endian i386 one"
    return None


def facts_dir_of(args, build_dir):
    """Where the kernel's facts are: beside a prebuilt kernel or ISO (the
    build that made it), else in this tree's build folder; None if neither
    has them yet."""
    for image in (args.kernel, args.iso):
        if image and os.path.isfile(factsmod.path_in(os.path.dirname(os.path.abspath(image)))):
            return os.path.dirname(os.path.abspath(image))
    return build_dir if os.path.isfile(factsmod.path_in(build_dir)) else None


# The user programs' archive (lab 7), snapshotted beside the kernel when the
# build made one; the runner passes it to lab 7's tests on -kernel boots.
INITRD = "user.ar"


def prepare_images(args, registry, root, tmp, need_kernel, need_iso):
    """Build what is needed, then snapshot the images into the per-run
    temp dir so a rebuild during grading cannot change them.  Returns the
    kernel and ISO paths (relative to tmp; None if not needed) and the
    kernel's facts."""
    build_dir = os.path.join(root, "build")
    targets = []
    if need_kernel and not args.kernel:
        targets.append("kernel")
    if need_iso and not args.iso:
        targets.append("iso")
    kernel = iso = None
    with BuildLock(root):
        facts_dir = facts_dir_of(args, build_dir)
        if facts_dir is None or (targets and facts_dir == build_dir):
            targets.append("facts")
            facts_dir = build_dir
        if targets and not args.no_build:
            build(registry, root, targets, getattr(args, "build_timeout", None))
        if need_kernel and args.kernel:
            why = not_a_kernel(os.path.abspath(args.kernel))
            if why and os.path.isfile(args.kernel):
                raise SetupError("--kernel %s is not a kernel: %s" % (args.kernel, why))
        if need_kernel:
            kernel = snapshot(os.path.abspath(args.kernel) if args.kernel else
                              os.path.join(build_dir, "kernel.elf"), tmp, "kernel.elf", "kernel")
            # lab 7 on: the user programs' archive beside the kernel
            initrd = os.path.join(os.path.dirname(os.path.abspath(args.kernel)) if args.kernel
                                  else build_dir, "user.ar")
            if os.path.isfile(initrd):
                snapshot(initrd, tmp, INITRD, "archive")
        if need_iso:
            iso = snapshot(os.path.abspath(args.iso) if args.iso else
                           os.path.join(build_dir, "strata.iso"), tmp, "strata.iso", "ISO")
        try:
            facts = factsmod.load(facts_dir)
        except factsmod.FactsMissing as e:
            raise SetupError(str(e))
    return kernel, iso, facts
