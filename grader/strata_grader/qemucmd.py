"""QEMU's command line for Strata, built in this one place: the grader,
`make qemu`/`qemu-nox`/`qemu-gdb` (through tools/run-qemu) and the GDB
test (tools/gdb/test_gdb.py) all take it from qemu_argv.

Every machine is the same: MEMORY of RAM, CPUS CPUs, no reboot (a reset
ends QEMU with status 0), and the isa-debug-exit device at the kernel's
DEBUG_EXIT_PORT (a fact, from panic.h), through which the kernel ends QEMU
with status (value << 1) | 1.  What differs is how the machine boots (the
ELF with a command line, or the GRUB ISO), where its serial port goes
(CONSOLES), and whether it starts halted for GDB."""

import os

# Where the serial port goes, and what else the machine has.
CONSOLES = {
    # the grader: serial on QEMU's stdin/stdout, no other devices, no monitor
    "pipe": ["-nodefaults", "-display", "none", "-serial", "stdio", "-monitor", "none"],
    # the GDB test: serial into a file (serial_file), no display, no monitor
    "file": ["-display", "none", "-serial", "file:{serial_file}", "-monitor", "none"],
    # make qemu: serial and QEMU's monitor (C-a c) on the terminal, the VGA
    # window when there is a display
    "window": ["-serial", "mon:stdio"],
    # make qemu-nox, make qemu-gdb: serial and monitor on the terminal, no window
    "nographic": ["-nographic"],
    # the grader's preflight (preflight.py): no serial port, QEMU's QMP
    # monitor on stdin/stdout instead
    "qmp": ["-nodefaults", "-display", "none", "-serial", "none", "-monitor", "none",
            "-qmp", "stdio"],
}


def has_display(env=None):
    env = os.environ if env is None else env
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def qemu_argv(qemu, *, facts, memory, cpus, kernel=None, iso=None, cmdline="", initrd=None,
              console="pipe",
              serial_file=None, halted=False, name=None, debug_log=None,
              extra=()):
    """The argv that boots `kernel` (with `cmdline`) or, if given, `iso`.
    halted: start with the CPU stopped (-S), for GDB; its -gdb options
    are tools/gdbport.py's, which reserves the port.
    initrd: the user programs' archive (lab 7), a multiboot module on the
    -kernel path (the ISO has it as a GRUB module).
    debug_log: QEMU's CPU resets (triple faults) are logged there.
    extra: appended last, so it can override.
    With neither kernel nor iso (the preflight), the machine has nothing
    to boot: it must be halted."""
    if not (kernel or iso or halted):
        raise ValueError("a machine with nothing to boot must start halted")
    argv = [qemu]
    if name:
        argv += ["-name", name]
    if not kernel and not iso:
        pass
    elif iso:
        argv += ["-cdrom", iso.replace(",", ",,"), "-boot", "d"]
    else:
        argv += ["-kernel", kernel]
        if cmdline:
            argv += ["-append", cmdline]
        if initrd:
            argv += ["-initrd", initrd.replace(",", ",,")]
    argv += ["-m", str(memory), "-smp", str(cpus)]
    argv += [a.format(serial_file=serial_file) for a in CONSOLES[console]]
    if console == "window" and not has_display():
        argv += ["-display", "none"]
    argv += ["-no-reboot",
             "-device", "isa-debug-exit,iobase=0x%x,iosize=0x04" % facts.DEBUG_EXIT_PORT]
    if debug_log:
        argv += ["-d", "cpu_reset", "-D", debug_log]
    if halted:
        argv += ["-S"]
    argv += list(extra)
    return argv
