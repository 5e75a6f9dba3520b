"""Periodic-task schedules: stored, listed, paused, and their ticks claimed.

A schedule's JSON is in :data:`keys.SCHEDULES`; a running one's next tick is its score
in :data:`keys.SCHEDULE_TIMES`, which the schedulers sleep on. See
:mod:`backend.schedules` for the rules.
"""

from __future__ import annotations

import time
from typing import Any

from backend import keys
from backend.schedules import Schedule, decode_schedule, encode_schedule
from backend.store.base import Base, decoded


class Schedules(Base):
    """Schedule operations."""

    async def schedule(
        self,
        name: str,
        *,
        cron: str | None = None,
        every: float | None = None,
        payload: Any = None,
        queue: str | None = None,
        schedule_id: str | None = None,
        timezone: str = "UTC",
        max_retries: int | None = None,
    ) -> str:
        """Add (or replace) a schedule queueing task ``name`` per tick; its id.
        Raises ``ValueError`` (pydantic's) for a bad timetable, queue or id."""
        fields: dict[str, Any] = {
            "name": name,
            "cron": cron,
            "every": every,
            "payload": payload,
            "timezone": timezone,
            "max_retries": max_retries,
        }
        if queue is not None:
            fields["queue"] = queue
        if schedule_id is not None:
            fields["id"] = schedule_id
        schedule = Schedule.model_validate(fields)
        await self.put_schedule(schedule)
        return schedule.id

    async def put_schedule(self, schedule: Schedule) -> None:
        """Store ``schedule`` (replacing one with its id); its next tick is the first
        after now."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.SCHEDULES, schedule.id, encode_schedule(schedule))
            if schedule.paused:
                pipe.zrem(self.keys.SCHEDULE_TIMES, schedule.id)
            else:
                pipe.zadd(self.keys.SCHEDULE_TIMES, {schedule.id: schedule.next_after(time.time())})
            await pipe.execute()
        await self.redis.publish(keys.SCHEDULED_CHANNEL, "schedule")  # not in a cluster's MULTI

    async def ensure_schedule(self, schedule: Schedule) -> bool:
        """Store ``schedule`` unless one with its id and the same timetable, task,
        payload and queue exists (a tasks module declaring it again at every worker
        start keeps its pause and its timetable); whether it was stored."""
        raw = await self.redis.hget(self.keys.SCHEDULES, schedule.id)
        if raw is not None:
            known = decode_schedule(raw)
            same = {"name", "payload", "queue", "cron", "timezone", "every", "max_retries"}
            if known.model_dump(include=same) == schedule.model_dump(include=same):
                return False
            schedule = schedule.model_copy(update={"paused": known.paused})
        await self.put_schedule(schedule)
        return True

    async def get_schedule(self, schedule_id: str) -> Schedule | None:
        raw = await self.redis.hget(self.keys.SCHEDULES, schedule_id)
        return None if raw is None else decode_schedule(raw)

    async def schedules(self) -> list[Schedule]:
        """Every schedule, oldest first."""
        raws = (await self.redis.hgetall(self.keys.SCHEDULES)).values()
        found = decoded(raws, decode_schedule, "schedule")
        return sorted(found, key=lambda schedule: (schedule.created, schedule.id))

    async def next_ticks(self, schedule_ids: list[str]) -> list[float | None]:
        """The next tick of each schedule (``None``: paused or unknown)."""
        if not schedule_ids:
            return []
        scores = await self.redis.zmscore(self.keys.SCHEDULE_TIMES, schedule_ids)
        return [None if score is None else float(score) for score in scores]

    async def unschedule(self, schedule_id: str) -> bool:
        """Remove a schedule; whether there was one."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.SCHEDULES, schedule_id)
            pipe.zrem(self.keys.SCHEDULE_TIMES, schedule_id)
            removed, _ = await pipe.execute()
        return bool(removed)

    async def pause_schedule(self, schedule_id: str, paused: bool = True) -> Schedule | None:
        """Pause (or resume) a schedule; it, or ``None`` when there is none. Resumed,
        it runs at its next tick from now (ticks passed while paused are skipped)."""
        schedule = await self.get_schedule(schedule_id)
        if schedule is None:
            return None
        schedule = schedule.model_copy(update={"paused": paused})
        await self.put_schedule(schedule)
        return schedule

    # -- the scheduler's side ------------------------------------------------------------

    async def next_tick(self) -> float | None:
        """The earliest next tick of any running schedule."""
        head = await self.redis.zrange(self.keys.SCHEDULE_TIMES, 0, 0, withscores=True)
        return float(head[0][1]) if head else None

    async def due_schedules(self, now: float, limit: int = 100) -> list[tuple[Schedule, float]]:
        """Running schedules whose next tick is at or before ``now``, with that tick."""
        due = await self.redis.zrangebyscore(
            self.keys.SCHEDULE_TIMES, "-inf", now, start=0, num=limit, withscores=True
        )
        if not due:
            return []
        raws = await self.redis.hmget(self.keys.SCHEDULES, [schedule_id for schedule_id, _ in due])
        found: list[tuple[Schedule, float]] = []
        for (schedule_id, score), raw in zip(due, raws, strict=True):
            if raw is None:  # removed meanwhile
                await self.redis.zrem(self.keys.SCHEDULE_TIMES, schedule_id)
                continue
            found += [
                (schedule, float(score)) for schedule in decoded([raw], decode_schedule, "schedule")
            ]
        return found

    async def claim_tick(self, schedule: Schedule, tick: float) -> bool:
        """Whether this process is the one to run ``schedule``'s ``tick`` (SET NX EX)."""
        return bool(
            await self.redis.set(
                self.keys.tick(schedule.id, tick), "1", nx=True, ex=schedule.tick_ttl()
            )
        )

    async def advance_schedule(self, schedule_id: str, next_tick: float) -> None:
        """Move a schedule's next tick forward to ``next_tick`` (never back; a schedule
        removed or paused meanwhile is left out)."""
        await self.redis.zadd(self.keys.SCHEDULE_TIMES, {schedule_id: next_tick}, xx=True, gt=True)
