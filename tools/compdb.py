#!/usr/bin/env python3
"""compdb: compile_commands.json for clangd and other tools, from the
Makefile's own flags (make compdb passes them), so it needs nothing but
Python: no bear, no build.

  KSRCS     kernel sources (.c and .S), compiled with KCFLAGS / KASFLAGS
  HOSTSRCS  host programs (tests/, bench/), compiled with HOSTCFLAGS

Each variable comes from the environment; the output path is the argument.
"""
import json
import os
import shlex
import sys

DROP = {"-MMD", "-MP"}		# dependency files: not a tool's business


def entry(directory, cc, flags, src, obj):
    args = [cc] + [f for f in shlex.split(flags) if f not in DROP] + ["-c", src, "-o", obj]
    return {"directory": directory, "file": src, "arguments": args}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit("usage: compdb.py OUT (flags and sources in the environment)")
    env = os.environ
    directory, cc, build = os.getcwd(), env.get("CC", "gcc"), env.get("BUILD", "build")
    out = []
    for src in env.get("KSRCS", "").split():
        flags = env["KASFLAGS"] if src.endswith(".S") else env["KCFLAGS"]
        out.append(entry(directory, cc, flags, src,
                         "%s/k/%s.o" % (build, os.path.splitext(src)[0])))
    for src in env.get("HOSTSRCS", "").split():
        out.append(entry(directory, cc, env["HOSTCFLAGS"], src,
                         "%s/host/%s.o" % (build, os.path.splitext(src)[0])))
    with open(argv[0] + ".tmp", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    os.replace(argv[0] + ".tmp", argv[0])
    print("compdb: %s, %d files" % (argv[0], len(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
