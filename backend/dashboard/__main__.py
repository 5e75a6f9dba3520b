"""``python -m backend.dashboard``: the same as ``distritask dashboard``."""

import sys

from backend.cli import main

sys.exit(main(["dashboard", *sys.argv[1:]]))
