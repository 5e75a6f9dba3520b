"""Which task names the manager and ``distritask submit`` accept.

Workers can register their own handlers (``--tasks MODULE``), and neither the
manager nor ``submit`` can see which: Redis holds no handler list. So the rule is:

* the builtin handlers (``deploy_node``, ``noop``, ``sleep``, ``fail``) and the Go
  manager's ``ExampleTask`` (run as ``deploy_node``) are always accepted;
* names listed in ``DISTRITASK_ALLOWED_TASKS`` (``--allowed-tasks``) are accepted
  too: list the custom handlers your workers register;
* ``*`` in that list accepts any well-formed name (a worker without the handler
  then fails the task visibly, with "unknown task").

Anything else is refused before it reaches the queue, with the list of known names,
so a typo (``deploy_nod``) is an immediate 4xx, not a failed task minutes later.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from backend.protocol import DEFAULT_TASK, GO_DEFAULT_TASK

BUILTIN_TASKS = (DEFAULT_TASK, "noop", "sleep", "fail")
ANY = "*"
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.:-]{0,99}$"
"""A well-formed name: a letter or ``_``, then letters, digits, ``_.:-``; at most 100."""
_WELL_FORMED = re.compile(NAME_PATTERN)


class TaskNames:
    """The accepted names: the builtin ones plus ``allowed`` (``*``: any well-formed)."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        extra = set(allowed)
        self.any = ANY in extra
        self.known = frozenset({*BUILTIN_TASKS, GO_DEFAULT_TASK, *(extra - {ANY})})

    def problem(self, name: str) -> str | None:
        """Why ``name`` is refused, or ``None`` when it is accepted."""
        if not _WELL_FORMED.match(name):
            return (
                f"task name {name!r} is not well-formed: a letter or _, then letters, "
                "digits or _.:- (at most 100 characters)"
            )
        if self.any or name in self.known:
            return None
        known = ", ".join(sorted(self.known))
        return (
            f"unknown task name {name!r}; known: {known} "
            "(allow custom handlers' names with DISTRITASK_ALLOWED_TASKS, '*' for any)"
        )
