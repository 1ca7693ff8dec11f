#!/usr/bin/env python3
"""Strata grader.  Usage: python3 grader/grade.py [options]; see --help and
grader/README.md."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from strata_grader.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
