"""``python -m backend.worker``: the same as ``distritask worker``."""

import sys

from backend.cli import main

sys.exit(main(["worker", *sys.argv[1:]]))
