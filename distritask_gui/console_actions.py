"""The console's intents: pages of tasks, bulk actions, dead letters, pending entries.

The views never await: they call these slots, which run on the asyncio side against
the store the bridge's connection holds (``store()``; ``None`` while not connected)
and answer with signals. Each reply carries the request number the view gave, so a
view ignores answers to requests it has since replaced.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from backend.store import TaskStore
from backend.store.deadletters import UNCHANGED
from backend.store.query import SEARCH_CHUNK, BulkAction
from backend.task_filter import TaskFilter
from distritask_gui.intents import Intents

log = logging.getLogger(__name__)


class ConsoleActions(Intents):
    page_loaded = Signal(int, object)
    """Request number, :class:`~backend.store.Page`."""
    matched = Signal(int, list)
    """Request number, the ids every task of a filter has (for a bulk action)."""
    search_progress = Signal(int, object)
    """Request number, :class:`~backend.store.query.SearchProgress` (after each chunk)."""
    bulk_progress = Signal(int, int)
    """Tasks handled so far, tasks in all."""
    bulk_finished = Signal(str, int, int)
    """Action, tasks matched, tasks changed."""
    dead_loaded = Signal(int, list)
    """Dead letters in all, one page of :class:`~backend.store.DeadLetter`."""
    pending_loaded = Signal(list, list)
    """The group's consumers (dicts: name, pending, idle) and :class:`PendingEntry` list."""
    changed = Signal(str)
    """What changed (``tasks``, ``dead``, ``pending``): views showing it reload."""
    gone = Signal(list)
    """Ids asked about (:meth:`check_retained`) whose states are no longer retained."""

    def __init__(
        self, store: Callable[[], TaskStore | None], parent: QObject | None = None
    ) -> None:
        super().__init__(store, parent=parent)
        self._bulk: asyncio.Task[Any] | None = None
        self._search: asyncio.Task[Any] | None = None
        self.search_chunk = SEARCH_CHUNK
        """States a background search reads per step."""

    # -- tasks -------------------------------------------------------------------------

    def load_page(self, request: int, wanted: TaskFilter, limit: int, offset: int) -> None:
        if not self.connected:  # nothing to show yet
            return

        async def go() -> None:
            page = await self.store().find(wanted, limit=limit, offset=offset)
            self.page_loaded.emit(request, page)

        self._spawn(go())

    def check_retained(self, task_ids: list[str]) -> None:
        """Which of ``task_ids`` are no longer retained (deleted or trimmed while no
        notice could reach the panel): ``gone``, if any (one ``ZMSCORE``)."""
        if not task_ids or not self.connected:
            return

        async def go() -> None:
            known = await self.store().known(task_ids)
            gone = [task_id for task_id, kept in zip(task_ids, known, strict=True) if not kept]
            if gone:
                self.gone.emit(gone)

        self._spawn(go())

    def search(self, request: int, wanted: TaskFilter) -> None:
        """Count every task a free-text filter matches, in the background, reporting
        each chunk searched (``search_progress``); a new search replaces the last."""
        self.stop_search()
        if not self.connected:
            return

        async def go() -> None:
            steps = self.store().search_steps(wanted, chunk=self.search_chunk)
            async for progress in steps:
                self.search_progress.emit(request, progress)

        self._search = self._spawn(go())

    def stop_search(self) -> None:
        if self._search is not None:
            self._search.cancel()
            self._search = None

    def match(self, request: int, wanted: TaskFilter) -> None:
        """Every id ``wanted`` matches, for a bulk action to confirm (``matched``)."""

        async def go() -> None:
            self.matched.emit(request, await self.store().matching_ids(wanted))

        self._spawn(go())

    def bulk(self, action: BulkAction, ids: Sequence[str]) -> None:
        """Run ``action`` on ``ids`` in batches, reporting each (``bulk_progress``)."""

        async def go() -> None:
            last = None
            async for step in self.store().bulk_steps(action, list(ids)):
                last = step
                self.bulk_progress.emit(step.handled, step.matched)
            if last is not None:
                self.bulk_finished.emit(action, last.matched, last.done)
                self.message.emit(f"{action.title()}: {last.done} of {last.matched} tasks")
            self.changed.emit("tasks")

        self._bulk = self._spawn(go())

    def stop_bulk(self) -> None:
        """Stop a bulk action after the batch it is in (what is done stays done)."""
        if self._bulk is not None:
            self._bulk.cancel()
            self.changed.emit("tasks")

    # -- dead letters ------------------------------------------------------------------

    def load_dead(self, offset: int = 0, limit: int = 200) -> None:
        if not self.connected:  # nothing to show yet
            return

        async def go() -> None:
            total, entries = await self.store().dead_letter_page(offset, limit)
            self.dead_loaded.emit(total, entries)

        self._spawn(go())

    def requeue_dead(self, entries: Sequence[str], payload: Any = UNCHANGED) -> None:
        async def go() -> None:
            queued, problems = await self.store().requeue_dead(list(entries), payload)
            note = f"Requeued {queued} dead letter{'s' if queued != 1 else ''}"
            self.message.emit(note + (f"; {'; '.join(problems)}" if problems else ""))
            self.changed.emit("dead")
            self.changed.emit("tasks")

        self._spawn(go())

    def requeue_all_dead(self) -> None:
        async def go() -> None:
            store = self.store()
            total, entries = await store.dead_letter_page(0, 1 << 30)
            queued, _ = await store.requeue_dead([e.entry for e in entries])
            self.message.emit(f"Requeued {queued} of {total} dead letters")
            self.changed.emit("dead")
            self.changed.emit("tasks")

        self._spawn(go())

    def delete_dead(self, entries: Sequence[str]) -> None:
        async def go() -> None:
            gone = await self.store().delete_dead(list(entries))
            self.message.emit(f"Deleted {gone} dead letter{'s' if gone != 1 else ''}")
            self.changed.emit("dead")

        self._spawn(go())

    # -- pending entries ---------------------------------------------------------------

    def load_pending(self) -> None:
        if not self.connected:  # nothing to show yet
            return

        async def go() -> None:
            store = self.store()
            consumers, entries = await asyncio.gather(store.consumers(), store.pending_entries())
            self.pending_loaded.emit(consumers, entries)

        self._spawn(go())

    def move_pending(self, entries: Sequence[str], to_consumer: str) -> None:
        async def go() -> None:
            moved = await self.store().move_pending(list(entries), to_consumer)
            self.message.emit(
                f"Moved {moved} pending entr{'ies' if moved != 1 else 'y'} to {to_consumer}"
            )
            self.changed.emit("pending")

        self._spawn(go())

    def release_pending(self, entries: Sequence[str]) -> None:
        async def go() -> None:
            released = await self.store().release_pending(list(entries))
            self.message.emit(
                f"Released {released} pending entr{'ies' if released != 1 else 'y'} to the queue"
            )
            self.changed.emit("pending")

        self._spawn(go())
