"""Periodic tasks against real processes: one task per tick, whoever runs the scheduler."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import ValidationError

from backend.protocol import TaskStatus
from backend.schedules import Schedule
from backend.store import TaskStore
from tests.backend.manager.test_end_to_end import free_port
from tests.conftest import Spawn
from tests.waiting import eventually


async def start(spawn: Spawn) -> tuple[object, str]:
    """A real manager process; its base URL once it answers."""
    port = free_port()
    process = spawn("manager", "--port", str(port))
    base = f"http://127.0.0.1:{port}"

    async def healthy() -> bool:
        assert process.poll() is None, "the manager exited"
        try:
            async with httpx.AsyncClient() as http:
                return (await http.get(base + "/health", timeout=1)).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(healthy, within=30)
    return process, base


async def test_a_schedule_queues_exactly_one_task_per_tick_with_many_schedulers(
    store: TaskStore, spawn: Spawn
) -> None:
    for index in range(3):
        spawn("worker", "--name", f"w{index}", "--queues", "ticks")
    for _ in range(2):
        await start(spawn)
    schedule_id = await store.schedule("noop", every=1, queue="ticks", payload={"n": 1})
    began = time.time()

    async def ticks_seen() -> list[float] | None:
        states = [s for s in (await store.load_all()).values() if s.queue == "ticks"]
        done = [s for s in states if s.status is TaskStatus.COMPLETED]
        return sorted(s.created or 0 for s in states) if len(done) >= 5 else None

    created = await eventually(ticks_seen, within=40)
    assert await store.unschedule(schedule_id)
    # One task per second: never two from the same tick, none skipped in between.
    ticks = [int(ts) for ts in created]  # type: ignore[union-attr]
    assert len(ticks) == len(set(ticks)), f"two tasks for one tick: {ticks}"
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks)))
    assert ticks[0] <= began + 2


async def test_ticks_missed_while_down_give_one_catch_up_run(store: TaskStore) -> None:
    from backend.outage import Outage
    from backend.promoter import Promoter

    schedule_id = await store.schedule("noop", every=1)
    # Everything was down for 10 s: the recorded next tick is long past.
    await store.redis.zadd("distritask:schedule-times", {schedule_id: time.time() - 10})
    promoter = Promoter(store, Outage("test"))
    await promoter.run_schedules()
    assert promoter.ticks == 1
    [tick] = await store.next_ticks([schedule_id])
    assert tick is not None and tick > time.time()


def test_a_cron_schedule_reads_its_time_zone() -> None:
    schedule = Schedule(name="noop", cron="0 9 * * *", timezone="Europe/Paris")
    winter = datetime(2026, 1, 10, 7, 0, tzinfo=UTC).timestamp()
    assert datetime.fromtimestamp(schedule.next_after(winter), UTC).hour == 8  # 09:00 CET
    summer = datetime(2026, 7, 10, 6, 0, tzinfo=UTC).timestamp()
    assert datetime.fromtimestamp(schedule.next_after(summer), UTC).hour == 7  # 09:00 CEST
    assert schedule.last_at_or_before(schedule.next_after(winter)) == schedule.next_after(winter)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"cron": "* * * *"}, "5 fields"),
        ({"cron": "61 * * * *"}, "bad cron"),
        ({"cron": "* * * * *", "timezone": "Mars/Base"}, "unknown time zone"),
        ({"every": 0.5}, "greater than or equal to 1"),
        ({}, "exactly one of cron and every"),
        ({"cron": "* * * * *", "every": 5}, "exactly one of cron and every"),
    ],
)
def test_a_bad_timetable_is_refused_with_the_reason(fields: dict[str, object], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        Schedule(name="noop", **fields)  # type: ignore[arg-type]


async def test_schedules_over_http(spawn: Spawn, store: TaskStore) -> None:
    _, base = await start(spawn)
    async with httpx.AsyncClient(base_url=base) as http:
        made = await http.post("/schedules", json={"name": "noop", "cron": "*/5 * * * *"})
        assert made.status_code == 201, made.text
        schedule = made.json()
        assert schedule["next_run"] > time.time() and schedule["timezone"] == "UTC"
        bad = await http.post("/schedules", json={"name": "noop", "cron": "nope"})
        assert bad.status_code == 422 and "cron" in bad.json()["error"]
        paused = (await http.post(f"/schedules/{schedule['id']}/pause")).json()
        assert paused["paused"] and paused["next_run"] is None
        resumed = (await http.post(f"/schedules/{schedule['id']}/resume")).json()
        assert not resumed["paused"] and resumed["next_run"] is not None
        listed = (await http.get("/schedules")).json()["schedules"]
        assert [s["id"] for s in listed] == [schedule["id"]]
        assert (await http.delete(f"/schedules/{schedule['id']}")).status_code == 204
        assert (await http.delete(f"/schedules/{schedule['id']}")).status_code == 404
    assert await store.schedules() == []
