"""``python -m backend.manager``: the same as ``distritask manager``."""

import sys

from backend.cli import main

sys.exit(main(["manager", *sys.argv[1:]]))
