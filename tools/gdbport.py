#!/usr/bin/env python3
"""gdbport.py PORTFILE COMMAND...: run COMMAND (QEMU, or tools/run-qemu QEMU
...) with its gdbstub on a TCP port reserved for it, and write the port to
PORTFILE, where `.gdbinit` (strata-connect) reads it.

The port is reserved atomically: this script binds and listens on it first,
then hands the listening socket to QEMU (-chardev socket,fd=N -gdb chardev:),
so between choosing the port and QEMU serving it nobody else can take it. Two
`make qemu-gdb` started at the same moment therefore get two ports, and each
port file names its own QEMU (issue 15, item 7). Choosing a free port first and
letting QEMU bind it later would leave a window in which both choose the same.

The preferred port depends on the user id, so two students on one machine do
not collide; if it is taken, any free port is used. The port file is removed
when QEMU exits, so a later GDB is not sent to a port someone else may have
taken since (strata-connect also checks the kernel's build id)."""
import os
import signal
import socket
import subprocess
import sys

HOST = "127.0.0.1"
CHARDEV = "strata-gdb"


def listen_on(port):
    """A socket listening on HOST:port (0: any free port), or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # As QEMU does: a port whose old connections linger in TIME_WAIT can
        # be reused; one with a live listener still cannot.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((HOST, port))
        s.listen(1)
        return s
    except OSError:
        s.close()
        return None


def reserve():
    s = listen_on(26000 + os.getuid() % 5000) or listen_on(0)
    if s is None:
        sys.exit("gdbport: no free TCP port on %s" % HOST)
    return s


def write_port(path, port):
    """Writes the port file whole (a reader never sees half of it)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = "%s.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def remove_port(path, port):
    """Removes the port file if it still names our port."""
    try:
        with open(path) as f:
            if f.read().strip() == str(port):
                os.remove(path)
    except OSError:
        pass


def main(argv):
    if len(argv) < 3:
        sys.exit("usage: gdbport.py PORTFILE COMMAND [ARGS...]")
    path, command = argv[1], argv[2:]
    sock = reserve()
    port = sock.getsockname()[1]
    fd = sock.fileno()
    os.set_inheritable(fd, True)
    # The options QEMU gives its own -gdb tcp:...: nodelay=on matters, each
    # breakpoint hit is a round trip (Nagle would add ~40 ms to each).
    command += ["-chardev", "socket,id=%s,fd=%d,server=on,wait=off,nodelay=on" % (CHARDEV, fd),
                "-gdb", "chardev:%s" % CHARDEV]
    write_port(path, port)
    # tools/run-qemu prints this once its own checks have passed, just
    # before QEMU starts; a COMMAND that is QEMU itself never prints it.
    env = dict(os.environ, STRATA_ANNOUNCE=(
        "*** QEMU is waiting for GDB on port %d.\n"
        "*** In another terminal in this directory, run: make gdb   (or: gdb)" % port))
    try:
        proc = subprocess.Popen(command, pass_fds=(fd,), env=env)
    except OSError as e:
        remove_port(path, port)
        sys.exit("gdbport: cannot run %s: %s" % (command[0], e.strerror or e))
    # QEMU owns the terminal: a ^C is its business; we wait to tidy up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock.close()	# QEMU holds it now
    status = proc.wait()
    remove_port(path, port)
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
