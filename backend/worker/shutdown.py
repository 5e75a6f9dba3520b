"""How a worker stops: the drain after a stop, and closing what is left, each bounded.

After a stop (:meth:`~backend.worker.runtime.Worker.stop`): reading ends, queued jobs
go back to the stream, running tasks get the grace period (``inf`` once drained, 0
once stopped now), the last outcomes are written and the heartbeat says goodbye; then
the background loops are cancelled and the client closed. Nothing here waits without
a bound, so a stop never hangs on a handler or a lost broker.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import TYPE_CHECKING, Any

from backend.connection import is_broker_down
from backend.worker.prefetch import hand_back_waiting

if TYPE_CHECKING:
    from backend.worker.runtime import Worker

log = logging.getLogger("backend.worker")

SHUTDOWN_WRITE = 3.0
"""Seconds the final outcomes get to be written when the grace period is over."""
CANCEL_WAIT = 0.5
"""Seconds cancelled slots get to end when the grace period is over."""
HARD_STOP_AFTER = 4.5
"""Seconds past the grace period after which a stop signal ends the process whatever
its handlers do (even one holding the event loop): the whole stop stays within grace
period + 5 s."""


async def drain(worker: Worker, intake: list[asyncio.Task[Any]]) -> None:
    """Wind ``worker`` down once stopping: wait for its ``intake`` loops, hand back
    queued jobs, give running ones the grace period, write the last outcomes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + worker.grace  # inf when draining
    await asyncio.wait(intake)
    await hand_back_waiting(worker.store, worker.outage, worker.queue)  # the queued jobs
    worker.slots.close()
    # A stop-now order during the wait cancels the slots itself.
    timeout = None if math.isinf(deadline) else max(0.0, deadline - loop.time())
    _, unfinished = await asyncio.wait(worker.slots.tasks, timeout=timeout)
    if math.isinf(deadline):
        deadline = loop.time()
    if unfinished:
        log.warning("grace period over: leaving %d task(s) to be reclaimed", len(worker.running))
        for slot in unfinished:
            slot.cancel()
        _, stuck = await asyncio.wait(unfinished, timeout=CANCEL_WAIT)
        worker.slots.stuck.extend(stuck)
    try:
        async with asyncio.timeout(max(SHUTDOWN_WRITE, deadline - loop.time())):
            await worker.outbox.drain()
            await worker.heartbeat.gone()
    except TimeoutError:
        log.warning("could not write the last outcomes; those tasks will run again")
    except Exception as exc:
        if not is_broker_down(exc):
            raise
        log.warning("could not say goodbye to the broker: %s", exc)
    await cancel_background(worker)
    log.info("worker %s stopped", worker.name)


async def close(worker: Worker) -> None:
    """Cancel the background loops and close the client, each within a bound (a
    stop never hangs on them)."""
    await cancel_background(worker)
    try:
        async with asyncio.timeout(SHUTDOWN_WRITE):
            await worker.redis.aclose()
    except TimeoutError:
        log.warning("closing the broker connection timed out")


async def cancel_background(worker: Worker) -> None:
    """Cancel the background loops; those that do not end within a bound are left."""
    supervisor = worker.supervisor
    for task in supervisor.background:
        task.cancel()
    if supervisor.background:
        _, supervisor.unstopped = await asyncio.wait(supervisor.background, timeout=CANCEL_WAIT)


def leftovers(worker: Worker) -> str:
    """What handlers still run now that the worker is done (a thread that finished
    is no longer counted by the time its slot saw the result)."""
    stuck = worker.slots.stuck
    left = [f"{len(stuck)} handler(s) that ignored cancellation"] if stuck else []
    if worker.supervisor.unstopped:
        left.append(f"{len(worker.supervisor.unstopped)} loop(s) that did not stop")
    if worker.threads.busy:
        left.append(f"{worker.threads.busy} handler thread(s)")
    return " and ".join(left)
