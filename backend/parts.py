"""The parts the ``distritask`` command runs, and how it finds the ones outside ``backend``.

A part is a module with ``add_arguments(parser)`` and ``run(settings, args) -> int``.
The headless parts live in ``backend`` and are listed here. The control panel and the
bench live in their own packages, which ``backend`` never names: each declares a
:class:`Part` under the ``distritask.parts`` entry-point group (``pyproject.toml``),
and :func:`discover` finds them through the installed package's metadata. The part
named ``panel`` is the one bare ``distritask`` runs; every other is a subcommand.
Declarations are light (no Qt), and a part's module is imported only when chosen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import entry_points

log = logging.getLogger(__name__)

GROUP = "distritask.parts"
DEFAULT = "panel"
"""The part bare ``distritask`` (no subcommand) runs."""


@dataclass(frozen=True)
class Part:
    """Where a part lives, and what it does in one line (for ``--help``)."""

    module: str
    """Imported only when the part is chosen: ``add_arguments`` and ``run``."""
    summary: str
    options: str | None = None
    """A light module whose ``add_arguments`` gives the flags of the default part, so
    ``distritask --help`` does not import the part itself."""


BUILTIN: dict[str, Part] = {
    "broker": Part(
        "backend.broker_command", "run the embedded Redis-protocol server in the foreground"
    ),
    "worker": Part("backend.worker", "run tasks from the queue (many per machine, many machines)"),
    "manager": Part("backend.manager", "serve the HTTP API to submit and inspect tasks"),
    "dashboard": Part("backend.dashboard", "bridge live status to WebSocket clients"),
    "submit": Part("backend.submit", "queue tasks straight through Redis, optionally wait"),
    "schedule": Part("backend.schedule_cli", "add, list, remove, pause, resume periodic tasks"),
}


def discover() -> dict[str, Part]:
    """The builtin parts plus every installed package's declared ones.

    A declaration that cannot be loaded (its package is missing from this install or
    bundle) is left out, so the command still works without it."""
    parts = dict(BUILTIN)
    for entry in entry_points(group=GROUP):
        if entry.name in parts:
            continue
        try:
            part = entry.load()
        except Exception as exc:  # a broken or absent optional package: leave it out
            log.debug("part %s (%s) is not available: %s", entry.name, entry.value, exc)
            continue
        if isinstance(part, Part):
            parts[entry.name] = part
    return parts
