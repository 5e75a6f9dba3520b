"""The wire protocol: what the Go services write parses, what we write Go can read."""

from __future__ import annotations

import base64
import json

import pytest

from backend.errors import ProtocolError
from backend.protocol import (
    StatusUpdate,
    Task,
    TaskStatus,
    decode_task,
    decode_update,
    encode_task,
    encode_update,
    make_update,
)

GO_TASK_NULL = (
    b'{"id":"0b0c7f4e-5a8e-4c43-9b1f-3c1e8e7d2a10","name":"ExampleTask",'
    b'"payload":null,"status":0,"retries":0,"max_retries":0,'
    b'"created_at":"2025-01-02T15:04:05.123456789+01:00"}'
)
GO_UPDATE = (
    b'{"id": "0b0c7f4e", "status": "processing", "time": "15:04:05", '
    b'"worker": "worker-1", "message": "Allocating resources and starting execution"}'
)


def test_go_task_with_null_payload_parses() -> None:
    task = decode_task(GO_TASK_NULL)
    assert task.id == "0b0c7f4e-5a8e-4c43-9b1f-3c1e8e7d2a10"
    assert task.payload is None
    assert task.status is TaskStatus.PENDING
    assert task.handler_name == "deploy_node"
    assert task.created_at.utcoffset() is not None


def test_go_task_with_base64_payload_parses() -> None:
    payload = base64.b64encode(b'{"nodes": 3}').decode()
    task = decode_task(
        json.dumps(
            {
                "id": "a",
                "name": "ExampleTask",
                "payload": payload,
                "status": 2,
                "retries": 1,
                "max_retries": 3,
                "created_at": "2025-01-02T15:04:05Z",
            }
        )
    )
    assert task.payload == {"nodes": 3}
    assert task.status is TaskStatus.COMPLETED
    assert task.retries == 1


def test_what_we_write_carries_every_field_go_reads_with_go_types() -> None:
    wire = json.loads(encode_task(Task(name="sleep", payload={"seconds": 1})))
    assert isinstance(wire["id"], str)
    assert isinstance(wire["name"], str)
    assert json.loads(base64.b64decode(wire["payload"])) == {"seconds": 1}  # Go []byte
    assert wire["status"] == 0 and isinstance(wire["status"], int)
    assert isinstance(wire["retries"], int) and isinstance(wire["max_retries"], int)
    assert wire["created_at"].endswith("Z")  # RFC 3339, what Go's time.Time reads
    assert json.loads(encode_task(Task()))["payload"] is None


def test_task_round_trips() -> None:
    task = Task(name="sleep", payload=[1, "two", None], max_retries=5, timeout=2.5)
    assert decode_task(encode_task(task)) == task


def test_go_update_parses_without_extras() -> None:
    update = decode_update(GO_UPDATE)
    assert update.status is TaskStatus.PROCESSING
    assert update.worker == "worker-1"
    assert update.progress is None and update.order == (0, 0)


def test_our_update_carries_the_go_fields_and_extras() -> None:
    update = make_update(
        "x",
        TaskStatus.PROCESSING,
        worker="w",
        message="m",
        progress=40,
        attempt=1,
        seq=2,
        name="noop",
    )
    wire = json.loads(encode_update(update))
    assert {"id", "status", "time", "worker", "message"} <= wire.keys()
    assert wire["status"] == "processing"
    assert len(wire["time"]) == 8 and wire["time"][2] == ":"
    assert wire["progress"] == 40 and wire["seq"] == 2
    assert decode_update(encode_update(update)) == update


def test_unknown_fields_are_ignored() -> None:
    update = decode_update(b'{"id":"x","status":"completed","shiny":[1,2]}')
    assert update == StatusUpdate(id="x", status=TaskStatus.COMPLETED)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xff\xfe",
        b"null",
        b"[]",
        b"42",
        b'"text"',
        b"{}",
        b'{"id": ""}',
        b'{"id":"x","status":"exploded"}',
        b'{"id":"x","status":7}',
        b'{"id":"x","status":true}',
        b'{"id":"x","status":"completed","progress":101}',
        b'{"id": 5, "status": "pending"}',
    ],
)
def test_garbage_update_raises_one_typed_error(raw: bytes) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_update(raw)
    assert caught.value.raw == raw


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"[]",
        b'{"id":"x","status":0,"created_at":"yesterday"}',
        b'{"id":"x","max_retries":-1}',
        b'{"id":"x","name":""}',
    ],
)
def test_garbage_task_raises_one_typed_error(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_task(raw)
