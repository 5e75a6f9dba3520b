"""The fast, model-free encoders of :mod:`backend.protocol` (which re-exports them):
task ids, the ``time`` field's clock, and a new task's JSON as :func:`encode_task` would
write it, built without the model (the path for submitting many).
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic_core import to_json


def new_task_id() -> str:
    return str(uuid.uuid4())


def new_task_ids(count: int) -> list[str]:
    """``count`` fresh ids like :func:`new_task_id`'s (random version-4 UUIDs), made
    from one read of the random source (quicker for many)."""
    raw = os.urandom(16 * count).hex()
    ids = []
    for at in range(0, 32 * count, 32):
        h = raw[at : at + 32]
        variant = "89ab"[int(h[16], 16) & 3]
        ids.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}")
    return ids


class Clock:
    """The ``HH:MM:SS`` local time the original writes in ``time``, cached per second
    (formatting a time is the costly part; a busy worker stamps thousands a second)."""

    __slots__ = ("_second", "_text")

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def __call__(self, ts: float | None = None) -> str:
        second = int(time.time() if ts is None else ts)
        if self._second != second:
            self._text = time.strftime("%H:%M:%S", time.localtime(second))
            self._second = second
        return self._text


clock = Clock()
"""``clock(ts=None)``: the ``time`` field for epoch seconds ``ts`` (default: now)."""


def wire_payload(payload: Any) -> str | None:
    """A task's payload as Go's ``[]byte`` field carries it: base64 of its JSON."""
    if payload is None:
        return None
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def new_task_json(
    task_id: str,
    name: str,
    wire: str | None,
    max_retries: int,
    created: float,
    timeout: float | None = None,
) -> bytes:
    """:func:`encode_task` of a new task (first attempt) from plain values, without
    building the model: the fast path for submitting many (the same bytes, pinned by
    ``tests/backend/test_protocol.py``). ``wire``: :func:`wire_payload` of the payload.
    """
    return to_json(
        {
            "id": task_id,
            "name": name,
            "payload": wire,
            "status": 0,
            "retries": 0,
            "max_retries": max_retries,
            "created_at": datetime.fromtimestamp(created, UTC),
            "timeout": timeout,
            "attempt": 1,
        }
    )
