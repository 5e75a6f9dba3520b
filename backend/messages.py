"""The status messages users see (a card's line, the ``message`` of an update), each
written once. The original Go services' words are kept word for word: a Go worker
sends the same three, so a mixed cluster reads alike.

Those three describe the original's one simulated job, so only that job says them:
``deploy_node`` (and the Go manager's ``ExampleTask``, which runs as it). Every other
handler (``sleep``, ``noop``, ``echo``, a user's) starts with :func:`started` ("Running
sleep"), shows its own ``ctx.progress`` messages as they come, and ends with
:func:`completed` ("Completed").
"""

from __future__ import annotations

from backend.protocol import DEFAULT_TASK, GO_DEFAULT_TASK

ENQUEUED = "Task enqueued successfully!"
"""The answer to ``POST /submit`` (the Go manager's, word for word)."""
QUEUED = "Task queued"
"""The ``pending`` update a submit publishes."""
STARTED = "Allocating resources and starting execution"
"""A worker took the task (the Go worker's first ``processing`` message)."""
ANALYZING = "Analyzing task payload and optimizing"
"""The Go worker's second ``processing`` message."""
COMPLETED = "Task execution finalized successfully"
"""The handler returned (the Go worker's ``completed`` message)."""
DONE = "Completed"
"""The ``completed`` message of every handler but the original's."""
ORIGINAL_TASKS = frozenset({DEFAULT_TASK, GO_DEFAULT_TASK})
"""The task names that keep the Go worker's wording (:data:`STARTED`, :data:`COMPLETED`)."""
CANCELLED_QUEUED = "Cancelled before it started"
CANCELLED_RUNNING = "Cancelled while running"


def started(name: str) -> str:
    """The first ``processing`` message of a task called ``name``, as a worker took it."""
    return STARTED if name in ORIGINAL_TASKS else f"Running {name}"


def completed(name: str) -> str:
    """The ``completed`` message of a task called ``name``, its handler having returned."""
    return COMPLETED if name in ORIGINAL_TASKS else DONE


def sleeping(seconds: float) -> str:
    """What the built-in ``sleep`` handler says while it sleeps."""
    return f"Sleeping for {seconds:g} s"


def scheduled_for(clock: str) -> str:
    """The ``pending`` of a delayed task: when it is due (``HH:MM:SS``, or the date and
    time when not today: see :func:`backend.state.scheduled_for`)."""
    return f"Scheduled for {clock}"


def dead_lettered(reason: str) -> str:
    return f"Dead-lettered: {reason}"


def gave_up(tries: int, error: str) -> str:
    return f"Failed after {tries} attempt(s): {error}"


def no_handler(reason: str) -> str:
    return f"Failed: {reason}"


def retrying(attempt: int, error: str, delay: float) -> str:
    return f"Attempt {attempt} failed: {error}; retrying in {delay:g} s"
