"""Listing the retained tasks by filter, and acting on many at once.

The scripts keep sorted sets per status, name, queue and worker (scored by creation
time), an id set for prefix search and finished-time and duration sets
(:data:`backend.scripts.QUERY` explains the walk; :mod:`~backend.store.query_call`
builds its call for a filter), so a filtered page over a million
retained tasks costs a few set lookups, never a scan. Free text (``q``: id, message,
error) is the one thing that reads states: newest first, in chunks of
:data:`SEARCH_CHUNK`, stopping once the page is full; :meth:`Query.search_steps`
then counts every match, a chunk at a time, for a view to show in the background.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from redis.commands.core import AsyncScript

from backend.policy import retry_problem
from backend.state import TaskState
from backend.store.base import text
from backend.store.board import BoardReads
from backend.store.query_call import query_call
from backend.store.submits import Submits
from backend.task_filter import TaskFilter

SEARCH_CHUNK = 20_000
"""States a free-text search reads per command (the server is busy ~20 ms for it)."""
MATCH_PAGE = 10_000
"""Candidates one call of :meth:`Query.matching_ids` walks (and ids it returns) at most."""
_NO_PAGE = 1 << 50
"""An offset no page reaches: a walk with it only counts matches."""
BULK_BATCH = 500
"""Tasks a bulk action handles per step (each step is reported)."""
BulkAction = Literal["cancel", "retry", "delete"]
BULK_ACTIONS: tuple[BulkAction, ...] = ("cancel", "retry", "delete")


@dataclass
class Page:
    """One page of a listing; unpacks as ``total, tasks``."""

    total: int
    """Tasks matching the filter (with free text and ``exact`` False: at least this many)."""
    tasks: list[TaskState] = field(default_factory=list)
    exact: bool = True

    def __iter__(self) -> Iterator[object]:
        yield self.total
        yield self.tasks


@dataclass
class SearchProgress:
    """How far counting a free-text search is (:meth:`Query.search_steps`)."""

    candidates: int
    """States the search reads in all (those the other filters match)."""
    searched: int = 0
    matches: int = 0
    """Matches found so far (the total, once ``done``)."""
    done: bool = False


@dataclass
class BulkProgress:
    """How far a bulk action is: tasks matched, handled so far, and changed."""

    matched: int
    handled: int = 0
    done: int = 0


class Query(Submits, BoardReads):
    """Filtered listings and bulk actions (mixed into :class:`~backend.store.TaskStore`)."""

    _query: AsyncScript

    async def list_tasks(
        self,
        *,
        status: str | None = None,
        name: str | None = None,
        queue: str | None = None,
        worker: str | None = None,
        q: str | None = None,
        since: float | None = None,
        until: float | None = None,
        sort: str = "-created",
        limit: int = 100,
        offset: int = 0,
        id_prefix: str | None = None,
    ) -> Page:
        """One page of the retained tasks that match, in ``sort`` order (``-created``:
        newest first; also ``finished`` and ``duration``, which list finished tasks
        only). Raises :class:`~backend.task_filter.FilterError` for a bad value."""
        wanted = TaskFilter(
            status=status,
            name=name,
            queue=queue,
            worker=worker,
            id_prefix=id_prefix,
            since=since,
            until=until,
            q=q,
            sort=sort,
        )
        return await self.find(wanted, limit=limit, offset=offset)

    async def find(self, wanted: TaskFilter, *, limit: int = 100, offset: int = 0) -> Page:
        """:meth:`list_tasks` for a :class:`TaskFilter`."""
        total, ids, exact = await self._ids(wanted, limit=max(0, limit), offset=max(0, offset))
        return Page(total, await self.get_many(ids), exact)

    async def matching_ids(self, wanted: TaskFilter, *, page: int = MATCH_PAGE) -> list[str]:
        """The ids of every task that matches, in the filter's order: read ``page`` at
        a time (each call walks at most that many candidates), so collecting a million
        never holds the server up for more than a few milliseconds at once."""
        call_keys, args, needle, jneedle = self._query_call(wanted)
        ids: list[str] = []
        pos = 0
        while pos >= 0:
            reply = await self._query(
                keys=call_keys, args=[*args, 0, page, needle, jneedle, pos, page, 0]
            )
            pos = int(reply[1])
            ids += [text(i) for i in reply[3:]]
        return ids

    async def search_steps(
        self, wanted: TaskFilter, *, chunk: int = SEARCH_CHUNK
    ) -> AsyncIterator[SearchProgress]:
        """Count every task a free-text filter matches, ``chunk`` states at a time,
        yielding the progress after each (first with nothing searched, so a caller
        learns how many states the search reads): what a first page (which stops once
        it is full) leaves to the background. A filter without free text is counted
        from the indexes in one step."""
        candidates, _, _ = await self._ids(replace(wanted, q=None), limit=0, offset=0)
        progress = SearchProgress(candidates)
        yield progress
        if not wanted.q:
            progress.searched = progress.matches = candidates
            progress.done = True
            yield progress
            return
        call_keys, args, needle, jneedle = self._query_call(wanted)
        pos = 0
        while not progress.done:
            # every match is "skipped" (before an offset no page reaches): only counted
            reply = await self._query(
                keys=call_keys,
                args=[*args, _NO_PAGE, 1, needle, jneedle, pos, chunk, 0],
            )
            after, found = int(reply[1]), int(reply[2])
            progress.matches += found
            progress.done = after < 0
            progress.searched = candidates if progress.done else min(candidates, after)
            pos = after
            yield progress

    def _query_call(self, wanted: TaskFilter) -> tuple[list[str], list[object], str, str]:
        """The QUERY script's keys, its first arguments, the needle and its JSON form
        (:func:`~backend.store.query_call.query_call`; a sharded store asks a shard)."""
        return query_call(self.keys, wanted)

    async def _ids(
        self, wanted: TaskFilter, *, limit: int, offset: int
    ) -> tuple[int, list[str], bool]:
        call_keys, args, needle, jneedle = self._query_call(wanted)
        if not needle:
            reply = await self._query(
                keys=call_keys,
                args=[*args, offset, limit, "", "", 0, 0, 1],
            )
            total = int(reply[0])
            return total, [text(i) for i in reply[3:]], True
        # Free text: walk in chunks until the page is full (or everything was read).
        ids: list[str] = []
        skipped, pos = 0, 0
        while True:
            reply = await self._query(
                keys=call_keys,
                args=[
                    *args,
                    offset - skipped,
                    limit - len(ids),
                    needle,
                    jneedle,
                    pos,
                    SEARCH_CHUNK,
                    0,
                ],
            )
            pos, skipped = int(reply[1]), skipped + int(reply[2])
            ids += [text(i) for i in reply[3:]]
            if pos < 0:
                return skipped + len(ids), ids, True
            if len(ids) >= limit:
                return skipped + len(ids), ids, False

    # -- bulk actions ----------------------------------------------------------------

    async def bulk(
        self,
        action: BulkAction,
        ids: Sequence[str] | None = None,
        wanted: TaskFilter | None = None,
    ) -> BulkProgress:
        """Cancel, retry or delete the tasks ``ids``, or every task ``wanted`` matches
        (see :meth:`bulk_steps`); the final count."""
        last = BulkProgress(0)
        async for step in self.bulk_steps(action, ids, wanted):
            last = step
        return last

    async def bulk_steps(
        self,
        action: BulkAction,
        ids: Sequence[str] | None = None,
        wanted: TaskFilter | None = None,
        *,
        batch: int = BULK_BATCH,
    ) -> AsyncIterator[BulkProgress]:
        """Act on the tasks in batches, yielding the progress after each (first with
        nothing handled, so a caller learns the count before anything changes).

        - ``cancel``: as the Cancel button (a pending task is cancelled at once, a
          running one is interrupted); finished tasks are left alone;
        - ``retry``: a task the submit policy lets retry (failed or cancelled) is
          queued again as a new attempt;
        - ``delete``: a finished task's state is forgotten; unfinished ones are left
          (cancel them first). Each batch's deleted ids are announced
          (:meth:`~backend.store.queue.Queue.announce_forgotten`), so every
          panel drops them from its board.

        ``done`` counts the tasks the action changed.
        """
        if action not in BULK_ACTIONS:
            raise ValueError(f"unknown action {action!r} (one of: {', '.join(BULK_ACTIONS)})")
        if ids is None:
            ids = await self.matching_ids(wanted or TaskFilter())
        ids = list(dict.fromkeys(ids))
        progress = BulkProgress(len(ids))
        yield progress
        for first in range(0, len(ids), batch):
            chunk = ids[first : first + batch]
            progress.done += await self._act(action, chunk)
            progress.handled += len(chunk)
            yield progress

    async def _act(self, action: BulkAction, ids: list[str]) -> int:
        states = await self.get_many(ids)
        if action == "delete":
            gone = [state.id for state in states if state.status.terminal]
            deleted = await self.forget(gone)
            await self.announce_forgotten(gone)
            return deleted
        if action == "cancel":
            live = [state.id for state in states if not state.status.terminal]
            await asyncio.gather(*(self.request_cancel(task_id) for task_id in live))
            return len(live)
        again = [state for state in states if retry_problem(state.id, state.status) is None]
        await asyncio.gather(*(self.requeue(state) for state in again))
        return len(again)
