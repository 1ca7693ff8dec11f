#!/usr/bin/env python3
#@ LAB 7 FILE
"""mkinitrd.py OUT FILE...: the user programs' archive (src/kernel/initrd.h
defines the format): each FILE under its base name."""
import os
import struct
import sys

MAGIC = b"STRATAR1"
NAME = 28


def main(argv):
    out, files = argv[0], argv[1:]
    data = bytearray(MAGIC)
    for f in files:
        name = os.path.basename(f).encode()
        if not name or len(name) >= NAME:
            sys.exit("mkinitrd: %s: the name must be 1..%d bytes" % (f, NAME - 1))
        with open(f, "rb") as fh:
            body = fh.read()
        data += name.ljust(NAME, b"\0") + struct.pack("<I", len(body)) + body
        data += b"\0" * (-len(body) % 4)
    data += b"\0" * (NAME + 4)
    with open(out, "wb") as fh:
        fh.write(data)


if __name__ == "__main__":
    main(sys.argv[1:])
