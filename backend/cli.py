"""The ``distritask`` command: the control panel, and a subcommand per other part.

The parts are found by :func:`backend.parts.discover` (the panel and the bench through
their packages' entry points: ``backend`` names no GUI or bench module). Only the
chosen part is imported, so ``distritask worker`` on a server never loads Qt and
``distritask`` (the panel) never loads the HTTP stack. Each part's module has
``add_arguments(parser)`` and ``run(settings, args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from backend import __version__
from backend.errors import ConfigError, DistritaskError
from backend.parts import BUILTIN, DEFAULT, Part, discover
from backend.setting_flags import add_setting_flags, settings_from_args

DESCRIPTION = """\
Distritask: distributed tasks on Redis Streams, with a live control panel.

Without a subcommand it opens the control panel. With no REDIS_URL set, every part
starts (or joins) the embedded Redis-protocol server, so one command shows the whole
system working; with REDIS_URL set, every part joins that shared Redis."""


def _parts(argv: Sequence[str]) -> dict[str, Part]:
    """The parts to offer: a builtin subcommand needs only the builtin ones (so
    ``distritask worker`` loads nothing of other packages); else every installed one."""
    return dict(BUILTIN) if argv and argv[0] in BUILTIN else discover()


def build_parser(
    argv: Sequence[str], parts: dict[str, Part] | None = None
) -> tuple[argparse.ArgumentParser, ModuleType | None]:
    """The parser for ``argv``, with the chosen subcommand's module (imported) or
    ``None`` for the default part."""
    if parts is None:
        parts = _parts(argv)
    default = parts.get(DEFAULT)
    commands = {name: part for name, part in parts.items() if name != DEFAULT}
    parser = argparse.ArgumentParser(
        prog="distritask",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"distritask {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    add_setting_flags(common, "redis_url", "log_level")
    sub = parser.add_subparsers(dest="part", metavar="{" + ",".join(commands) + "}")
    chosen = argv[0] if argv and argv[0] in commands else None
    module: ModuleType | None = None
    for name, part in commands.items():
        part_parser = sub.add_parser(
            name, help=part.summary, description=part.summary, parents=[common]
        )
        if name == chosen:
            module = _import(part.module, name)
            module.add_arguments(part_parser)
    if chosen is None:
        add_setting_flags(parser, "redis_url", "log_level")
        if default is not None and default.options is not None:
            _import(default.options, "the control panel").add_arguments(parser)
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


def _default_part(parts: dict[str, Part]) -> ModuleType:
    part = parts.get(DEFAULT)
    if part is None:
        raise SystemExit(
            "distritask: the control panel is not installed here; run a part instead "
            "(distritask --help lists them)"
        )
    return _import(part.module, "the control panel")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parts = _parts(argv)
    parser, module = build_parser(argv, parts)
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
        configure_logging(settings.log_level)
        if module is None:
            module = _default_part(parts)
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
