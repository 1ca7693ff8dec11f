"""python3 -m strata_grader [options]: the Strata grader (see cli.py)."""

import sys

from .cli import main

sys.exit(main())
