"""What the board counts: every retained task, by status and by column, whether the
panel's task model holds it or not.

The model (:class:`~distritask_gui.task_model.TaskModel`) holds only part of what the
broker retains. :class:`Tally` counts the held tasks as they change
(:meth:`Tally.count`) and, from the broker's :class:`~backend.store.BoardCounts`
(:meth:`Tally.rebase`), the *unheld* ones: by status, the broker's count less the held
ones; by column, a worker's indexed tasks less its held ones (the Queue column's are
the unheld waiting tasks). A held task the model drops to bound its memory
(:meth:`Tally.drop`) is counted as unheld from then on; one a user deleted is counted
out (:meth:`Tally.count` with ``-1``) and nowhere else, as the broker no longer counts it.
"""

from __future__ import annotations

from collections import Counter

from backend.protocol import TaskStatus
from backend.state import TaskState
from backend.store import BoardCounts
from distritask_gui.columns import ENDED, QUEUE, Column, column_of, column_of_worker


class Tally:
    """Held and unheld tasks by status, and every column the board has (each
    :class:`~distritask_gui.columns.Column` also files its held tasks)."""

    def __init__(self) -> None:
        self.held: Counter[TaskStatus] = Counter()
        """Tasks the model holds, by status."""
        self.unheld: Counter[TaskStatus] = Counter()
        """Retained tasks the model does not hold, by status."""
        self.columns: dict[str, Column] = {}

    def column(self, key: str) -> Column:
        """Column ``key``, made on first use."""
        column = self.columns.get(key)
        if column is None:
            column = self.columns[key] = Column()
        return column

    def count(self, state: TaskState, sign: int) -> None:
        """Count a held task in (``+1``) or out (``-1``), in its status and column."""
        self.held[state.status] += sign
        self.column(column_of(state)).counts[state.status] += sign

    def finished(self) -> int:
        """Held tasks in a terminal state."""
        return sum(n for status, n in self.held.items() if status.terminal)

    def drop(self, state: TaskState) -> str:
        """Count a held task the model forgets as unheld; the key of its column."""
        self.count(state, -1)
        self.unheld[state.status] += 1
        key = column_of(state)
        column = self.columns[key]
        column.unheld += 1
        if state.status in ENDED:
            column.unheld_ended[state.status] += 1
        return key

    def rebase(self, counts: BoardCounts) -> None:
        """Count as unheld what the broker counts and the model does not hold."""
        for status in TaskStatus:
            self.unheld[status] = max(0, counts.statuses.get(status, 0) - self.held[status])
        for worker, count in counts.workers.items():
            if count and column_of_worker(worker) != QUEUE:
                self.column(worker)
        for key, column in self.columns.items():
            if key == QUEUE:
                column.unheld = self.unheld[TaskStatus.PENDING] + self.unheld[TaskStatus.RETRYING]
            else:
                held = sum(column.counts.values())
                column.unheld = max(0, counts.workers.get(key, 0) - held)
                for status, count in counts.ended.get(key, {}).items():
                    column.unheld_ended[status] = max(0, count - column.counts[status])

    def totals(self) -> Counter[TaskStatus]:
        """Every retained task by status: those held and the unheld ones."""
        return self.held + self.unheld

    def column_counts(self, key: str) -> Counter[TaskStatus]:
        """Tasks by status in one column: those held, and the unheld ones: for the Queue
        column every waiting task (all of them wait there); for a worker's, its failed
        and cancelled ones as counted when the board loaded (and dropped since), the
        rest of its unheld tasks as completed (every running task is held)."""
        column = self.columns.get(key)
        if column is None:
            return Counter()
        counts = +column.counts
        if key == QUEUE:
            for status in (TaskStatus.PENDING, TaskStatus.RETRYING):
                counts[status] += self.unheld[status]
        else:
            counts.update(column.unheld_ended)
            counts[TaskStatus.COMPLETED] += column.unheld - sum(column.unheld_ended.values())
        return +counts
