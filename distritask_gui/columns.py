"""What each column holds: its tasks in submission order, and a small model of its cards.

The task model (:mod:`distritask_gui.task_model`) gives every task a *position*, a
number that grows with submission order, and files the task under its column (the
queue while it waits, else its worker). A :class:`Column` keeps those positions sorted,
so its newest cards are its last positions, whatever its size.

A :class:`ColumnCards` is what a column's list view shows: the newest ``limit`` cards
of one column, newest first (a worker's), or the oldest ``limit``, oldest first (the
queue's: its oldest task runs next), and the count of the rest, which
:func:`column_filter` finds in the Tasks view ("+K more"). The task model updates it
after each batch with :meth:`ColumnCards.sync`, which turns the change into the few
``beginRemoveRows``/``beginInsertRows``/``dataChanged`` it takes, so a view never
looks at the other 100,000 tasks.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from backend.protocol import TaskStatus
from backend.state import TaskState
from backend.store import SUBMIT_SOURCE
from backend.task_filter import TaskFilter
from distritask_gui.rows import runs

QUEUE = ""
"""The column key of the queue column (tasks waiting for a worker)."""
SHOWN = 50
"""Cards a column shows; the rest are counted ("+K more")."""
STATE_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2
COLUMN_ROLE = Qt.ItemDataRole.UserRole + 3
_WAITING = (TaskStatus.PENDING, TaskStatus.RETRYING)
ENDED = (TaskStatus.FAILED, TaskStatus.CANCELLED)
"""The statuses a worker's column counts apart among the tasks it does not hold."""
_NOT_WORKERS = ("", SUBMIT_SOURCE)

Index = QModelIndex | QPersistentModelIndex
Card = tuple[int, TaskState]
"""A task's position and its state."""


def column_of(state: TaskState) -> str:
    """The column a task shows in: the queue while it waits, else its worker's."""
    if state.status in _WAITING:
        return QUEUE
    return column_of_worker(state.worker)


def column_of_worker(worker: str) -> str:
    """The column of a task that is not waiting, by the worker it names."""
    return QUEUE if worker in _NOT_WORKERS else worker


def column_filter(key: str) -> TaskFilter:
    """The Tasks view's filter for every task of column ``key`` ("+K more"): the
    queue's waiting tasks, oldest first as the column lists them, or a worker's."""
    if key == QUEUE:
        return TaskFilter(status=TaskStatus.PENDING.value, sort="created")
    return TaskFilter(worker=key)


def role_data(state: TaskState, role: int) -> Any:
    """What a model row holding ``state`` answers for ``role``."""
    if role == STATE_ROLE:
        return state
    if role == ID_ROLE:
        return state.id
    if role == COLUMN_ROLE:
        return column_of(state)
    if role == Qt.ItemDataRole.DisplayRole:
        return f"#{state.id[:6]} {state.name}"
    return None


class Column:
    """One column's tasks: positions (sorted), their states, counts by status, and
    how many more it has that are not held ("unheld": counted by the broker)."""

    def __init__(self) -> None:
        self.positions: list[int] = []
        self.states: dict[int, TaskState] = {}
        self.counts: Counter[TaskStatus] = Counter()
        self.unheld = 0
        self.unheld_ended: Counter[TaskStatus] = Counter()
        """Of the unheld ones, those failed or cancelled (a worker's column)."""

    def __len__(self) -> int:
        return len(self.positions)

    def add(self, position: int, state: TaskState) -> None:
        if not self.positions or position > self.positions[-1]:
            self.positions.append(position)
        else:
            insort(self.positions, position)
        self.states[position] = state

    def remove(self, position: int) -> None:
        del self.positions[bisect_left(self.positions, position)]
        del self.states[position]

    def forget(self, positions: Iterable[int]) -> None:
        """Remove many at once: one pass over the column's positions up to the newest
        one removed (short when the oldest tasks are the ones forgotten, as the model's
        trimming forgets them)."""
        newest = -1
        states = self.states
        for position in positions:
            del states[position]
            newest = max(newest, position)
        cut = bisect_right(self.positions, newest)
        self.positions[:cut] = [p for p in self.positions[:cut] if p in states]

    def newest(self, count: int) -> list[Card]:
        """The last ``count`` tasks, newest first."""
        states = self.states
        return [(p, states[p]) for p in reversed(self.positions[-count:])] if count > 0 else []

    def oldest(self, count: int) -> list[Card]:
        """The first ``count`` tasks, oldest first."""
        states = self.states
        return [(p, states[p]) for p in self.positions[:count]] if count > 0 else []


class ColumnCards(QAbstractListModel):
    """The newest ``limit`` cards of one column, newest first, or with ``oldest_first``
    its oldest ``limit``, oldest first (fed by the task model)."""

    def __init__(
        self,
        key: str,
        limit: int = SHOWN,
        parent: QObject | None = None,
        *,
        oldest_first: bool = False,
    ) -> None:
        super().__init__(parent)
        self.key = key
        self.limit = limit
        self.oldest_first = oldest_first
        self.total = 0
        """Tasks in the column, shown or not."""
        self._cards: list[Card] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._cards)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._cards):
            return None
        return role_data(self._cards[index.row()][1], role)

    def hidden(self) -> int:
        """Tasks in the column that are not shown ("+K more")."""
        return max(0, self.total - len(self._cards))

    def sync(self, column: Column, changed: Iterable[int] = ()) -> None:
        """Show ``column``'s newest (or oldest) cards; ``changed``: positions whose state
        changed."""
        self.total = len(column) + column.unheld
        new = column.oldest(self.limit) if self.oldest_first else column.newest(self.limit)
        old_positions = {p for p, _ in self._cards}
        new_positions = {p for p, _ in new}
        self._remove_missing(new_positions)
        self._insert_new(new, old_positions)
        self._cards = new
        self._emit_changed(set(changed) & old_positions)

    def _remove_missing(self, keep: set[int]) -> None:
        """Remove the cards not in ``keep``, bottom run first."""
        row = len(self._cards) - 1
        while row >= 0:
            if self._cards[row][0] in keep:
                row -= 1
                continue
            last = row
            while row >= 0 and self._cards[row][0] not in keep:
                row -= 1
            self.beginRemoveRows(QModelIndex(), row + 1, last)
            del self._cards[row + 1 : last + 1]
            self.endRemoveRows()

    def _insert_new(self, new: Sequence[Card], had: set[int]) -> None:
        """Insert the cards of ``new`` not in ``had``, top run first (both are in the
        same order, so the rows above each run already match ``new``)."""
        row = 0
        while row < len(new):
            if new[row][0] in had:
                row += 1
                continue
            first = row
            while row < len(new) and new[row][0] not in had:
                row += 1
            self.beginInsertRows(QModelIndex(), first, row - 1)
            self._cards[first:first] = new[first:row]
            self.endInsertRows()

    def _emit_changed(self, positions: set[int]) -> None:
        rows = [r for r, (p, _) in enumerate(self._cards) if p in positions]
        for first, last in runs(rows):
            self.dataChanged.emit(self.index(first), self.index(last))
