"""kill -9 of one of two workers in the middle of 5,000 tasks on a 3-primary cluster:
every primary holds some of the queue (its shards), no task is lost (the survivor
reclaims what the dead one held, shard by shard) and none stays pending."""

from __future__ import annotations

import signal

from backend.protocol import Task, TaskStatus
from backend.store import TaskStore
from tests.backend.cluster.test_sharded_queue import entries_by_node
from tests.backend.worker.conftest import FAST
from tests.conftest import Spawn
from tests.waiting import eventually

TASKS = 5_000


async def test_a_worker_killed_mid_run_loses_no_task(store: TaskStore, spawn: Spawn) -> None:
    options = ("--concurrency", "8", "--claim-idle", "1", "--log-level", "INFO")
    doomed = spawn("worker", "--name", "doomed", *options, env=FAST)
    spawn("worker", "--name", "survivor", *options, env=FAST)

    async def both_online() -> bool:
        return sum(w.online for w in await store.workers()) >= 2

    await eventually(both_online, within=30, interval=0.1, what="two workers online")
    ids: list[str] = []
    for _ in range(0, TASKS, 1000):
        batch = [Task(name="sleep", payload={"seconds": 0.01}) for _ in range(1000)]
        ids.extend(state.id for state in await store.submit(batch))
    placed = await entries_by_node(store)
    assert len(placed) == 3 and all(n >= TASKS // 6 for n in placed.values()), placed

    async def doomed_at_work() -> bool:
        return sum(s.worker == "doomed" for s in await store.get_many(ids[:1000])) >= 50

    await eventually(doomed_at_work, within=60, interval=0.05, what="the doomed worker at work")
    doomed.send_signal(signal.SIGKILL)
    assert doomed.wait(10) == -signal.SIGKILL

    async def all_completed() -> bool:
        states = await store.get_many(ids)
        return len(states) == TASKS and all(s.status is TaskStatus.COMPLETED for s in states)

    await eventually(all_completed, within=120, interval=0.5, what=f"all {TASKS} tasks completed")
    [default] = await store.queue_infos(["default"])
    assert (default.lag, default.pending) == (0, 0)
