"""Keep Python's cycle collector away from the tasks the panel holds.

The panel holds up to ~20,000 finished task states (the board's; the Tasks view
pages the rest from Redis) plus the unfinished ones, four collector-tracked objects
each. A full collection walks all of them (tens of ms on a small machine), and with
thousands of new tasks a second the collector runs one every second or two: the
window would stall each time. Task states hold no reference cycles (reference
counting frees them), so after each large batch of new tasks :func:`settle` collects
what is young and then *freezes* every surviving object (``gc.freeze``): later
collections skip them, and each walks only what arrived since.

:func:`settle` is called from one place, the window: when a snapshot has been loaded
and after every :data:`SETTLE_EVERY` new tasks (:class:`Settler`, counting the task
model's inserted rows and settling on the next turn of the event loop, never inside
a model flush).

The cost: an object that is frozen and later dies inside a reference cycle is never
freed. What lives that long here is the window, its models and the task states, none
of which die in cycles; a reconnect leaves a few asyncio objects behind at most.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QTimer

SETTLE_EVERY = 10_000
"""New tasks between two :func:`settle` calls."""


def settle() -> None:
    """Collect the unfrozen objects, then freeze the survivors."""
    gc.collect()
    gc.freeze()


class Settler(QObject):
    """Calls :func:`settle` after every :data:`SETTLE_EVERY` rows inserted in ``model``
    (on the next turn of the loop), and when :meth:`now` is called."""

    def __init__(self, model: QAbstractItemModel, every: int = SETTLE_EVERY) -> None:
        super().__init__(model)
        self.every = every
        self.settled = 0
        """How many times :func:`settle` ran (for tests)."""
        self._unsettled = 0
        model.rowsInserted.connect(self._inserted)

    def _inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        self._unsettled += last - first + 1
        if self._unsettled >= self.every:
            self._unsettled = 0
            QTimer.singleShot(0, self.now)

    def now(self) -> None:
        self._unsettled = 0
        settle()
        self.settled += 1
