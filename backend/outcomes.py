"""Following submitted tasks to their end, from their status events.

Memory is one id per unfinished task: finished tasks are only counted. Status events
travel by pub/sub, which drops messages while a connection is down, so when no task
has finished for a while the states of the unfinished ones are read from the store
(a batch at a time), and that fallback backs off while it finds nothing new.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable

from backend.errors import ProtocolError
from backend.protocol import TaskStatus, decode_update
from backend.store import Subscription, TaskStore

QUIET = 5.0
"""Seconds without a finished task before the unfinished ones' states are read."""
QUIET_MAX = 60.0
"""The longest pause between such reads while they find nothing new."""
READ_BATCH = 1000
"""States read per command by the fallback."""
DRAIN_MAX = 50_000
"""Waiting events taken in one go after :meth:`Outcomes.listen`'s pause."""


class Outcomes:
    """How a set of tasks ended, as their status events (or states) say."""

    def __init__(self) -> None:
        self.unfinished: set[str] = set()
        self.counts: Counter[TaskStatus] = Counter()
        self._quiet_since = time.monotonic()
        """When a task last finished, or the states were last read."""
        self._quiet = QUIET

    @property
    def finished(self) -> int:
        return sum(self.counts.values())

    @property
    def failed(self) -> int:
        """Finished other than completed (failed or cancelled)."""
        return self.finished - self.counts[TaskStatus.COMPLETED]

    def expect(self, task_ids: Iterable[str]) -> None:
        """Follow these tasks (before they are queued, so no event is missed)."""
        self.unfinished.update(task_ids)

    def note(self, task_id: str, status: TaskStatus) -> None:
        """Take one task's status; a final one for a followed task is counted once."""
        if status.terminal and task_id in self.unfinished:
            self.unfinished.discard(task_id)
            self.counts[status] += 1
            self._quiet_since = time.monotonic()
            self._quiet = QUIET

    async def listen(self, updates: Subscription, within: float = 0.0) -> None:
        """Take the status events that arrive within ``within`` seconds, then those
        already waiting (up to :data:`DRAIN_MAX`), so a burst cannot pile up unread."""
        deadline = time.monotonic() + within
        drained = 0
        while drained < DRAIN_MAX:
            left = deadline - time.monotonic()
            data = await updates.get(within=max(0.0, left))
            if left <= 0:
                if data is None:
                    return
                drained += 1
            if data is not None:
                self._take(data)

    def _take(self, raw: bytes) -> None:
        try:
            update = decode_update(raw)
        except ProtocolError:
            return  # not ours to judge: the workers dead-letter bad entries
        self.note(update.id, update.status)

    async def recheck_if_quiet(self, store: TaskStore) -> None:
        """When no task has finished for a while, read the unfinished ones' states."""
        if not self.unfinished or time.monotonic() - self._quiet_since < self._quiet:
            return
        before = self.finished
        waiting = list(self.unfinished)
        for first in range(0, len(waiting), READ_BATCH):
            for state in await store.get_many(waiting[first : first + READ_BATCH]):
                self.note(state.id, state.status)
        if self.finished == before:  # nothing was missed: look again later
            self._quiet = min(self._quiet * 2, QUIET_MAX)
        self._quiet_since = time.monotonic()
