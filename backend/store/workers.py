"""Worker records: heartbeats, liveness keys, and forgetting workers long gone.

Reading never writes: :meth:`Workers.workers` leaves out records older than
:data:`WORKER_FORGET_AFTER`, and a writer (the heartbeat) deletes them with
:meth:`Workers.forget_stale_workers`.
"""

from __future__ import annotations

import time

from backend import keys
from backend.protocol import (
    WORKER_ORDERS,
    ControlMessage,
    WorkerInfo,
    decode_worker,
    encode_control,
    encode_worker,
)
from backend.store.base import Base, decoded, text

WORKER_FORGET_AFTER = 3600.0
"""Seconds an offline worker stays listed before it is forgotten."""
ORDER_KEPT = 60
"""Seconds a drain/stop order is kept for a worker that missed its announcement."""
SEEN_WINDOW = 120.0
"""Seconds a worker with no heartbeat (a Go worker) stays listed after its last update."""


class Workers(Base):
    """The ``workers`` hash and each worker's liveness key."""

    async def heartbeat(self, info: WorkerInfo, ttl: float) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(self.keys.worker_alive(info.name), info.seen, px=int(ttl * 1000))
            pipe.hset(self.keys.WORKERS, info.name, encode_worker(info))
            await pipe.execute()

    async def worker_gone(self, name: str) -> None:
        """A worker that stops cleanly says so, so it shows offline at once."""
        await self.redis.delete(self.keys.worker_alive(name))

    async def worker_names(self) -> set[str]:
        """The names of every worker on record (ours, as opposed to foreign consumers)."""
        return {text(name) for name in await self.redis.hkeys(self.keys.WORKERS)}

    async def _records(self) -> list[tuple[WorkerInfo, bool]]:
        """Every recorded worker, and whether its liveness key is present."""
        raw = await self.redis.hgetall(self.keys.WORKERS)
        infos = decoded(raw.values(), decode_worker, "worker record")
        if not infos:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for info in infos:
                pipe.exists(self.keys.worker_alive(info.name))
            alive = await pipe.execute()
        return [(info, bool(up)) for info, up in zip(infos, alive, strict=True)]

    async def workers(self) -> list[WorkerInfo]:
        """Every worker seen within the last hour, each marked online or not; and the
        workers with no heartbeat (Go workers) named in an update within the last
        :data:`SEEN_WINDOW` seconds, marked ``kind="go"``, ``heartbeat=False``."""
        now = time.time()
        listed = []
        for info, up in await self._records():
            if up or now - info.seen <= WORKER_FORGET_AFTER:
                info.online = up
                listed.append(info)
        known = {info.name for info in listed}
        for raw_name, seen in (await self.redis.hgetall(self.keys.SEEN_WORKERS)).items():
            name, at = text(raw_name), _seconds(seen)
            if name not in known and now - at <= SEEN_WINDOW:
                listed.append(WorkerInfo(name=name, seen=at, kind="go", heartbeat=False))
        return listed

    async def worker(self, name: str) -> WorkerInfo | None:
        """One listed worker (as :meth:`workers` lists it), or ``None``."""
        return next((info for info in await self.workers() if info.name == name), None)

    async def drain_worker(self, name: str) -> int:
        """Ask worker ``name`` to take no new tasks, finish its running ones and exit 0;
        how many workers heard the control channel (0: none listening)."""
        return await self._order("drain", name)

    async def stop_worker(self, name: str) -> int:
        """Ask worker ``name`` to exit now, leaving its running tasks to be reclaimed;
        how many workers heard the control channel."""
        return await self._order("stop", name)

    async def _order(self, order: str, name: str) -> int:
        assert order in WORKER_ORDERS
        message = encode_control(ControlMessage.model_validate({order: name}))
        await self.redis.set(self.keys.worker_order(name), order, ex=ORDER_KEPT)
        # Not pipelined with the SET: a cluster pipeline cannot carry a publish.
        return int(await self.redis.publish(keys.CONTROL_CHANNEL, message))

    async def take_worker_order(self, name: str) -> str | None:
        """The order kept for worker ``name`` (``drain``/``stop``), removed as it is read."""
        order = await self.redis.getdel(self.keys.worker_order(name))
        return None if order is None else text(order)

    async def forget_stale_workers(self) -> int:
        """Delete the records of workers offline for over an hour, and of workers with
        no heartbeat not seen in an update for as long; how many."""
        now = time.time()
        stale = [
            info.name
            for info, up in await self._records()
            if not up and now - info.seen > WORKER_FORGET_AFTER
        ]
        if stale:
            await self.redis.hdel(self.keys.WORKERS, *stale)
        gone = [
            name
            for name, seen in (await self.redis.hgetall(self.keys.SEEN_WORKERS)).items()
            if now - _seconds(seen) > WORKER_FORGET_AFTER
        ]
        if gone:
            await self.redis.hdel(self.keys.SEEN_WORKERS, *gone)
        return len(stale) + len(gone)


def _seconds(raw: bytes | str) -> float:
    """An epoch time as recorded; 0 (long ago) for one that does not parse."""
    try:
        return float(raw)
    except ValueError:
        return 0.0
