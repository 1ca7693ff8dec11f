"""python3 -m labgen: see __init__.py."""

import sys

from .cli import main

sys.exit(main())
