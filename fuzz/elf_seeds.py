#!/usr/bin/env python3
#@ LAB 7 FILE
"""The seed corpus of fuzz_elf (fuzz/corpus/elf), made from the user
programs the build made (build/user/*):

    python3 fuzz/elf_seeds.py [--user build/user] [--out fuzz/corpus/elf]

Each seed is one byte (how far past a 4-byte boundary fuzz_elf puts the
image) and an image. The programs are compacted so they fit the target's
8 KiB inputs: the ELF header, the program headers, then each PT_LOAD
segment's file bytes, 4-byte aligned, no section headers (Strata's loader
needs nothing else). From them: the programs as they are (each at a
different skew); a small copy of hello (16 file bytes a segment, the rest
bss) truncated at each header boundary, and corrupted once per check
elf_check makes, each refused for one reason (two still accepted)."""

import argparse
import os
import struct

EHDR = struct.Struct("<16sHHIIIIIHHHHHH")     # 52 bytes
PHDR = struct.Struct("<IIIIIIII")             # 32 bytes
PT_LOAD, PF_X = 1, 1


def compact(data, most=None):
    """The program as header, program headers, segment bytes (at most
    `most` file bytes of each segment: the rest becomes bss)."""
    h = list(EHDR.unpack_from(data, 0))
    phoff, phnum = h[5], h[10]
    phs = [list(PHDR.unpack_from(data, phoff + 32 * i)) for i in range(phnum)]
    if most is not None:
        for ph in phs:
            ph[4] = min(ph[4], most)
    out = bytearray(EHDR.size + PHDR.size * phnum)
    for ph in phs:
        if ph[0] == PT_LOAD and ph[4]:
            body = data[ph[1]:ph[1] + ph[4]]
            ph[1] = len(out)
            out += body + b"\0" * (-len(body) % 4)
        elif ph[0] == PT_LOAD:
            ph[1] = 0
    h[5], h[6], h[11], h[12], h[13] = EHDR.size, 0, 0, 0, 0   # phoff; no section headers
    EHDR.pack_into(out, 0, *h)
    for i, ph in enumerate(phs):
        PHDR.pack_into(out, EHDR.size + 32 * i, *ph)
    return bytes(out)


def patched(image, at, fmt, value):
    b = bytearray(image)
    struct.pack_into(fmt, b, at, value)
    return bytes(b)


def first_load(image, executable):
    phnum = struct.unpack_from("<H", image, 44)[0]
    for i in range(phnum):
        ph = PHDR.unpack_from(image, 52 + 32 * i)
        if ph[0] == PT_LOAD and bool(ph[6] & PF_X) == executable:
            return 52 + 32 * i, ph
    raise SystemExit("no %sexecutable PT_LOAD segment" % ("" if executable else "non-"))


def corruptions(image):
    """(name, image) refused for one reason each, and two still accepted."""
    x_at, x = first_load(image, True)
    r_at, _ = first_load(image, False)
    yield "magic", image[:1] + b"F" + image[2:]
    yield "class64", patched(image, 4, "<B", 2)
    yield "bigendian", patched(image, 5, "<B", 2)
    yield "version0", patched(image, 20, "<I", 0)
    yield "dyn", patched(image, 16, "<H", 3)
    yield "x86_64", patched(image, 18, "<H", 62)
    yield "phentsize56", patched(image, 42, "<H", 56)
    yield "phnum0", patched(image, 44, "<H", 0)
    yield "phnum17", patched(image, 44, "<H", 17)
    yield "phoff-huge", patched(image, 28, "<I", 0xffffffff)
    yield "phoff-past-end", patched(image, 28, "<I", len(image) - 31)
    yield "filesz-gt-memsz", patched(image, x_at + 16, "<I", x[5] + 1)
    yield "offset-wraps", patched(patched(patched(image, x_at + 4, "<I", 0xfffff000),
                                          x_at + 16, "<I", 0x2000), x_at + 20, "<I", 0x2000)
    yield "segment-past-end", patched(image, x_at + 4, "<I", len(image) - x[4] + 1)
    yield "vaddr-low", patched(image, x_at + 8, "<I", 0x3ff000)
    yield "vaddr-wraps", patched(patched(image, x_at + 8, "<I", 0xfffff000), x_at + 20, "<I", 0x2000)
    yield "vaddr-kernel", patched(image, x_at + 8, "<I", 0x80000000 - x[5] + 1)
    yield "entry-outside", patched(image, 24, "<I", x[2] + x[5])
    yield "entry-not-x", patched(image, 24, "<I", struct.unpack_from("<I", image, r_at + 8)[0])
    yield "not-x", patched(image, x_at + 24, "<I", x[6] & ~PF_X)
    yield "no-load", patched(image, x_at, "<I", 6)
    # accepted: program headers at an odd offset (moved to the end), and a
    # segment with no file bytes at all (all bss)
    phnum = struct.unpack_from("<H", image, 44)[0]
    moved = bytearray(image) + b"\0" + image[52:52 + 32 * phnum]
    struct.pack_into("<I", moved, 28, len(image) + 1)
    yield "phoff-odd-ok", bytes(moved)
    yield "bss-only-ok", patched(image, r_at + 16, "<I", 0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--user", default="build/user")
    p.add_argument("--out", default="fuzz/corpus/elf")
    p.add_argument("--programs", default="hello,sysargs")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    seeds = {}
    for skew, name in enumerate(a.programs.split(",")):
        with open(os.path.join(a.user, name), "rb") as f:
            image = compact(f.read())
        seeds[name] = bytes([skew & 3]) + image
        if name != "hello":
            continue
        with open(os.path.join(a.user, name), "rb") as f:
            image = compact(f.read(), 16)
        seeds["hello-small"] = b"\3" + image
        phnum = struct.unpack_from("<H", image, 44)[0]
        for cut in (0, 4, 51, 52, 52 + 32 * phnum - 1, 52 + 32 * phnum, len(image) - 1):
            seeds["hello-cut%d" % cut] = b"\1" + image[:cut]
        for what, bad in corruptions(image):
            seeds["hello-" + what] = b"\2" + bad
    with open(os.path.join(a.user, "notelf"), "rb") as f:
        seeds["notelf"] = b"\0" + f.read()
    for name, data in seeds.items():
        assert len(data) <= 8192, (name, len(data))
        with open(os.path.join(a.out, name), "wb") as f:
            f.write(data)
    print("%d seeds, %d bytes, in %s" % (len(seeds), sum(map(len, seeds.values())), a.out))


if __name__ == "__main__":
    main()
