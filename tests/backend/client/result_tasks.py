"""Handlers whose results test the result rules (``--tasks tests.backend.client.result_tasks``)."""

from __future__ import annotations

from typing import Any

from backend.client import TaskContext, task


@task("not_json")
async def not_json(ctx: TaskContext) -> Any:
    """Returns a set, which JSON has no form for."""
    return {1, 2, 3}


@task("sized")
def sized(ctx: TaskContext) -> str:
    """Returns a string of ``payload`` characters (a plain function: runs in a thread)."""
    return "x" * int(ctx.payload)
