"""The control panel's command-line flags (no Qt here: ``distritask --help`` reads it)."""

from __future__ import annotations

import argparse

from backend.setting_flags import add_setting_flags


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_setting_flags(parser, "local_workers", "data_dir")
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        default=None,
        help="render the window after a short scripted demo, save it as PATH (PNG) and exit",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="run the embedded cluster offscreen, submit tasks, wait for "
        "them to complete, exit 0 (or 1 with the reason)",
    )
