"""The status messages users see (a card's line, the ``message`` of an update), each
written once. The original Go services' words are kept word for word: a Go worker
sends the same three, so a mixed cluster reads alike.
"""

from __future__ import annotations

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
CANCELLED_QUEUED = "Cancelled before it started"
CANCELLED_RUNNING = "Cancelled while running"


def dead_lettered(reason: str) -> str:
    return f"Dead-lettered: {reason}"


def gave_up(tries: int, error: str) -> str:
    return f"Failed after {tries} attempt(s): {error}"


def no_handler(reason: str) -> str:
    return f"Failed: {reason}"


def retrying(attempt: int, error: str, delay: float) -> str:
    return f"Attempt {attempt} failed: {error}; retrying in {delay:g} s"
