"""The built-in task handlers, which every worker knows (see :mod:`backend.handlers`).

``deploy_node`` (the original's simulated work, about five seconds in steps; payload
``{"seconds": x}`` changes the length), ``noop`` (returns at once), ``sleep``
(payload: seconds, or ``{"seconds": x}``), ``fail`` (raises; payload
``{"message": "..."}`` sets the error) and ``echo`` (returns its payload: the task's
result).
"""

from __future__ import annotations

import asyncio
from typing import Any

from backend import messages
from backend.handlers import Handler, TaskContext

DEPLOY_SECONDS = 5.0
DEPLOY_STEPS = (
    (15, messages.STARTED),
    (40, messages.ANALYZING),
    (60, "Provisioning the node"),
    (80, "Running workload checks"),
    (95, "Finalizing deployment"),
)
"""The original's two messages, spread over five equal steps of ``deploy_node``."""


def _seconds(payload: Any, default: float) -> float:
    value = payload.get("seconds", default) if isinstance(payload, dict) else payload
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 86400:
        raise ValueError(f"seconds must be a number from 0 to 86400, not {value!r}")
    return float(value)


async def deploy_node(ctx: TaskContext) -> None:
    """The original worker's simulated deployment: about five seconds in steps."""
    seconds = _seconds(ctx.payload if isinstance(ctx.payload, dict) else None, DEPLOY_SECONDS)
    for pct, message in DEPLOY_STEPS:
        ctx.progress(pct, message)
        await asyncio.sleep(seconds / len(DEPLOY_STEPS))


async def noop(ctx: TaskContext) -> None:
    """Nothing, at once (what the benchmarks run)."""


async def sleep(ctx: TaskContext) -> None:
    """Sleep for the payload's seconds (a number or ``{"seconds": x}``; default 1)."""
    seconds = _seconds(ctx.payload, 1.0)
    ctx.progress(0, messages.sleeping(seconds))
    await asyncio.sleep(seconds)


async def fail(ctx: TaskContext) -> None:
    """Fail on purpose (for demos and tests); ``{"message": ...}`` sets the error."""
    message = "failed on purpose"
    if isinstance(ctx.payload, dict) and isinstance(ctx.payload.get("message"), str):
        message = ctx.payload["message"]
    raise RuntimeError(message)


async def echo(ctx: TaskContext) -> Any:
    """Return the payload (the task's result): a round trip through a worker."""
    return ctx.payload


BUILTINS: dict[str, Handler] = {
    "deploy_node": deploy_node,
    "noop": noop,
    "sleep": sleep,
    "fail": fail,
    "echo": echo,
}
