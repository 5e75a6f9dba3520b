"""``python -m distritask_gui``: the control panel, as bare ``distritask`` opens it."""

import sys

from backend.cli import main

sys.exit(main(sys.argv[1:]))
