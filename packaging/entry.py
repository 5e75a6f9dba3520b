"""Entry point of the packaged program: ``distritask [part] ...`` as after ``pip install``."""

import multiprocessing
import sys

from backend.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
