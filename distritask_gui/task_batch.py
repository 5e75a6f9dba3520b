"""One frame's worth of what the panel's task model was fed, applied to what it holds.

A :class:`Batch` applies snapshot states (:class:`~backend.state.TaskState`), live
updates (:class:`~backend.protocol.StatusUpdate`) and the broker's counts
(:class:`~backend.store.BoardCounts`) in the order they came, following
:meth:`TaskState.apply <backend.state.TaskState.apply>`: a state or an update older than
the task's, by ``(attempt, seq)``, changes nothing. A task held already changes in
its row; a new one is kept aside (:attr:`Batch.added`) for the model to add as rows;
each changed task's counts move in the :class:`~distritask_gui.task_tally.Tally`.
After the rows are added, :meth:`Batch.file` files the changed tasks under their
columns. The model (:class:`~distritask_gui.task_model.TaskModel`) then tells Qt and
the column views what changed.
"""

from __future__ import annotations

from backend.protocol import StatusUpdate
from backend.state import TaskState
from backend.store import BoardCounts
from distritask_gui.card_state import compact, stamp_arrival
from distritask_gui.columns import column_of
from distritask_gui.task_rows import TaskRows
from distritask_gui.task_tally import Tally


class Batch:
    """The changes one flush of the task model applies."""

    def __init__(self, rows: TaskRows, tally: Tally) -> None:
        self._rows = rows
        self._tally = tally
        self.added: dict[str, TaskState] = {}
        """Tasks new in this batch, to be added as rows."""
        self.touched: dict[str, str | None] = {}
        """The column each changed task was in before this batch (``None``: new in it)."""
        self.latencies: list[float | None] = []
        """Latencies of tasks that reached a terminal state in this batch."""
        self.rebased = False
        """The broker's counts came: every column's count may have changed."""

    def apply(self, item: TaskState | StatusUpdate | BoardCounts) -> None:
        """Apply one fed item."""
        if isinstance(item, BoardCounts):
            self._tally.rebase(item)
            self.rebased = True
            return
        task_id = item.id
        row = self._rows.row_of(task_id)
        current = self.added.get(task_id) if row is None else self._rows.states[row]
        if current is None:
            state = item if isinstance(item, TaskState) else TaskState.from_update(item)
            if isinstance(item, StatusUpdate) and item.ts is None:
                stamp_arrival(state)
            self.added[task_id] = compact(state)
            self.touched[task_id] = None
            self._tally.count(state, +1)
            return
        if isinstance(item, TaskState):
            if item.order < current.order:
                return
            self._tally.count(current, -1)
            self.touched.setdefault(task_id, column_of(current))
            if row is None:
                self.added[task_id] = item
            else:
                self._rows.states[row] = item
            current = item
        else:
            before, column = current.status, column_of(current)
            self._tally.count(current, -1)
            if not current.apply(item):
                self._tally.count(current, +1)
                return
            self.touched.setdefault(task_id, column)
            if item.ts is None:
                stamp_arrival(current)
            if current.status.terminal and not before.terminal:
                self.latencies.append(current.latency)
        compact(current)
        self._tally.count(current, +1)

    def file(self) -> dict[str, set[int]]:
        """File the changed tasks under their columns (once the new ones are rows); the
        positions that changed (or arrived), by column."""
        changed: dict[str, set[int]] = {}
        for task_id, before in self.touched.items():
            position = self._rows.position(task_id)
            state = self.added.get(task_id) or self._rows.states[self._rows.row(position)]
            after = column_of(state)
            column = self._tally.column(after)
            if before is None:
                column.add(position, state)
            elif before != after:
                self._tally.columns[before].remove(position)
                changed.setdefault(before, set())
                column.add(position, state)
            else:
                column.states[position] = state
            changed.setdefault(after, set()).add(position)
        return changed
