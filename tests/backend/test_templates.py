"""Filling a kind's template gives the same bytes as encoding each new task directly."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from random import Random

from pydantic_core import to_json

from backend.protocol import decode_task, decode_update, encode_task, wire_payload
from backend.state import decode_state, encode_state
from backend.store import NewTask, templates
from backend.store.framing import submit_args
from backend.store.templates import Encoder, _Stamps, encode


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


def test_created_at_is_written_as_datetime_writes_it() -> None:
    """The cached ``created_at`` rounds to the microsecond as ``datetime`` does (half to
    even, carrying into the next second), and the whole second has no fraction."""
    stamps = _Stamps()
    rng = Random(12)
    now = time.time()
    cases = [now, float(int(now)), int(now) + 0.9999995, int(now) + 0.9999994, 1.0000005]
    cases += [int(now) + 0.0000005, int(now) + 0.0000015, 0.0, 1e9 + 0.25]
    cases += [now + rng.random() * 100 for _ in range(2000)]
    cases += [int(now) + k / 1e6 + 5e-7 for k in range(0, 2000, 7)]
    for ts in cases:
        assert stamps(ts)[1] == to_json(datetime.fromtimestamp(ts, UTC)), ts


def test_encoding_many_gives_what_encoding_each_gives() -> None:
    now = time.time()
    kinds = [("noop", None, 3, None), ("echo", {"k": 1}, 0, 2.5), ("echo", "@@C@@", 1, None)]
    tasks = [
        NewTask(f"id-{n}", name, wire_payload(payload), payload, retries, now + n / 3, timeout)
        for n, (name, payload, retries, timeout) in enumerate(
            [kinds[0]] * 4 + [kinds[1]] * 3 + [kinds[0]] + [kinds[2]] * 3 + [kinds[1]]
        )
    ]
    tasks.append(NewTask('odd "id"', "noop", None, None, 3, now))
    states, updates, entries = Encoder("client").encode_many(tasks)
    each = Encoder("client")
    for t, state, update, entry in zip(tasks, states, updates, entries, strict=True):
        want = encode(
            t.task_id, t.name, t.wire, t.payload, t.max_retries, t.created, t.timeout, "client"
        )
        assert (state, update, entry) == want
        assert (
            each.encode(t.task_id, t.name, t.wire, t.payload, t.max_retries, t.created, t.timeout)
            == want
        )


def test_framed_submit_arguments_are_each_task_encoded_and_framed() -> None:
    """submit_args builds runs of a kind a column at a time: the bytes are those of
    encoding and framing each task on its own (odd ids and kinds included)."""
    now = time.time()
    specs = [("noop", None, 3, None)] * 5 + [("echo", {"k": 1}, 0, 2.5)] * 3
    specs += [("echo", "@@I@@", 1, None)] * 2 + [("noop", None, 3, None)]
    tasks = [
        NewTask(f"id-{n}", name, wire_payload(payload), payload, retries, now + n / 3, timeout)
        for n, (name, payload, retries, timeout) in enumerate(specs)
    ]
    tasks[2].task_id = 'odd "id"'  # a run with an id to escape: encoded one at a time
    tasks[6].task_id = "two\nlines"  # the ids are joined by lines to be checked at once
    tasks.append(NewTask("whole", "noop", None, None, 3, float(int(now))))
    tasks.append(NewTask("whole-2", "noop", None, None, 3, float(int(now)) + 0.9999996))
    args = submit_args(Encoder("client"), tasks)
    docs = [
        encode(t.task_id, t.name, t.wire, t.payload, t.max_retries, t.created, t.timeout, "client")
        for t in tasks
    ]
    want = [
        [t.task_id.encode() for t in tasks],
        [state for state, _, _ in docs],
        [repr(t.created).encode() for t in tasks],
        [entry for _, _, entry in docs],
        [update for _, update, _ in docs],
        [t.name.encode() for t in tasks],
    ]
    assert args == [b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in column) for column in want]


def test_an_encoder_keeps_a_bounded_number_of_kinds() -> None:
    """A kept encoder (one per submitter and store) sees every distinct payload as a
    kind: past MAX_KINDS it starts over instead of growing."""
    encoder = Encoder("client")
    now = time.time()
    for n in range(templates.MAX_KINDS + 10):
        payload = {"n": n}
        for k in range(2):  # the second of a kind makes its template
            got = encoder.encode(f"t-{n}-{k}", "echo", wire_payload(payload), payload, 3, now, None)
            assert got == encode(
                f"t-{n}-{k}", "echo", wire_payload(payload), payload, 3, now, None, "client"
            )
        assert len(encoder._kinds) <= templates.MAX_KINDS
