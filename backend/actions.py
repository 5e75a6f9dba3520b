"""What a user can do to one task, shared by the manager's routes and the client:
cancel it, retry it. Each raises :class:`~backend.errors.TaskNotFound` for an unknown
id and :class:`~backend.errors.TaskConflict` when the task's status does not allow it
(the manager answers 404 and 409).
"""

from __future__ import annotations

from backend.errors import TaskConflict, TaskNotFound
from backend.policy import retry_problem
from backend.state import TaskState
from backend.store import TaskStore


async def known(store: TaskStore, task_id: str) -> TaskState:
    """The task's state; :class:`TaskNotFound` when there is none."""
    state = await store.get(task_id)
    if state is None:
        raise TaskNotFound(task_id)
    return state


async def cancel(store: TaskStore, task_id: str) -> TaskState:
    """Cancel the task: a queued one at once, a running one is interrupted by its
    worker. Its state as it now is."""
    state = await known(store, task_id)
    if state.status.terminal:
        raise TaskConflict(task_id, f"task {task_id} is already {state.status.value}")
    return await store.request_cancel(task_id) or state


async def retry(store: TaskStore, task_id: str) -> TaskState:
    """Queue a failed or cancelled task again, as a new attempt; its pending state."""
    state = await known(store, task_id)
    problem = retry_problem(task_id, state.status)
    if problem is not None:
        raise TaskConflict(task_id, problem)
    return await store.requeue(state)
