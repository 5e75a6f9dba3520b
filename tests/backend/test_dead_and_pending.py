"""Dead letters paged, requeued and deleted; pending entries listed, moved, released."""

from __future__ import annotations

import redis.asyncio as aioredis

from backend import keys
from backend.protocol import Task, TaskStatus, decode_task, encode_task
from backend.store import TaskStore


async def test_dead_letters_page_requeue_with_a_new_payload_and_delete(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    tasks = [Task(name="resize", payload={"n": i}) for i in range(5)]
    await store.submit(tasks)
    for task in tasks:
        await store.dead_letter(task.id, encode_task(task), f"boom {task.payload}", "w1")
    await store.dead_letter("", b"{not json", "unparseable", "w2")
    total, page = await store.dead_letter_page(offset=1, limit=2)
    assert total == 6 and [p.task_id for p in page] == [tasks[4].id, tasks[3].id]
    assert page[0].error == "boom {'n': 4}" and page[0].worker == "w1" and page[0].ts

    _, [junk, *letters] = await store.dead_letter_page(limit=10)
    assert junk.task_data == "{not json"
    await aredis.delete(keys.TASK_STREAM)
    queued, problems = await store.requeue_dead([letters[0].entry], payload={"n": 99})
    assert queued == 1 and not problems
    [(_, [(_, fields)])] = await aredis.xread({keys.TASK_STREAM: "0"})
    again = decode_task(fields[keys.TASK_FIELD.encode()])
    assert again.id == tasks[4].id and again.payload == {"n": 99} and again.attempt == 2
    state = await store.get(tasks[4].id)
    assert state is not None and state.status is TaskStatus.PENDING

    queued, problems = await store.requeue_dead([junk.entry, "1-1"])
    assert queued == 0 and len(problems) == 2 and "no such dead letter" in problems[1]
    assert await store.delete_dead([junk.entry]) == 1
    assert (await store.dead_letter_page())[0] == 4


async def test_pending_entries_move_between_workers_and_are_released(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    await store.ensure_group()
    tasks = [Task(name="noop") for _ in range(3)]
    await store.submit(tasks)
    held = await store.read_first("worker-a", ["default"], 10, 0)
    assert len(held) == 3
    entries = await store.pending_entries()
    assert [(e.consumer, e.task_id, e.deliveries) for e in entries] == [
        ("worker-a", t.id, 1) for t in tasks
    ]
    assert entries[0].idle >= 0
    assert await store.move_pending([entries[0].entry], "worker-b") == 1
    owners = {c["name"]: c["pending"] for c in await store.consumers()}
    assert owners == {"worker-a": 2, "worker-b": 1}

    assert await store.release_pending([entries[1].entry]) == 1
    left = {e.entry for e in await store.pending_entries()}
    assert entries[1].entry not in left and len(left) == 2
    fresh = await store.read_first("worker-c", ["default"], 10, 0)
    assert [decode_task(f[keys.TASK_FIELD.encode()]).id for _, f in fresh if f] == [tasks[1].id]
    # An entry acknowledged meanwhile is not released a second time.
    await aredis.xack(keys.TASK_STREAM, keys.WORKER_GROUP, entries[2].entry)
    assert await store.release_pending([entries[2].entry]) == 0
