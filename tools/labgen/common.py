"""What every part of labgen shares: where things are, the fixed commit
identity, a lab's modes in one rendering, the error type."""

import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ROOT = os.path.dirname(os.path.dirname(HERE))

# Paths never copied into a student tree (prefixes, relative to the root).
EXCLUDED = ("tools/labgen/", "tools/mutants/", ".ci/")
EXCLUDED_FILES = ("LAB",)	# written per tree
# GitHub Classroom's autograding workflow, in every tree (from classroom.yml here)
CLASSROOM_WORKFLOW = ".github/workflows/classroom.yml"

# Which marker prefixes a file may use, by name.
C_EXT = (".c", ".h", ".ld", ".lds")
ASM_EXT = (".S", ".s")
HASH_EXT = (".mk", ".sh", ".py", ".cfg")
HASH_NAMES = ("Makefile", "GNUmakefile", "makefile", ".gdbinit")
# (and scripts without an extension that start with "#!")

SIGNIFICANT = 12	# a solution line this long (stripped) is significant for leaks

# The key in the config of a repository labgen created (labgen never writes
# into a repository without it).
OWNER_KEY = "labgen.generated"

IDENT_NAME = "Strata labgen"
IDENT_EMAIL = "labgen@strata.invalid"
IDENT_DATE = "1704067200 +0000"	# 2024-01-01T00:00:00Z

# Modes of a lab in one rendering.
SOLVED, STUB, ABSENT = "solved", "stub", "absent"


class LabgenError(Exception):
    pass


def path_lab(path):
    m = re.match(r"labs/lab(\d+)-[^/]+/", path) or re.match(r"handouts/lab(\d+)-[^/]+\.md$", path)
    return int(m.group(1)) if m else None


def mode_fn(kind, lab):
    """mode_of(n) for the tree (kind, lab): SOLVED, STUB or ABSENT."""
    if kind == "catchup":
        return lambda n: SOLVED if n < lab else (STUB if n == lab else ABSENT)
    if kind == "carry":
        return lambda n: STUB if n <= lab else ABSENT
    if kind == "solved":
        return lambda n: SOLVED if n <= lab else ABSENT
    raise ValueError(kind)


def tree_name(kind, lab):
    return {"catchup": "lab%d", "carry": "carry/lab%d", "solved": "solved-lab%d"}[kind] % lab
