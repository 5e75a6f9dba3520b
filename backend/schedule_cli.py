"""``distritask schedule add|list|rm|pause|resume``: periodic tasks, straight through Redis.

``add`` takes the task name and ``--cron "*/5 * * * *"`` (with ``--timezone``, UTC by
default) or ``--every SECONDS``, and prints the schedule's id. ``list`` prints one
schedule a line (``--json`` for JSON). See :mod:`backend.schedules` for the rules.

Exit status: 0 done; 1 for an unknown schedule id or an unreachable broker; 2 for bad
arguments (bad cron expression, time zone, interval, payload or name).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from pydantic import ValidationError

from backend import connection
from backend.broker_url import describe
from backend.config import Settings
from backend.errors import BrokerError
from backend.policy import SubmitPolicy
from backend.schedules import Schedule
from backend.setting_flags import add_setting_flags
from backend.store import TaskStore

CONNECT_WITHIN = 10.0


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc}): {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="{add,list,rm,pause,resume}")
    actions.required = True
    add = actions.add_parser("add", help="add (or replace, with --id) a schedule; prints its id")
    add.add_argument("name", help="the task to queue at each tick")
    timetable = add.add_mutually_exclusive_group(required=True)
    timetable.add_argument("--cron", metavar="EXPR", help='5 fields, e.g. "*/5 * * * *"')
    timetable.add_argument("--every", type=float, metavar="SECONDS", help="or an interval")
    add.add_argument("--timezone", default="UTC", help="IANA zone for --cron (default UTC)")
    add.add_argument("--payload", type=_json, default=None, metavar="JSON", help="task payload")
    add.add_argument("--queue", default=None, metavar="NAME", help="named queue (default: default)")
    add.add_argument("--id", dest="schedule_id", default=None, help="replace this schedule")
    add.add_argument("--max-retries", dest="task_retries", type=int, default=None, metavar="N")
    listing = actions.add_parser("list", help="every schedule, with its next run")
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    for action, what in (("rm", "remove"), ("pause", "pause"), ("resume", "resume")):
        one = actions.add_parser(action, help=f"{what} a schedule")
        one.add_argument("schedule_id", metavar="ID")
    for sub in actions.choices.values():
        add_setting_flags(sub, "redis_url", "allowed_tasks", "data_dir", "broker_port")


def _line(schedule: Schedule, tick: float | None) -> str:
    when = "paused" if tick is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(tick))
    return f"{schedule.id}\t{schedule.name}\t{schedule.describe}\tqueue {schedule.queue}\t{when}"


async def _act(store: TaskStore, args: argparse.Namespace) -> int:
    if args.action == "add":
        print(
            await store.schedule(
                args.name,
                cron=args.cron,
                every=args.every,
                payload=args.payload,
                queue=args.queue,
                schedule_id=args.schedule_id,
                timezone=args.timezone,
                max_retries=args.task_retries,
            )
        )
        return 0
    if args.action == "list":
        found = await store.schedules()
        ticks = await store.next_ticks([schedule.id for schedule in found])
        for schedule, tick in zip(found, ticks, strict=True):
            if args.json:
                print(json.dumps({**schedule.model_dump(), "next_run": tick}))
            else:
                print(_line(schedule, tick))
        return 0
    if args.action == "rm":
        done = await store.unschedule(args.schedule_id)
    else:
        done = await store.pause_schedule(args.schedule_id, args.action == "pause") is not None
    if not done:
        print(f"distritask schedule: no schedule {args.schedule_id!r}", file=sys.stderr)
        return 1
    return 0


async def _run(url: str, args: argparse.Namespace, settings: Settings) -> int:
    try:
        redis = await connection.connect(
            url, give_up_after=CONNECT_WITHIN, cluster=settings.cluster
        )
    except connection.BROKER_DOWN as exc:
        raise BrokerError(f"broker {describe(url)} unreachable: {exc}") from None
    try:
        return await _act(TaskStore.from_settings(redis, settings), args)
    except connection.BROKER_DOWN as exc:
        raise BrokerError(f"lost the broker {describe(url)}: {exc}") from None
    finally:
        await redis.aclose()


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "add":
        problem = SubmitPolicy.from_settings(settings).problem(args.name)
        try:
            if problem is not None:
                raise ValueError(f"name: {problem}")
            Schedule(
                name=args.name,
                cron=args.cron,
                every=args.every,
                timezone=args.timezone,
                **({} if args.queue is None else {"queue": args.queue}),
                **({} if args.schedule_id is None else {"id": args.schedule_id}),
            )
        except (ValidationError, ValueError) as exc:
            print(f"distritask schedule add: {_reason(exc)}", file=sys.stderr)
            return 2
    from backend.broker import use_broker

    with use_broker(settings) as broker:
        return asyncio.run(_run(broker.url, args, settings))


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        reason = str(error["msg"]).removeprefix("Value error, ")
        return f"{where}: {reason}" if where else reason
    return str(exc)
