"""Every task the panel knows, as one Qt list model fed with plain data.

The model is fed :class:`~backend.state.TaskState` snapshots and
:class:`~backend.protocol.StatusUpdate` messages through :meth:`TaskModel.feed`; they
are buffered and applied together once per frame (a ~16 ms single-shot timer), so a
burst of thousands of updates costs one ``beginInsertRows`` and a few ``dataChanged``.
Applying follows :meth:`TaskState.apply`: an update older than the state, by
``(attempt, seq)``, changes nothing, so a snapshot followed by the live updates buffered
while it loaded counts nothing twice.

Rows are kept in submission order. Memory is bounded: a finished task keeps no payload
or timeline (the detail dialog loads them from the broker), and past ``max_finished``
finished tasks (plus 10 %) the oldest finished ones are dropped; the totals keep
counting them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from backend.protocol import StatusUpdate, TaskStatus
from backend.state import TaskState
from backend.store import SUBMIT_SOURCE

QUEUE = ""
"""The column key of the queue column (tasks waiting for a worker)."""
MAX_FINISHED = 100_000
FRAME_MS = 16
_WAITING = (TaskStatus.PENDING, TaskStatus.RETRYING)
_NOT_WORKERS = ("", SUBMIT_SOURCE)

Index = QModelIndex | QPersistentModelIndex


def column_of(state: TaskState) -> str:
    """The column a task shows in: the queue while it waits, else its worker's."""
    if state.status in _WAITING or state.worker in _NOT_WORKERS:
        return QUEUE
    return state.worker


def _compact(state: TaskState) -> TaskState:
    """Drop what only the detail dialog shows (it loads the full record) from a
    finished task: a third of the memory, so 100,000 of them fit in ~150 MB."""
    if state.status.terminal:
        state.history = []
        state.payload = None
    return state


def _sort_key(state: TaskState) -> float:
    return state.created if state.created is not None else (state.updated or 0.0)


class TaskModel(QAbstractListModel):
    """Tasks by submission order; ``StateRole`` gives the :class:`TaskState`."""

    StateRole = Qt.ItemDataRole.UserRole + 1
    IdRole = Qt.ItemDataRole.UserRole + 2
    ColumnRole = Qt.ItemDataRole.UserRole + 3

    flushed = Signal()
    """Emitted after each batch is applied (totals and column counts changed)."""
    finished = Signal(list)
    """Latencies (seconds, or ``None``) of tasks that reached a terminal state live."""
    columns_seen = Signal(list)
    """Worker names that tasks were seen on (each batch)."""

    def __init__(self, parent: QObject | None = None, *, max_finished: int = MAX_FINISHED) -> None:
        super().__init__(parent)
        self.max_finished = max_finished
        self._rows: list[TaskState] = []
        self._row_of: dict[str, int] = {}
        self._pending: list[TaskState | StatusUpdate] = []
        self._totals: Counter[TaskStatus] = Counter()
        self._dropped: Counter[TaskStatus] = Counter()
        self._columns: dict[str, Counter[TaskStatus]] = {}
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
        state = self._rows[index.row()]
        if role == self.StateRole:
            return state
        if role == self.IdRole:
            return state.id
        if role == self.ColumnRole:
            return column_of(state)
        if role == Qt.ItemDataRole.DisplayRole:
            return f"#{state.id[:6]} {state.name}"
        return None

    # -- feeding -----------------------------------------------------------------------

    def feed(self, items: Iterable[TaskState | StatusUpdate]) -> None:
        """Queue states (a snapshot) or updates; applied in order on the next frame."""
        self._pending.extend(items)
        if self._pending and not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Apply everything fed so far (also called by the frame timer)."""
        self._timer.stop()
        pending, self._pending = self._pending, []
        if not pending:
            return
        added: dict[str, TaskState] = {}
        changed: set[int] = set()
        latencies: list[float | None] = []
        for item in pending:
            self._apply_one(item, added, changed, latencies)
        if added:
            new = sorted(added.values(), key=_sort_key)
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for offset, state in enumerate(new):
                self._row_of[state.id] = first + offset
                self._rows.append(state)
            self.endInsertRows()
        self._emit_changed(changed)
        self._trim()
        self.columns_seen.emit(sorted(k for k in self._columns if k != QUEUE))
        if latencies:
            self.finished.emit(latencies)
        self.flushed.emit()

    def _apply_one(
        self,
        item: TaskState | StatusUpdate,
        added: dict[str, TaskState],
        changed: set[int],
        latencies: list[float | None],
    ) -> None:
        row = self._row_of.get(item.id)
        current = self._rows[row] if row is not None else added.get(item.id)
        if current is None:
            state = item if isinstance(item, TaskState) else TaskState.from_update(item)
            added[state.id] = _compact(state)
            self._count(state, +1)
            return
        before = current.status
        self._count(current, -1)
        if isinstance(item, TaskState):
            applied = item.order >= current.order
            if applied:
                current = item
                if row is None:
                    added[item.id] = item
                else:
                    self._rows[row] = item
        else:
            applied = current.apply(item)
            if applied and current.status.terminal and not before.terminal:
                latencies.append(current.latency)
        _compact(current)
        self._count(current, +1)
        if applied and row is not None:
            changed.add(row)

    def _count(self, state: TaskState, sign: int) -> None:
        self._totals[state.status] += sign
        self._columns.setdefault(column_of(state), Counter())[state.status] += sign

    def _emit_changed(self, rows: set[int]) -> None:
        """One ``dataChanged`` per run of adjacent rows."""
        start = previous = None
        for row in sorted(rows):
            if start is None:
                start = previous = row
            elif row == previous + 1:  # type: ignore[operator]
                previous = row
            else:
                self.dataChanged.emit(self.index(start), self.index(previous))  # type: ignore[arg-type]
                start = previous = row
        if start is not None:
            self.dataChanged.emit(self.index(start), self.index(previous))  # type: ignore[arg-type]

    def _trim(self) -> None:
        finished = sum(n for status, n in self._totals.items() if status.terminal)
        if finished <= self.max_finished + max(10, self.max_finished // 10):
            return
        excess = finished - self.max_finished
        kept: list[TaskState] = []
        for state in self._rows:
            if excess and state.status.terminal:
                excess -= 1
                self._count(state, -1)
                self._dropped[state.status] += 1
                continue
            kept.append(state)
        self.beginResetModel()
        self._rows = kept
        self._row_of = {state.id: row for row, state in enumerate(kept)}
        self.endResetModel()

    # -- reading -----------------------------------------------------------------------

    def state(self, task_id: str) -> TaskState | None:
        row = self._row_of.get(task_id)
        return None if row is None else self._rows[row]

    def column_at(self, row: int) -> str:
        """The column of the task in ``row`` (fast path for the column filters)."""
        return column_of(self._rows[row])

    def row_of(self, task_id: str) -> int | None:
        return self._row_of.get(task_id)

    def states(self) -> Sequence[TaskState]:
        return self._rows

    def totals(self) -> Counter[TaskStatus]:
        """Tasks by status, including finished ones dropped to bound memory."""
        return self._totals + self._dropped

    def column_counts(self, key: str) -> Counter[TaskStatus]:
        """Tasks by status in one column (those still held)."""
        return +self._columns.get(key, Counter())
