"""Helpers for the worker tests: start real workers, wait for task states."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable

import pytest

from backend import keys
from backend.protocol import Task, TaskStatus
from backend.state import TaskState, decode_state
from backend.store import TaskStore
from tests.waiting import eventually

StartWorker = Callable[..., subprocess.Popen[bytes]]
FAST = {"DISTRITASK_RETRY_BACKOFF": "0.05", "DISTRITASK_HEARTBEAT_TTL": "2"}


@pytest.fixture
def start_worker(spawn: Callable[..., subprocess.Popen[bytes]]) -> StartWorker:
    """``start_worker("--concurrency", "2", ...)``: a real worker with quick timings."""

    def _start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        return spawn("worker", "--log-level", "INFO", *args, env={**FAST, **(env or {})})

    return _start


async def states_of(store: TaskStore, ids: list[str]) -> list[TaskState | None]:
    raw = await store.redis.hmget(keys.TASK_STATES, ids) if ids else []
    return [None if value is None else decode_state(value) for value in raw]


async def wait_states(
    store: TaskStore,
    ids: Iterable[str],
    status: TaskStatus = TaskStatus.COMPLETED,
    *,
    within: float = 20.0,
) -> list[TaskState]:
    """Wait until every task in ``ids`` is in ``status``; their states."""
    wanted = list(ids)

    async def reached() -> list[TaskState] | None:
        states = await states_of(store, wanted)
        if all(s is not None and s.status is status for s in states):
            return [s for s in states if s is not None]
        return None

    try:
        return await eventually(reached, within=within, interval=0.05)  # type: ignore[return-value]
    except AssertionError:
        states = await states_of(store, wanted)
        stuck = [
            (i, s.status.value if s else None)
            for i, s in zip(wanted, states, strict=True)
            if not s or s.status is not status
        ]
        raise AssertionError(f"{len(stuck)} task(s) not {status.value}: {stuck[:5]}") from None


async def wait_status(
    store: TaskStore, task_id: str, status: TaskStatus, within: float = 10.0
) -> TaskState:
    [state] = await wait_states(store, [task_id], status, within=within)
    return state


async def submit(store: TaskStore, name: str, count: int = 1, **fields: object) -> list[str]:
    """Queue ``count`` tasks named ``name``; their ids."""
    ids: list[str] = []
    for start in range(0, count, 1000):
        tasks = [Task(name=name, **fields) for _ in range(min(1000, count - start))]  # type: ignore[arg-type]
        ids.extend(state.id for state in await store.submit(tasks))
    return ids


async def wait_online(store: TaskStore, count: int, within: float = 15.0) -> None:
    """Wait until ``count`` workers have sent a heartbeat (they are ready to read)."""

    async def online() -> bool:
        return sum(w.online for w in await store.workers()) >= count

    await eventually(online, within=within, interval=0.05)


async def pending_entries(store: TaskStore) -> int:
    """Entries delivered to some worker and not acknowledged."""
    summary = await store.redis.xpending(keys.TASK_STREAM, keys.WORKER_GROUP)
    return int(summary["pending"])


def wait_exit(process: subprocess.Popen[bytes], within: float) -> int:
    """The exit status, which must come within ``within`` seconds."""
    return process.wait(timeout=within)
