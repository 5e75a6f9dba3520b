"""``python -m bench`` from a checkout: the same as ``distritask bench``."""

from __future__ import annotations

import sys

from backend.cli import main

sys.exit(main(["bench", *sys.argv[1:]]))
