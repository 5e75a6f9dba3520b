"""The ``distritask`` command: the control panel, and a subcommand per headless part.

Only the chosen part is imported, so ``distritask worker`` on a server never loads
Qt and ``distritask`` (the panel) never loads the HTTP stack. Each part's module
has ``add_arguments(parser)`` and ``run(settings, args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from backend import __version__
from backend.config import add_setting_flags, settings_from_args
from backend.errors import ConfigError, DistritaskError

PANEL = "distritask_gui.app"
PANEL_OPTIONS = "distritask_gui.options"
"""The panel's flags, in a module without Qt so ``--help`` stays light."""
PARTS: dict[str, tuple[str, str]] = {
    "broker": ("backend.broker", "run the embedded Redis-protocol server in the foreground"),
    "worker": ("backend.worker", "run tasks from the queue (many per machine, many machines)"),
    "manager": ("backend.manager", "serve the HTTP API to submit and inspect tasks"),
    "dashboard": ("backend.dashboard", "bridge live status to WebSocket clients"),
    "submit": ("backend.submit", "queue tasks straight through Redis, optionally wait"),
    "bench": ("distritask_bench.run", "measure throughput and latency against the raw Redis limit"),
}
DESCRIPTION = """\
Distritask: distributed tasks on Redis Streams, with a live control panel.

Without a subcommand it opens the control panel. With no REDIS_URL set, every part
starts (or joins) the embedded Redis-protocol server, so one command shows the whole
system working; with REDIS_URL set, every part joins that shared Redis."""


def _chosen(argv: Sequence[str]) -> str | None:
    """The part named by the first argument, if it names one."""
    return argv[0] if argv and argv[0] in PARTS else None


def build_parser(argv: Sequence[str]) -> tuple[argparse.ArgumentParser, ModuleType | None]:
    """The parser for ``argv``, with the chosen part's module (imported) or ``None``."""
    parser = argparse.ArgumentParser(
        prog="distritask",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"distritask {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    add_setting_flags(common, "redis_url", "log_level")
    sub = parser.add_subparsers(dest="part", metavar="{" + ",".join(PARTS) + "}")
    chosen = _chosen(argv)
    module: ModuleType | None = None
    for name, (module_name, summary) in PARTS.items():
        part_parser = sub.add_parser(name, help=summary, description=summary, parents=[common])
        if name == chosen:
            module = _import(module_name, name)
            module.add_arguments(part_parser)
    if chosen is None:
        add_setting_flags(parser, "redis_url", "log_level")
        _import(PANEL_OPTIONS, "the control panel").add_arguments(parser)
    return parser, module


def _import(module_name: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemExit(f"distritask: {what} is not available: {exc}") from exc


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, module = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
        configure_logging(settings.log_level)
        if module is None:
            module = _import(PANEL, "the control panel")
        return int(module.run(settings, args))
    except ConfigError as exc:
        print(f"distritask: {exc}", file=sys.stderr)
        return 2
    except DistritaskError as exc:
        print(f"distritask: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
