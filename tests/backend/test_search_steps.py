"""Counting a free-text search in the background (``TaskStore.search_steps``): chunk by
chunk, with progress, to the same total as reading every match."""

from __future__ import annotations

from backend.store import TaskStore
from backend.store.query import SearchProgress
from backend.task_filter import TaskFilter
from tests.backend.test_query import populate


async def _steps(store: TaskStore, wanted: TaskFilter, chunk: int) -> list[SearchProgress]:
    return [
        SearchProgress(p.candidates, p.searched, p.matches, p.done)
        async for p in store.search_steps(wanted, chunk=chunk)
    ]


async def test_a_free_text_search_is_counted_chunk_by_chunk_to_the_full_total(
    store: TaskStore,
) -> None:
    await populate(store, count=600)
    for wanted in (TaskFilter(q="timeout"), TaskFilter(q="TIMEOUT", worker="w2")):
        every = await store.matching_ids(wanted)
        steps = await _steps(store, wanted, chunk=50)
        candidates = (await store.find(TaskFilter(worker=wanted.worker), limit=0)).total
        assert steps[0] == SearchProgress(candidates)  # first: how much it will read
        assert steps[-1].done and steps[-1].matches == len(every) > 0
        assert steps[-1].searched == candidates
        searched = [s.searched for s in steps]
        assert searched == sorted(searched)  # growing, chunk by chunk
        assert len(steps) > (3 if wanted.worker is None else 2)
        assert not any(s.done for s in steps[:-1])


async def test_a_filter_without_free_text_is_counted_in_one_step(store: TaskStore) -> None:
    await populate(store, count=100)
    steps = await _steps(store, TaskFilter(status="pending"), chunk=10)
    assert len(steps) == 2 and steps[-1].done
    assert steps[-1].matches == (await store.find(TaskFilter(status="pending"))).total
