"""Strata grader: boots the kernel in QEMU and matches its serial output
against expected traces.  See grader/README.md."""
