#!/usr/bin/env python3
"""gdbport.py FILE: choose the TCP port for `make qemu-gdb` and write it to FILE.

The preferred port depends on the user id, so two students on one machine do
not collide; if it is taken, any free port is used. `.gdbinit` reads FILE."""
import os
import socket
import sys


def free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return s.getsockname()[1]
    except OSError:
        return None
    finally:
        s.close()


def main():
    port = free(26000 + os.getuid() % 5000) or free(0)
    if port is None:
        sys.exit("gdbport: no free TCP port on 127.0.0.1")
    os.makedirs(os.path.dirname(sys.argv[1]) or ".", exist_ok=True)
    with open(sys.argv[1], "w") as f:
        f.write("%d\n" % port)
    print(port)


main()
