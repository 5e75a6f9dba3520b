"""The one rule that moves a task's state by a status update, over plain data.

Every holder of task states uses it: :meth:`TaskState.apply <backend.state.TaskState.apply>`
(viewers, the manager's actions and recorder, the panel; the fields of a model
instance) and :class:`Running <backend.worker.running.Running>` (a worker's hot path;
plain dicts). A state and an update are mappings with the fields of
:class:`~backend.state.TaskState` and :class:`~backend.protocol.StatusUpdate`;
statuses may be :class:`~backend.protocol.TaskStatus` members or their strings.

**Order.** An update is applied unless it is older than what the state shows, by
``(attempt, seq, rank)``, where the rank orders statuses within one step: pending <
processing, retrying < completed, failed, cancelled. A duplicate is not older, and
changes nothing. An update with no ordering fields (``attempt`` and ``seq`` both 0:
what a Go worker or the Go manager sends) belongs to the state's current attempt and
takes its ``(attempt, seq)``: it applies in arrival order, unless it would move the
task back by rank (a late ``processing`` after ``completed`` is dropped).

**Fields Go does not send.** An update without ``progress`` shows the original page's
figures: pending 15, processing 65, completed 100 (other statuses keep the last
value). One without ``ts`` is stamped with the time it arrives, so a Go task still
gets ``updated``/``started``/``finished`` and a latency.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

RANK: dict[str, int] = {
    "pending": 0,
    "processing": 1,
    "retrying": 1,
    "completed": 2,
    "failed": 2,
    "cancelled": 2,
}
"""A status's place within one ``(attempt, seq)``."""
TERMINAL = frozenset({"completed", "failed", "cancelled"})
KEEPS_ERROR = frozenset({"failed", "retrying"})
"""Statuses whose ``error`` the state keeps (any other clears it)."""
PROGRESS_WHEN_ABSENT: dict[str, int] = {"pending": 15, "processing": 65, "completed": 100}
"""The original page's progress for an update that carries none."""
HISTORY_LEN = 100
"""Rows a timeline keeps: the first (submission) and the newest."""

Row = Callable[..., Any]
"""Builds one timeline row from ``status, ts, worker, message, attempt`` keywords."""


def place(
    attempt: int, seq: int, status: str, update_attempt: int, update_seq: int, update_status: str
) -> tuple[int, int] | None:
    """Where an update lands on a state at ``(attempt, seq, status)``: the ``(attempt,
    seq)`` the state takes, or ``None`` when the update is older and is dropped."""
    if not (update_attempt or update_seq):  # Go: no order of its own
        if RANK[update_status] < RANK[status]:
            return None
        return attempt, seq
    if (update_attempt, update_seq) < (attempt, seq):
        return None
    if (update_attempt, update_seq) == (attempt, seq) and RANK[update_status] < RANK[status]:
        return None
    return update_attempt, update_seq


def apply(
    state: MutableMapping[str, Any],
    update: Mapping[str, Any],
    history: list[Any],
    last_status: str | None,
    row: Row,
) -> bool:
    """Apply ``update`` to ``state`` unless it is older; say whether it was.

    ``history`` is the state's timeline, whose newest row has ``last_status``; a
    change of status appends ``row(...)`` to it, and the oldest rows after the first
    go past :data:`HISTORY_LEN`.
    """
    status = update["status"]
    before = state["status"]
    order = place(state["attempt"], state["seq"], before, update["attempt"], update["seq"], status)
    if order is None:
        return False
    ts = update.get("ts")
    stamped = ts is not None
    if not stamped:
        ts = time.time()
    state["status"] = status
    state["attempt"], state["seq"] = order
    state["worker"] = update["worker"]
    state["message"] = update["message"]
    state["time"] = update["time"]
    state["error"] = update.get("error") if status in KEEPS_ERROR else None
    if status != "completed":
        state["result"] = None
    elif update.get("result") is not None:  # a large result is only in the stored state
        state["result"] = update["result"]
    name = update.get("name")
    if name:
        state["name"] = name
    progress = update.get("progress")
    if progress is not None:
        state["progress"] = progress
    elif status in PROGRESS_WHEN_ABSENT:
        state["progress"] = PROGRESS_WHEN_ABSENT[status]
    state["updated"] = ts
    if status in TERMINAL:
        if stamped or before not in TERMINAL:
            state["finished"] = ts
    elif status == "pending":
        state["started"] = state["finished"] = None
    elif status == "processing" and state["started"] is None:
        state["started"] = ts
    if last_status != status:
        history.append(
            row(
                status=status,
                ts=ts,
                worker=update["worker"],
                message=update["message"],
                attempt=order[0],
            )
        )
        if len(history) > HISTORY_LEN:
            del history[1]
    return True


def queued(
    *,
    task_id: str,
    name: str,
    payload: Any,
    max_retries: int | None,
    attempt: int,
    queue: str = "default",
    due: float | None = None,
    created: float,
    stamp: str,
    by: str,
    message: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A task's state as its submitter records it (pending, seq 0 of ``attempt``, its
    timeline one row long), and the ``pending`` update it publishes, as plain data in
    field order.

    ``stamp`` is the ``HH:MM:SS`` of ``created``; ``by`` the submitter's name.
    """
    state: dict[str, Any] = {
        "id": task_id,
        "name": name,
        "status": "pending",
        "worker": by,
        "message": message,
        "time": stamp,
        "progress": 0,
        "attempt": attempt,
        "seq": 0,
        "created": created,
        "updated": created,
        "started": None,
        "finished": None,
        "error": None,
        "queue": queue,
        "due": due,
        "payload": payload,
        "result": None,
        "max_retries": max_retries,
        "history": [
            {
                "status": "pending",
                "ts": created,
                "worker": by,
                "message": message,
                "attempt": attempt,
            }
        ],
    }
    update = {
        "id": task_id,
        "status": "pending",
        "time": stamp,
        "worker": by,
        "message": message,
        "progress": 0,
        "ts": created,
        "attempt": attempt,
        "seq": 0,
        "name": name,
    }
    return state, update
