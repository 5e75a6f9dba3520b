"""Turning :meth:`Client.submit_many`'s items into tasks, under the submit policy.

Names the policy accepts (the builtin ones, ``DISTRITASK_ALLOWED_TASKS``) are
accepted, and so is every name registered with :func:`backend.client.task` in this
process: an application that imports its tasks module can submit its tasks.

No model is built per task (see :meth:`backend.store.TaskStore.enqueue_new`): each
distinct name, retry count and timeout is checked once, and the checks are those of
:class:`~backend.protocol.Task`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

from backend.handlers import registry
from backend.policy import SubmitPolicy, due_time
from backend.protocol import DEFAULT_QUEUE, Task, new_task_ids, wire_payload
from backend.store import NewTask

TaskSpec = Mapping[str, Any] | tuple[Any, ...]
"""A task to submit: a dict of :meth:`Client.submit`'s keywords, or ``(name, payload)``."""

KEYWORDS = frozenset(
    {"name", "payload", "queue", "delay", "at", "task_id", "max_retries", "timeout"}
)
MAX_ID = 200
"""The longest id (as :class:`~backend.protocol.Task` allows)."""
MAX_RETRIES = 100


class _Checks:
    """The checks made once per distinct value."""

    def __init__(self, policy: SubmitPolicy) -> None:
        self.policy = policy
        self.names: set[str] = set()
        self.retries: set[Any] = set()
        self.timeouts: set[Any] = {None}

    def name(self, name: Any) -> str:
        if name in self.names:
            return str(name)
        if not isinstance(name, str):
            raise ValueError(f"name must be a string, not {name!r}")
        problem = self.policy.problem(name)
        if problem is not None and registry.get(name) is None:
            raise ValueError(problem)
        self.names.add(name)
        return name

    def max_retries(self, value: Any) -> int:
        if value is None:
            return self.policy.max_retries
        if value not in self.retries:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"max_retries must be an integer, not {value!r}")
            if not 0 <= value <= MAX_RETRIES:
                raise ValueError(f"max_retries must be from 0 to {MAX_RETRIES}, not {value}")
            self.retries.add(value)
        return int(value)

    def timeout(self, value: Any) -> float | None:
        if value not in self.timeouts:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"timeout must be a number of seconds, not {value!r}")
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"timeout must be more than 0 seconds, not {value}")
            self.timeouts.add(value)
        return None if value is None else float(value)


def _task_id(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID:
        raise ValueError(f"task_id must be a string of 1 to {MAX_ID} characters, not {value!r}")
    return value


def routed(spec: TaskSpec) -> bool:
    """Whether ``spec`` names a queue other than ``default``, a delay or a time: such a
    task is submitted as a model (:func:`build_routed`), not by the fast path."""
    return (
        type(spec) is not tuple
        and isinstance(spec, Mapping)
        and (
            spec.get("delay") is not None
            or spec.get("at") is not None
            or spec.get("queue") not in (None, DEFAULT_QUEUE)
        )
    )


def build_routed(spec: Mapping[str, Any], policy: SubmitPolicy) -> Task:
    """The task of a :func:`routed` spec; ``ValueError`` (SubmitRefused) naming the problem."""
    unknown = set(spec) - KEYWORDS
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    given = spec.get("task_id")
    [task] = policy.tasks(
        spec.get("name"),  # type: ignore[arg-type]
        spec.get("payload"),
        1,
        max_retries=spec.get("max_retries"),
        timeout=spec.get("timeout"),
        queue=spec.get("queue"),
        due=due_time(spec.get("delay"), spec.get("at")),
        task_id=None if given is None else _task_id(given),
    )
    return task


def build_tasks(specs: Iterable[TaskSpec], policy: SubmitPolicy) -> list[NewTask]:
    """One :class:`NewTask` per item (none :func:`routed`); ``ValueError`` naming the
    first bad one."""
    items = list(specs)
    fresh = iter(new_task_ids(len(items)))
    checks = _Checks(policy)
    wires: dict[int, str | None] = {}
    tasks: list[NewTask] = []
    now = time.time
    last: TaskSpec | None = None
    for index, spec in enumerate(items):
        if spec is not last:  # the same item again ([spec] * n) is checked once
            try:
                name, payload, retries, timeout, given_id = _checked(spec, checks)
                seen = id(payload)
                if seen in wires:
                    wire = wires[seen]
                else:
                    try:
                        wire = wire_payload(payload)
                    except (TypeError, ValueError) as exc:
                        raise ValueError(f"payload is not JSON: {exc}") from None
                    wires[seen] = wire
            except ValueError as exc:
                raise ValueError(f"task {index}: {exc}") from None
            last = spec
        own = given_id is not None
        tasks.append(
            NewTask(
                given_id if own else next(fresh),  # type: ignore[arg-type]
                name,
                wire,
                payload,
                retries,
                now(),
                timeout,
                own,
            )
        )
    return tasks


def _checked(spec: TaskSpec, checks: _Checks) -> tuple[str, Any, int, float | None, str | None]:
    """An item's name, payload, retries, timeout and own id (``None``: a fresh one),
    checked; ``ValueError`` naming the problem."""
    if type(spec) is tuple:
        if not 1 <= len(spec) <= 2:
            raise ValueError("a tuple is (name,) or (name, payload)")
        payload = spec[1] if len(spec) == 2 else None
        return checks.name(spec[0]), payload, checks.max_retries(None), None, None
    if isinstance(spec, Mapping):
        unknown = set(spec) - KEYWORDS
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        given = spec.get("task_id")
        return (
            checks.name(spec.get("name")),
            spec.get("payload"),
            checks.max_retries(spec.get("max_retries")),
            checks.timeout(spec.get("timeout")),
            None if given is None else _task_id(given),
        )
    raise ValueError(f"expected a dict or a tuple, not {spec!r}")
