"""``distritask submit``: queue tasks straight through Redis (no manager needed).

Prints each queued id on its own line (stdout). With ``--wait`` it then shows a
progress bar on stderr until every task has finished, and says how they ended. With
``--json`` stdout has one JSON object per task instead, in submit order: its ``id``
and ``status`` and (with ``--wait``) the ``result`` of a completed task or the
``error`` of a failed or cancelled one.

Tasks are built and queued a thousand at a time, and their ends are counted from
their status events (:mod:`backend.outcomes`), so memory follows the tasks in
flight: ``--count 100000 --wait`` stays under 200 MB.

Exit status: 0 when queued (with ``--wait``: when every task completed); 1 when a
task failed or was cancelled, ``--timeout`` passed, or the broker is unreachable;
2 for bad arguments (bad JSON payload, unknown task name, bad number, bad queue
name or time). ``--queue`` picks a named queue; ``--delay``/``--at`` queue the tasks
as scheduled, to run from that time on (``--wait`` then waits for them to run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from typing import Any

import redis.asyncio as aioredis
from tqdm import tqdm

from backend import connection, keys
from backend.broker_url import describe
from backend.config import Settings
from backend.errors import BrokerError
from backend.outcomes import Outcomes
from backend.policy import MAX_DELAY, SubmitPolicy, SubmitRefused, due_time
from backend.protocol import DEFAULT_TASK, QUEUE_PATTERN, TaskStatus
from backend.setting_flags import add_setting_flags
from backend.store import Subscription, TaskStore

CONNECT_WITHIN = 10.0
"""Seconds to wait for an unreachable broker before giving up."""
SUBMIT_CHUNK = 1000
"""Tasks built and queued at a time: memory follows the tasks in flight, not ``--count``."""
LISTEN = 0.2
"""Seconds between redraws of the progress bar while waiting."""


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


def _queue_name(text: str) -> str:
    if not re.fullmatch(QUEUE_PATTERN, text):
        raise argparse.ArgumentTypeError(
            f"a queue name is 1-64 letters, digits, '_', '.', '-' (first a letter or digit), "
            f"not {text!r}"
        )
    return text


def _delay(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= MAX_DELAY:
        raise argparse.ArgumentTypeError(f"must be 0 to {MAX_DELAY:g} seconds, not {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--name", default=DEFAULT_TASK, help=f"task to run (default {DEFAULT_TASK})"
    )
    parser.add_argument("--payload", type=_json, default=None, metavar="JSON", help="task payload")
    parser.add_argument("--count", type=_count, default=1, metavar="N", help="tasks to queue")
    parser.add_argument(
        "--queue",
        type=_queue_name,
        default=None,
        metavar="NAME",
        help="named queue (default: default)",
    )
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--delay", type=_delay, default=None, metavar="SECONDS", help="run no sooner than this"
    )
    when.add_argument(
        "--at",
        default=None,
        metavar="TIME",
        help="run at this RFC 3339 time (e.g. 2026-12-01T09:00:00Z)",
    )
    parser.add_argument(
        "--wait", action="store_true", help="show progress until they finish; fail if any fails"
    )
    parser.add_argument(
        "--timeout", type=_seconds, default=None, metavar="SECONDS", help="with --wait: give up"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per task (id, status; with --wait also result or error) "
        "instead of the ids",
    )
    add_setting_flags(
        parser,
        "max_retries",
        "allowed_tasks",
        "retention",
        "data_dir",
        "broker_port",
        "submit_replicas",
        "submit_replicas_timeout",
    )


def _progress_bar(total: int) -> tqdm[Any]:
    """On stderr: redrawn up to 10 times a second on a terminal, once a second elsewhere."""
    tty = sys.stderr.isatty()
    return tqdm(
        total=total,
        file=sys.stderr,
        unit="task",
        mininterval=0.1 if tty else 1.0,
        bar_format="{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} finished{postfix} "
        "[{elapsed}<{remaining}]",
        dynamic_ncols=True,
    )


class Progress:
    """Following the submitted tasks on a progress bar, from their status events."""

    def __init__(self, store: TaskStore, updates: Subscription, bar: tqdm[Any]) -> None:
        self.store, self.updates, self.bar = store, updates, bar
        self.outcomes = Outcomes()

    async def catch_up(self, within: float = 0.0) -> None:
        """Take the events that arrived (and those within ``within`` s); redraw."""
        await self.outcomes.listen(self.updates, within)
        self.bar.set_postfix_str(f"{self.outcomes.failed} failed", refresh=False)
        self.bar.update(self.outcomes.finished - self.bar.n)

    async def wait(self, total: int, give_up_after: float | None) -> None:
        """Until every task has finished, or ``give_up_after`` seconds have passed."""
        deadline = None if give_up_after is None else time.monotonic() + give_up_after
        while self.outcomes.finished < total and (deadline is None or time.monotonic() < deadline):
            await self.catch_up(LISTEN)
            await self.outcomes.recheck_if_quiet(self.store)
        await self.catch_up()


async def _queue(
    store: TaskStore, args: argparse.Namespace, policy: SubmitPolicy, progress: Progress | None
) -> list[str]:
    """Build and queue the tasks a chunk at a time; print their ids (unless ``--json``
    with ``--wait``: then they are printed when done); the ids."""
    due = due_time(args.delay, args.at)
    queued: list[str] = []
    for first in range(0, args.count, SUBMIT_CHUNK):
        count = min(SUBMIT_CHUNK, args.count - first)
        tasks = policy.tasks(args.name, args.payload, count, queue=args.queue, due=due)
        ids = [task.id for task in tasks]
        if progress is not None:
            progress.outcomes.expect(ids)  # before they are queued: no event is missed
        await store.submit(tasks)
        if not args.json and progress is not None:  # above the bar, not through it
            tqdm.write("\n".join(ids), file=sys.stdout)
            sys.stdout.flush()
        elif not args.json:
            print("\n".join(ids), flush=True)
        elif progress is None:
            print("\n".join(json.dumps({"id": i, "status": "pending"}) for i in ids), flush=True)
        else:
            queued += ids
        if progress is not None:
            await progress.catch_up()
    return queued


async def _print_outcomes(store: TaskStore, ids: list[str]) -> None:
    """One JSON object per task, in order: id, status, and its result or error."""
    for first in range(0, len(ids), SUBMIT_CHUNK):
        chunk = ids[first : first + SUBMIT_CHUNK]
        states = {state.id: state for state in await store.get_many(chunk)}
        lines = []
        for task_id in chunk:
            state = states.get(task_id)
            out: dict[str, Any] = {"id": task_id, "status": "unknown"}
            if state is not None:
                out["status"] = state.status.value
                if state.status is TaskStatus.COMPLETED:
                    out["result"] = state.result
                elif state.status.terminal:
                    out["error"] = state.error or state.message
            lines.append(json.dumps(out))
        print("\n".join(lines), flush=True)


async def submit(settings: Settings, url: str, args: argparse.Namespace) -> int:
    try:
        redis = await connection.connect(
            url, give_up_after=CONNECT_WITHIN, cluster=settings.cluster
        )
    except connection.BROKER_DOWN as exc:
        raise BrokerError(f"broker {describe(url)} unreachable: {exc}") from None
    listener: aioredis.Redis = connection.client(url, timeout=None, cluster=settings.cluster)
    policy = SubmitPolicy.from_settings(settings)
    try:
        store = TaskStore.from_settings(redis, settings, listener=listener)
        await store.ensure_group()
        if not args.wait:
            await _queue(store, args, policy, None)
            return 0
        async with await store.subscribe(keys.UPDATES_CHANNEL) as updates:
            with _progress_bar(args.count) as bar:
                progress = Progress(store, updates, bar)
                ids = await _queue(store, args, policy, progress)
                await progress.wait(args.count, args.timeout)
        await _print_outcomes(store, ids)
        return _report(progress.outcomes, args.count)
    except connection.BROKER_DOWN as exc:
        raise BrokerError(f"lost the broker {describe(url)}: {exc}") from None
    finally:
        await listener.aclose()
        await redis.aclose()


def _report(outcomes: Outcomes, total: int) -> int:
    counts = {status.value: n for status, n in outcomes.counts.items()}
    if outcomes.unfinished:
        counts["unfinished"] = len(outcomes.unfinished)
    summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
    print(summary, file=sys.stderr)
    if outcomes.unfinished:
        print("timed out before every task finished", file=sys.stderr)
    return 0 if outcomes.counts[TaskStatus.COMPLETED] == total else 1


def run(settings: Settings, args: argparse.Namespace) -> int:
    problem = SubmitPolicy.from_settings(settings).problem(args.name)
    if problem is not None:
        print(f"distritask submit: --name: {problem}", file=sys.stderr)
        return 2
    try:
        due_time(args.delay, args.at)
    except SubmitRefused as exc:
        print(f"distritask submit: --{exc}", file=sys.stderr)
        return 2
    from backend.broker import use_broker

    with use_broker(settings) as broker:
        return asyncio.run(submit(settings, broker.url, args))


if __name__ == "__main__":
    from backend.cli import main

    sys.exit(main(["submit", *sys.argv[1:]]))
