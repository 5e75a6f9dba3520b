"""Task handlers: the registry workers look names up in, and the built-in handlers.

A user module registers its handlers with the :func:`task` decorator and is given to
the worker with ``--tasks pkg.module``::

    from backend.handlers import TaskContext, task

    @task("resize")
    async def resize(ctx: TaskContext) -> None:
        ctx.progress(50, "half way")
        ...

    @task  # registered under its own name, "checksum"
    def checksum(ctx: TaskContext) -> str:  # a plain function runs in a thread
        ...

A handler takes one :class:`TaskContext` (``payload``, ``task_id``, ``attempt``,
``progress(pct, message)``); returning means success, raising means failure (retried
up to the task's ``max_retries``). Plain functions run off the event loop through
:func:`asyncio.to_thread`; a timeout or a cancel stops waiting for them but cannot
stop the thread itself, so long plain handlers should be written as ``async``.

The built-in handlers (:mod:`backend.builtin_tasks`: ``deploy_node``, ``noop``,
``sleep``, ``fail``, ``echo``) join a registry the first time it is asked for a handler, not
when a module is imported; a user handler under the same name takes precedence.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, overload

from backend.errors import ConfigError
from backend.schedules import Schedule

log = logging.getLogger(__name__)

Handler = Callable[["TaskContext"], Any]
"""A handler: ``async def h(ctx)`` or ``def h(ctx)``."""
ProgressSink = Callable[[int, str], None]


@dataclass(slots=True)
class TaskContext:
    """What a running handler knows about its task, and how it reports progress."""

    task_id: str
    payload: Any
    attempt: int = 1
    name: str = ""
    _sink: ProgressSink | None = field(default=None, repr=False)

    def progress(self, pct: float, message: str = "") -> None:
        """Report progress (0-100, clamped) with a message; safe from any thread.

        Updates are published in batches, so calling this often is cheap; viewers see
        the newest value.
        """
        value = int(max(0, min(100, pct)))
        if self._sink is not None:
            self._sink(value, str(message))


@dataclass(slots=True)
class Registered:
    """A handler and how to call it."""

    name: str
    func: Handler
    is_async: bool

    async def __call__(self, ctx: TaskContext) -> Any:
        if self.is_async:
            return await self.func(ctx)
        return await asyncio.to_thread(self.func, ctx)


class Registry:
    """Handlers by task name; ``builtins``: the built-in handlers join on first use."""

    def __init__(self, *, builtins: bool = False) -> None:
        self._handlers: dict[str, Registered] = {}
        self._builtins = builtins
        self.schedules: dict[str, Schedule] = {}
        """Periodic tasks declared with ``@task(cron=…)`` / ``every=``, by schedule id."""

    def declare(
        self,
        name: str,
        *,
        cron: str | None,
        every: float | None,
        timezone: str = "UTC",
        payload: Any = None,
        queue: str | None = None,
    ) -> Schedule:
        """Declare the periodic task ``task:<name>`` (a bad timetable: ``ValueError``)."""
        schedule = Schedule.model_validate(
            {
                "id": f"task:{name}",
                "name": name,
                "cron": cron,
                "every": every,
                "timezone": timezone,
                "payload": payload,
                "source": "module",
                **({} if queue is None else {"queue": queue}),
            }
        )
        self.schedules[schedule.id] = schedule
        return schedule

    def register(self, name: str, func: Handler) -> Handler:
        if not name or not isinstance(name, str):
            raise ValueError(f"a task name must be a non-empty string, not {name!r}")
        known = self._handlers.get(name)
        if known is not None and known.func is not func:
            log.info("task %r: %s replaces %s", name, _where(func), _where(known.func))
        self._handlers[name] = Registered(name, func, _is_async(func))
        return func

    def get(self, name: str) -> Registered | None:
        if self._builtins:
            self._add_builtins()
        return self._handlers.get(name)

    def names(self) -> list[str]:
        if self._builtins:
            self._add_builtins()
        return sorted(self._handlers)

    def _add_builtins(self) -> None:
        from backend.builtin_tasks import BUILTINS

        self._builtins = False
        for name, func in BUILTINS.items():
            if name not in self._handlers:
                self._handlers[name] = Registered(name, func, _is_async(func))


def _is_async(func: Handler) -> bool:
    call = getattr(func, "__call__", None)  # noqa: B004 - callable objects too
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(call)


def _where(func: Handler) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', func)!s}"


registry = Registry(builtins=True)
"""The registry the worker uses: :func:`task` adds to it, the built-ins on first use."""


@overload
def task(name: Handler, /) -> Handler: ...
@overload
def task(
    name: str | None = None,
    /,
    *,
    cron: str | None = None,
    every: float | None = None,
    timezone: str = "UTC",
    payload: Any = None,
    queue: str | None = None,
) -> Callable[[Handler], Handler]: ...


def task(
    name: str | Handler | None = None,
    /,
    *,
    cron: str | None = None,
    every: float | None = None,
    timezone: str = "UTC",
    payload: Any = None,
    queue: str | None = None,
) -> Handler | Callable[[Handler], Handler]:
    """Register a handler: ``@task("resize")``, or ``@task`` for the function's name.

    With ``cron="*/5 * * * *"`` (read in ``timezone``, UTC by default) or ``every=``
    seconds, it is also a periodic task: workers that load the module declare the
    schedule ``task:<name>`` (queueing ``payload`` on ``queue`` once per tick; see
    :mod:`backend.schedules`). A bad timetable fails the import with the reason.
    """
    if callable(name):
        func = name
        return registry.register(func.__name__, func)

    def decorate(func: Handler) -> Handler:
        task_name = name or func.__name__
        if cron is not None or every is not None:
            registry.declare(
                task_name, cron=cron, every=every, timezone=timezone, payload=payload, queue=queue
            )
        return registry.register(task_name, func)

    return decorate


def load_modules(modules: list[str]) -> None:
    """Import the user modules that register handlers; a failure is a ConfigError."""
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:  # any error in a user module is a bad setting
            raise ConfigError("--tasks", module, f"cannot import it: {exc}") from exc


__all__ = ["Handler", "Registry", "TaskContext", "load_modules", "registry", "task"]
