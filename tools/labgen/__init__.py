"""labgen: student branches from the marked reference solution.

The main branch holds the reference solution with line markers (see
tools/labgen/README.md). labgen renders the tree a student gets for a lab
and writes the student repository. `python3 -m labgen` (with tools/ on the
module path, PYTHONPATH=tools) or `python3 tools/labgen/labgen.py`:

    --check                        marker syntax check of the tree
    --out DIR [--keep-history]     create or update the student repository
    --render N --out-tree DIR [--carry | --solved]
                                   write one rendered tree (debugging)

Branches written to DIR:
    labN        catch-up: labs < N solved, lab N stubbed, later labs absent
    carry/labN  carry-forward: every lab <= N stubbed, later labs absent;
                carry/labN's parent is carry/lab(N-1)
    main        = lab1 (HEAD)

Only rendered trees are ever written to DIR, and each is leak-checked first.
DIR must be new, empty, or a repository labgen created (config key
labgen.generated) with a clean work tree; anything else is refused. Only
the files git tracks are published. Commits have a fixed author, committer
and date, so the same sources give the same commit hashes. Python 3
standard library only.

The package, a module per part: common (paths, identity, modes, errors),
files (which files, which marker prefixes), markers (a file's regions,
parsed and rendered), markdown (instructor-only text, README links),
exercises (the exercise check), leaks (the leak check), source (the
reference tree: checks and rendering), repo (the student repository: git,
fast-import), plan (the branches, generated), cli (the command line).
validate.py (make test) and test_labgen.py (its self-tests) sit beside them.
"""

from .common import (DEFAULT_ROOT, IDENT_DATE, OWNER_KEY, LabgenError,  # noqa: F401
                     tree_name)
from .markdown import INSTR_BEGIN, INSTR_END  # noqa: F401
from .plan import generate, render_all  # noqa: F401
from .repo import git_tree_id  # noqa: F401
from .source import Source, write_tree  # noqa: F401
