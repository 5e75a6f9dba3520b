"""The rows of the panel's task model: the tasks it holds, in submission order.

Each task gets a growing *position* when it is added (a batch's new tasks in order of
creation) and the rows stay sorted by position, so a task's row is found by bisecting
the rows' positions, which removing rows does not change. :class:`TaskRows` is plain
data: the model (:class:`~distritask_gui.task_model.TaskModel`) tells Qt of each change
(``beginInsertRows`` / ``beginRemoveRows``) around it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection

from backend.state import TaskState


def _created(state: TaskState) -> float:
    return state.created if state.created is not None else (state.updated or 0.0)


class TaskRows:
    """The held tasks, one per row, in submission order; found by id or by position."""

    def __init__(self) -> None:
        self.states: list[TaskState] = []
        """The held tasks, one per row."""
        self._positions: list[int] = []
        """The position of each row (ascending)."""
        self._position: dict[str, int] = {}
        self._next = 0

    def __len__(self) -> int:
        return len(self.states)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._position

    def position(self, task_id: str) -> int:
        """A held task's position."""
        return self._position[task_id]

    def row(self, position: int) -> int:
        """The row of the task at ``position``."""
        return bisect_left(self._positions, position)

    def row_of(self, task_id: str) -> int | None:
        """A task's row (``None``: not held)."""
        position = self._position.get(task_id)
        return None if position is None else self.row(position)

    def append(self, new: Collection[TaskState]) -> None:
        """Add tasks new to the model after the last row, the oldest created first."""
        for state in sorted(new, key=_created):
            self._position[state.id] = self._next
            self._positions.append(self._next)
            self._next += 1
            self.states.append(state)

    def pop(self, task_id: str) -> int:
        """Stop finding a held task (its row goes with :meth:`delete`); its position."""
        return self._position.pop(task_id)

    def delete(self, first: int, last: int) -> None:
        """Remove rows ``first`` to ``last`` (their tasks already popped)."""
        del self.states[first : last + 1]
        del self._positions[first : last + 1]
