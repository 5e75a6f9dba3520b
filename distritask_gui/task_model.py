"""Every task the panel knows, as one Qt list model fed with plain data.

The model is fed :class:`~backend.state.TaskState` snapshots and
:class:`~backend.protocol.StatusUpdate` messages through :meth:`TaskModel.feed`; they
are buffered and applied together once per frame (a ~16 ms single-shot timer, one
:class:`~distritask_gui.task_batch.Batch`), so a burst of thousands of updates costs
one ``beginInsertRows`` and a few ``dataChanged``. Applying follows
:meth:`TaskState.apply`: an update older than the state, by ``(attempt, seq)``, changes
nothing, so a snapshot followed by the live updates buffered while it loaded counts
nothing twice.

Rows are kept in submission order (:class:`~distritask_gui.task_rows.TaskRows`: each
task gets a growing *position* when it is added). The model also files every task
under its column (:class:`~distritask_gui.columns.Column`) and keeps each column's
:class:`~distritask_gui.columns.ColumnCards` (:meth:`TaskModel.column_cards`) up to
date after each batch, so a column view never filters the whole list.

The model holds what the board shows, not everything retained: the connection
feeds it a bounded snapshot (:meth:`backend.store.TaskStore.board`: each column's
top cards and the running tasks), the live updates, and every second the broker's
counts (:class:`~backend.store.BoardCounts`, fed with :meth:`TaskModel.feed_counts`).
What it does not hold is counted as *unheld* (:class:`~distritask_gui.task_tally.Tally`:
by status and by column), so the totals, each column's count and its "+K more" cover
every retained task. A task first seen by an update (an unheld one that changed) is
held from then on; until the next counts it is counted in both its old and its new
status, at most a second.

Memory is bounded: a finished task keeps no payload or timeline (the detail dialog
loads them from the broker), and past ``max_finished`` finished tasks (plus 1 %) the
oldest finished ones are dropped, a few at a time, into the unheld counts.

Tasks a user deleted (:meth:`TaskModel.forget`: the ids of a
:class:`~backend.protocol.Forgotten` notice) are dropped and no longer counted at all:
their rows and cards go at once; the unheld ones leave the counts with the next
broker counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, Qt, QTimer, Signal

from backend.protocol import StatusUpdate, TaskStatus
from backend.state import TaskState
from backend.store import BoardCounts
from distritask_gui.columns import (
    COLUMN_ROLE,
    ID_ROLE,
    QUEUE,
    STATE_ROLE,
    ColumnCards,
    Index,
    column_of,
    role_data,
)
from distritask_gui.rows import runs
from distritask_gui.task_batch import Batch
from distritask_gui.task_rows import TaskRows
from distritask_gui.task_tally import Tally

__all__ = ["QUEUE", "TaskModel", "column_of"]

MAX_FINISHED = 20_000
FRAME_MS = 16


class TaskModel(QAbstractListModel):
    """Tasks by submission order; ``StateRole`` gives the :class:`TaskState`."""

    StateRole = STATE_ROLE
    IdRole = ID_ROLE
    ColumnRole = COLUMN_ROLE

    flushed = Signal()
    """Emitted after each batch is applied (totals and column counts changed)."""
    finished = Signal(list)
    """Latencies (seconds, or ``None``) of tasks that reached a terminal state live."""
    columns_seen = Signal(list)
    """Worker names that tasks were seen on (each batch)."""

    def __init__(self, parent: QObject | None = None, *, max_finished: int = MAX_FINISHED) -> None:
        super().__init__(parent)
        self.max_finished = max_finished
        self._rows = TaskRows()
        self._pending: list[TaskState | StatusUpdate | BoardCounts] = []
        self._tally = Tally()
        """The counts, held and unheld, and the columns the tasks are filed under."""
        self._cards: dict[str, ColumnCards] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self.flush)

    # -- Qt model API ------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        return role_data(self._rows.states[index.row()], role)

    # -- feeding -----------------------------------------------------------------------

    def feed(self, items: Iterable[TaskState | StatusUpdate | BoardCounts]) -> None:
        """Queue states (a snapshot) or updates; applied in order on the next frame."""
        self._pending.extend(items)
        if self._pending and not self._timer.isActive():
            self._timer.start()

    def feed_counts(self, counts: BoardCounts) -> None:
        """Queue the broker's counts of every retained task (after the states read with
        them): what the model does not hold is counted from them."""
        self.feed([counts])

    def flush(self) -> None:
        """Apply everything fed so far (also called by the frame timer)."""
        self._timer.stop()
        pending, self._pending = self._pending, []
        if not pending:
            return
        batch = Batch(self._rows, self._tally)
        for item in pending:
            batch.apply(item)
        known = len(self._rows)
        if batch.added:
            self._insert(batch.added.values())
        changed = batch.file()
        rows = (self._rows.row(p) for positions in changed.values() for p in positions)
        self._emit_changed(sorted(r for r in rows if r < known))
        dropped = self._trim()
        columns = self._tally.columns
        for key in changed.keys() | dropped | (columns.keys() if batch.rebased else set()):
            cards = self._cards.get(key)
            if cards is not None:
                cards.sync(columns[key], changed.get(key, ()))
        self.columns_seen.emit(sorted(k for k in columns if k != QUEUE))
        if batch.latencies:
            self.finished.emit(batch.latencies)
        self.flushed.emit()

    def _insert(self, new: Collection[TaskState]) -> None:
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        self._rows.append(new)
        self.endInsertRows()

    def _emit_changed(self, rows: list[int]) -> None:
        """One ``dataChanged`` per run of adjacent rows (``rows`` sorted)."""
        for first, last in runs(rows):
            self.dataChanged.emit(self.index(first), self.index(last))

    def _trim(self) -> set[str]:
        """Drop the oldest finished tasks past the bound; the columns they left."""
        finished = self._tally.finished()
        if finished <= self.max_finished + max(10, self.max_finished // 100):
            return set()
        excess = finished - self.max_finished
        gone: dict[str, list[int]] = {}
        rows: list[int] = []
        for row, state in enumerate(self._rows.states):
            if not excess:
                break
            if state.status.terminal:
                excess -= 1
                rows.append(row)
                key = self._tally.drop(state)
                gone.setdefault(key, []).append(self._rows.pop(state.id))
        for key, positions in gone.items():
            self._tally.columns[key].forget(positions)
        self._remove_rows(rows)
        return set(gone)

    def forget(self, task_ids: Iterable[str]) -> None:
        """Drop tasks whose states were deleted, after applying what was fed before:
        their rows and cards go and they are no longer counted (held or not: the
        broker's next counts no longer count them either). Ids not held are ignored."""
        self.flush()
        gone: dict[str, list[int]] = {}
        rows: list[int] = []
        for task_id in dict.fromkeys(task_ids):
            if task_id not in self._rows:
                continue
            position = self._rows.pop(task_id)
            row = self._rows.row(position)
            state = self._rows.states[row]
            self._tally.count(state, -1)
            gone.setdefault(column_of(state), []).append(position)
            rows.append(row)
        if not rows:
            return
        columns = self._tally.columns
        for key, positions in gone.items():
            columns[key].forget(positions)
        self._remove_rows(sorted(rows))
        for key in gone:
            cards = self._cards.get(key)
            if cards is not None:
                cards.sync(columns[key])
        self.flushed.emit()

    def _remove_rows(self, rows: list[int]) -> None:
        """Remove ``rows`` (ascending), one ``beginRemoveRows`` per run, last run first."""
        for first, last in reversed(runs(rows)):
            self.beginRemoveRows(QModelIndex(), first, last)
            self._rows.delete(first, last)
            self.endRemoveRows()

    # -- reading -----------------------------------------------------------------------

    def state(self, task_id: str) -> TaskState | None:
        row = self._rows.row_of(task_id)
        return None if row is None else self._rows.states[row]

    def row_of(self, task_id: str) -> int | None:
        return self._rows.row_of(task_id)

    def states(self) -> Sequence[TaskState]:
        return self._rows.states

    def holds(self, task_id: str) -> bool:
        """Whether the model holds the task (it may still be counted if not)."""
        return task_id in self._rows

    def totals(self) -> Counter[TaskStatus]:
        """Every retained task by status: those held and the unheld ones."""
        return self._tally.totals()

    def column_counts(self, key: str) -> Counter[TaskStatus]:
        """Tasks by status in one column, held and unheld (:meth:`Tally.column_counts
        <distritask_gui.task_tally.Tally.column_counts>`)."""
        return self._tally.column_counts(key)

    def column_cards(self, key: str) -> ColumnCards:
        """The model of column ``key``'s cards (made on first use, then kept current)."""
        cards = self._cards.get(key)
        if cards is None:
            cards = self._cards[key] = ColumnCards(key, parent=self, oldest_first=key == QUEUE)
            cards.sync(self._tally.column(key))
        return cards
