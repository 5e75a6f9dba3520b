"""Every kind of store operation on the cluster, console and housekeeping included: a
script or transaction whose keys left one hash slot would fail here (CROSSSLOT, or
redis-py refusing to route it)."""

from __future__ import annotations

import time

from backend import keys
from backend.protocol import StatusUpdate, Task, TaskStatus, WorkerInfo, decode_forgotten
from backend.store import TaskStore
from backend.task_filter import TaskFilter


async def test_console_and_housekeeping_operations_run_on_the_cluster(store: TaskStore) -> None:
    states = await store.submit([Task(name="noop", queue=q) for q in ("default", "low") * 5])
    await store.ensure_groups(["low"])
    entries = await store.read_first("w1", ["default", "low"], 10, 100)
    assert entries
    # a worker's reads, keeping, handing back and outcome writes
    await store.keep("w1", [entry_id for entry_id, _ in entries])
    await store.hand_back([fields[b"task_data"] for _, fields in entries[:1]], [entries[0][0]])
    done = [s.model_copy(update={"status": TaskStatus.COMPLETED, "worker": "w1"}) for s in states]
    await store.record(
        [(s, StatusUpdate(id=s.id, status=TaskStatus.COMPLETED, worker="w1")) for s in done[:3]],
        ack=[entry_id for entry_id, _ in entries[1:]],
    )
    await store.heartbeat(WorkerInfo(name="w1", seen=time.time()), ttl=5)
    assert [w.name for w in await store.workers()] == ["w1"]
    assert await store.pending_idle(0, "-", 10) is not None
    assert await store.claim("w2", 0, [entry_id for entry_id, _ in entries[:1]]) is not None
    # the console
    assert (await store.find(TaskFilter(status="completed"))).total == 3
    assert (await store.find(TaskFilter(q="noop", sort="finished"))).tasks is not None
    async with await store.subscribe(keys.FORGOTTEN_CHANNEL) as notices:  # panels hear it
        assert (await store.bulk("delete", [done[0].id])).done == 1
        data = await notices.get(within=5)
        assert data is not None and decode_forgotten(data).ids == [done[0].id]
    entries_now = await store.pending_entries()
    if entries_now:
        await store.move_pending([entries_now[0].entry], "w3")
        assert await store.release_pending([entries_now[0].entry]) == 1
    cancelled = await store.bulk("cancel", wanted=TaskFilter(status="pending"))
    assert cancelled.done >= 1
    await store.dead_letter(states[0].id, b"{}", "broken", "w1")
    total, letters = await store.dead_letter_page(0, 10)
    assert total == 1 and letters
    assert (await store.requeue_dead([letters[0].entry]))[0] >= 0
    assert await store.history("1h") is not None
    assert (await store.counters())["submitted"] == 11  # 10, and the dead letter requeued
    assert {info.name for info in await store.queue_infos()} == {"default", "low"}
    assert await store.consumers() is not None
    # retries, schedules, cancels, retention
    await store.schedule_retry(Task(name="noop", queue="low"), time.time() - 1)
    assert await store.promote_due("low") == 1
    schedule_id = await store.schedule("noop", every=60)
    [(schedule, tick)] = await store.due_schedules(time.time() + 120)
    assert await store.claim_tick(schedule, tick)
    assert await store.unschedule(schedule_id)
    fresh = (await store.submit([Task(name="noop")]))[0]
    assert (await store.request_cancel(fresh.id)) is not None
    assert await store.record_seen(
        StatusUpdate(id="go-task", status=TaskStatus.PROCESSING, worker="go-1")
    )
    await store.trim_stream()
    await store.forget_consumers(idle=0, keep="w1")
    store.retention = 2
    assert await store.trim() > 0
    assert await store.forget([fresh.id]) in (0, 1)
    await store.drain_worker("w1")
    assert await store.take_worker_order("w1") is not None
