"""``distritask submit``: queue tasks straight through Redis (no manager needed).

Prints each queued id on its own line (stdout). With ``--wait`` it then shows a
progress bar on stderr until every task has finished, and says how they ended.

Exit status: 0 when queued (with ``--wait``: when every task completed); 1 when a
task failed or was cancelled, ``--timeout`` passed, or the broker is unreachable;
2 for bad arguments (bad JSON payload, unknown task name, bad number).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any, TextIO

import redis.asyncio as aioredis

from backend import connection, keys
from backend.config import Settings, add_setting_flags
from backend.errors import BrokerError, ProtocolError
from backend.policy import SubmitPolicy, SubmitRefused
from backend.protocol import DEFAULT_TASK, Task, TaskStatus, decode_update
from backend.store import Subscription, TaskStore

CONNECT_WITHIN = 10.0
"""Seconds to wait for an unreachable broker before giving up."""
REFRESH = 2.0
"""Seconds between reads of the recorded states while waiting (covers lost messages)."""


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc}): {text!r}") from None


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 100000, not {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--name", default=DEFAULT_TASK, help=f"task to run (default {DEFAULT_TASK})"
    )
    parser.add_argument("--payload", type=_json, default=None, metavar="JSON", help="task payload")
    parser.add_argument("--count", type=_count, default=1, metavar="N", help="tasks to queue")
    parser.add_argument(
        "--wait", action="store_true", help="show progress until they finish; fail if any fails"
    )
    parser.add_argument(
        "--timeout", type=_seconds, default=None, metavar="SECONDS", help="with --wait: give up"
    )
    add_setting_flags(parser, "max_retries", "allowed_tasks", "data_dir", "broker_port")


class ProgressBar:
    """One line on a terminal (redrawn at most 10 times a second); elsewhere a line
    at most once a second."""

    def __init__(self, total: int, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.total, self.stream, self.width = total, stream, width
        self.tty = stream.isatty()
        self._last = (-1.0, "")

    def show(self, done: int, failed: int, *, final: bool = False) -> None:
        filled = self.width * done // max(1, self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        text = f"[{bar}] {done}/{self.total} finished, {failed} failed"
        now = time.monotonic()
        pause = 0.1 if self.tty else 1.0
        if not final and (text == self._last[1] or now - self._last[0] < pause):
            return
        self._last = (now, text)
        end = "\n" if final or not self.tty else ""
        self.stream.write(("\r" if self.tty else "") + text + end)
        self.stream.flush()


async def _updates(updates: Subscription, ids: set[str], seen: dict[str, TaskStatus]) -> None:
    """Take the updates that arrive within ``REFRESH`` seconds into ``seen``."""
    deadline = time.monotonic() + REFRESH
    while (left := deadline - time.monotonic()) > 0:
        data = await updates.get(within=left)
        if data is None:
            continue
        try:
            update = decode_update(data)
        except ProtocolError:
            continue
        if update.id in ids:
            seen[update.id] = update.status


async def wait_for(
    store: TaskStore, updates: Subscription, ids: list[str], give_up_after: float | None
) -> dict[str, TaskStatus]:
    """Each task's final status, once all are final (or the unfinished ones' last
    status when ``give_up_after`` seconds pass)."""
    wanted, seen = set(ids), dict[str, TaskStatus]()
    bar = ProgressBar(len(ids))
    deadline = None if give_up_after is None else time.monotonic() + give_up_after
    while True:
        for state in await store.get_many([i for i in ids if not _final(seen.get(i))]):
            seen[state.id] = state.status
        finished = [s for s in seen.values() if s.terminal]
        bad = sum(s is not TaskStatus.COMPLETED for s in finished)
        if len(finished) == len(ids) or (deadline is not None and time.monotonic() > deadline):
            bar.show(len(finished), bad, final=True)
            return seen
        bar.show(len(finished), bad)
        await _updates(updates, wanted, seen)


def _final(status: TaskStatus | None) -> bool:
    return status is not None and status.terminal


async def submit(settings: Settings, url: str, args: argparse.Namespace, tasks: list[Task]) -> int:
    try:
        redis = await connection.connect(url, give_up_after=CONNECT_WITHIN)
    except connection.BROKER_DOWN as exc:
        raise BrokerError(f"broker {connection.describe(url)} unreachable: {exc}") from None
    listener: aioredis.Redis = connection.client(url, timeout=None)
    try:
        store = TaskStore(redis, listener=listener)
        await store.ensure_group()
        updates = await store.subscribe(keys.UPDATES_CHANNEL) if args.wait else None
        states = await store.submit(tasks)
        ids = [state.id for state in states]
        print("\n".join(ids), flush=True)
        if updates is None:
            return 0
        async with updates:
            seen = await wait_for(store, updates, ids, args.timeout)
        return _report(ids, seen)
    except connection.BROKER_DOWN as exc:
        raise BrokerError(f"lost the broker {connection.describe(url)}: {exc}") from None
    finally:
        await listener.aclose()
        await redis.aclose()


def _report(ids: list[str], seen: dict[str, TaskStatus]) -> int:
    counts: dict[str, int] = {}
    for task_id in ids:
        status = seen.get(task_id)
        key = status.value if status is not None and status.terminal else "unfinished"
        counts[key] = counts.get(key, 0) + 1
    summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
    print(summary, file=sys.stderr)
    if "unfinished" in counts:
        print("timed out before every task finished", file=sys.stderr)
    return 0 if counts.get(TaskStatus.COMPLETED.value, 0) == len(ids) else 1


def run(settings: Settings, args: argparse.Namespace) -> int:
    try:
        tasks = SubmitPolicy.from_settings(settings).tasks(args.name, args.payload, args.count)
    except SubmitRefused as exc:
        print(f"distritask submit: --name: {exc}", file=sys.stderr)
        return 2
    from backend.broker import use_broker

    with use_broker(settings) as broker:
        return asyncio.run(submit(settings, broker.url, args, tasks))


if __name__ == "__main__":
    from backend.cli import main

    sys.exit(main(["submit", *sys.argv[1:]]))
