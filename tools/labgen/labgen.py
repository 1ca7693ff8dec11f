#!/usr/bin/env python3
"""python3 tools/labgen/labgen.py [options]: the same as `python3 -m labgen
[options]` with tools/ on the module path (see __init__.py)."""

import os
import sys

# tools/, not this folder, first on the path: `labgen` is the package here.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from labgen.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
