"""Filling a kind's template gives the same bytes as encoding each new task directly."""

from __future__ import annotations

import time

from backend.protocol import decode_task, decode_update, encode_task, wire_payload
from backend.state import decode_state, encode_state
from backend.store.templates import Encoder, encode


def test_filled_templates_match_direct_encoding_and_the_models() -> None:
    encoder = Encoder("manager")
    now = time.time()
    cases = [
        ("a-1", "noop", None, 3, None),
        ("b-2", "noop", None, 3, None),
        ('odd "id" \\ é', "noop", None, 3, None),
        ("c-3", "echo", {"k": ["v", 1.5]}, 0, 2.5),
        ("d-4", "echo", {"k": ["v", 1.5]}, 0, 2.5),
        ("e-5", "echo", "@@I@@", 1, None),  # a payload that looks like a mark
        ("f-6", "echo", "@@I@@", 1, None),
    ]
    for n, (task_id, name, payload, retries, timeout) in enumerate(cases):
        created = now + n / 7
        wire = wire_payload(payload)
        got = encoder.encode(task_id, name, wire, payload, retries, created, timeout)
        want = encode(task_id, name, wire, payload, retries, created, timeout, "manager")
        assert got == want
        # and the models agree: what encode_state / encode_task write
        task = decode_task(want[2])
        assert task.id == task_id and abs(task.created_ts - created) < 1e-5
        assert encode_task(task).encode() == want[2]
        state = decode_state(want[0])
        assert encode_state(state).encode() == want[0]
        assert state.status == "pending" and state.created == created and state.payload == payload
        assert decode_update(want[1]).id == task_id
