# Strata's GDB setup: run `make qemu-gdb` in one terminal, then `make gdb` (or
# plain `gdb`) in another, in this directory. See tools/gdb/README.md.
#
# `make gdb` both allows this file to auto-load and passes it with -x, so it
# can run twice: the guard makes the second time a no-op.
if $_isvoid($strata_gdbinit)
  set $strata_gdbinit = 1
  set architecture i386
  set disassembly-flavor att
  python
import os
if os.path.exists("build/kernel.elf"):
    gdb.execute("file build/kernel.elf")
else:
    print("strata: build/kernel.elf is missing: run make kernel (or make qemu-gdb) first")
  end
  source tools/gdb/strata.py
  strata-help
  # Last: an error here (QEMU not running) ends this file, nothing else.
  strata-connect
end
