"""The submit policy: which tasks may be queued, with what retries, and which retried.

The manager (``POST /submit``, ``POST /tasks/{id}/retry``), ``distritask submit`` and
the panel all go through :class:`SubmitPolicy`, so they agree on:

* **task names.** Workers can register their own handlers (``--tasks MODULE``) and
  no submitter can see which: Redis holds no handler list. So the builtin handlers
  (``deploy_node``, ``noop``, ``sleep``, ``fail``, ``echo``) and the Go manager's ``ExampleTask``
  (run as ``deploy_node``) are always accepted; names listed in
  ``DISTRITASK_ALLOWED_TASKS`` (``--allowed-tasks``) are accepted too; ``*`` in that
  list accepts any well-formed name (a worker without the handler then fails the
  task visibly, with "unknown task"). A well-formed name is a letter or ``_``, then
  letters, digits or ``_.:-``, at most :data:`MAX_NAME` characters. Anything else is
  refused before it reaches the queue, with the list of known names, so a typo
  (``deploy_nod``) is an immediate error, not a failed task minutes later.
* **retries.** A task gets ``DISTRITASK_MAX_RETRIES`` unless the request sets its own.
* **retrying by hand.** Only a failed or cancelled task may be queued again: a
  completed one has run, and a pending or running one is still in the queue.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from backend.config import Settings
from backend.protocol import DEFAULT_QUEUE, DEFAULT_TASK, GO_DEFAULT_TASK, Task, TaskStatus

BUILTIN_TASKS = (DEFAULT_TASK, "noop", "sleep", "fail", "echo")
ANY = "*"
MAX_NAME = 100
NAME_PATTERN = rf"^[A-Za-z_][A-Za-z0-9_.:-]{{0,{MAX_NAME - 1}}}$"
"""A well-formed name: a letter or ``_``, then letters, digits, ``_.:-``; at most 100."""
_WELL_FORMED = re.compile(NAME_PATTERN)
RETRYABLE = frozenset({TaskStatus.FAILED, TaskStatus.CANCELLED})
"""The states a task may be retried from by hand."""
DEFAULT_MAX_RETRIES = Settings.model_fields["max_retries"].default


class SubmitRefused(ValueError):
    """A submit the policy refuses; the message says why."""


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a well-formed task name, or ``None`` when it is."""
    if _WELL_FORMED.match(name):
        return None
    if not name.strip():
        return "task name is empty"
    return (
        f"task name {name!r} is not well-formed: a letter or _, then letters, "
        f"digits or _.:- (at most {MAX_NAME} characters)"
    )


def retry_problem(task_id: str, status: TaskStatus) -> str | None:
    """Why a task in ``status`` may not be retried by hand, or ``None`` when it may."""
    if status in RETRYABLE:
        return None
    return f"task {task_id} is {status.value}; only failed or cancelled tasks can be retried"


class TaskNames:
    """The accepted names: the builtin ones plus ``allowed`` (``*``: any well-formed)."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        extra = set(allowed)
        self.any = ANY in extra
        self.known = frozenset({*BUILTIN_TASKS, GO_DEFAULT_TASK, *(extra - {ANY})})

    def problem(self, name: str) -> str | None:
        """Why ``name`` is refused, or ``None`` when it is accepted."""
        problem = name_problem(name)
        if problem is not None or self.any or name in self.known:
            return problem
        known = ", ".join(sorted(self.known))
        return (
            f"unknown task name {name!r}; known: {known} "
            "(allow custom handlers' names with DISTRITASK_ALLOWED_TASKS, '*' for any)"
        )


class SubmitPolicy:
    """The accepted names and the default retries, from the settings."""

    def __init__(
        self, allowed_tasks: Iterable[str] = (), max_retries: int = DEFAULT_MAX_RETRIES
    ) -> None:
        self.names = TaskNames(allowed_tasks)
        self.max_retries = max_retries

    @classmethod
    def from_settings(cls, settings: Settings) -> SubmitPolicy:
        return cls(settings.allowed_tasks, settings.max_retries)

    def problem(self, name: str) -> str | None:
        """Why tasks named ``name`` are refused, or ``None`` when they are accepted."""
        return self.names.problem(name)

    def tasks(
        self,
        name: str,
        payload: Any = None,
        count: int = 1,
        *,
        max_retries: int | None = None,
        timeout: float | None = None,
        queue: str | None = None,
        due: float | None = None,
        task_id: str | None = None,
    ) -> list[Task]:
        """``count`` new tasks (on ``queue``, runnable from epoch time ``due``);
        :class:`SubmitRefused` when the name or another field is refused.

        ``task_id``: the caller's own id (for one task), which makes the submit
        idempotent (see :meth:`backend.store.TaskStore.enqueue`)."""
        problem = self.problem(name)
        if problem is not None:
            raise SubmitRefused(problem)
        retries = self.max_retries if max_retries is None else max_retries
        own_id = {} if task_id is None else {"id": task_id}
        try:
            return [
                Task(
                    name=name,
                    payload=payload,
                    max_retries=retries,
                    timeout=timeout,
                    queue=queue or DEFAULT_QUEUE,
                    due=due,
                    **own_id,
                )
                for _ in range(count)
            ]
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            raise SubmitRefused(f"{where}: {error['msg']}") from None


MAX_DELAY = 366 * 86400.0
"""The furthest ahead a task may be delayed, in seconds."""


def due_time(delay: float | None = None, at: str | datetime | None = None) -> float | None:
    """The epoch time a task delayed by ``delay`` seconds, or until ``at`` (RFC 3339
    with an offset, e.g. ``2026-11-28T21:00:00Z``), becomes runnable; ``None`` for
    neither. :class:`SubmitRefused` for both, a negative or too long delay, or a time
    that does not parse or has no offset."""
    if delay is not None and at is not None:
        raise SubmitRefused("give delay or at, not both")
    if delay is not None:
        if not 0 <= delay <= MAX_DELAY:
            raise SubmitRefused(f"delay: must be between 0 and {MAX_DELAY:g} seconds")
        return time.time() + delay
    if at is None:
        return None
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at.strip())
        except ValueError:
            raise SubmitRefused(f"at: {at!r} is not an RFC 3339 time") from None
    if at.tzinfo is None:
        raise SubmitRefused("at: give an offset (Z or +HH:MM): the time zone is not guessed")
    try:
        due = at.timestamp()
    except (OverflowError, ValueError, OSError):
        raise SubmitRefused(f"at: {at.isoformat()} is out of range") from None
    if due - time.time() > MAX_DELAY:
        raise SubmitRefused(f"at: more than {MAX_DELAY / 86400:g} days ahead")
    return due
