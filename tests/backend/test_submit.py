"""``distritask submit``: queue through Redis, print the ids, ``--wait`` for the end."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis

from backend import keys
from backend.broker import EmbeddedBroker
from backend.cli import main
from backend.protocol import TaskStatus, decode_task, make_update
from backend.state import encode_state
from backend.store import TaskStore
from tests.changes import advance
from tests.conftest import ROOT


@pytest.fixture
def env(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("REDIS_URL", redis_url)
    return redis_url


def test_prints_one_id_per_queued_task(
    env: str, sync_redis: redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["submit", "--name", "sleep", "--payload", '{"seconds": 1}', "--count", "3"])
    assert code == 0
    ids = capsys.readouterr().out.split()
    entries = sync_redis.xrange(keys.TASK_STREAM)
    tasks = [decode_task(fields[keys.TASK_FIELD.encode()]) for _, fields in entries]
    assert [t.id for t in tasks] == ids and len(ids) == 3
    assert {(t.name, str(t.payload)) for t in tasks} == {("sleep", "{'seconds': 1}")}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--payload", "{nope"], "--payload: not valid JSON"),
        (["--name", "deploy_nod"], "unknown task name 'deploy_nod'"),
        (["--count", "0"], "--count: must be a whole number"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    env: str,
    sync_redis: redis.Redis,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    says: str,
) -> None:
    assert exit_code(["submit", *args]) == 2
    assert says in capsys.readouterr().err
    assert sync_redis.xlen(keys.TASK_STREAM) == 0


def exit_code(argv: list[str]) -> int:
    """What ``distritask <argv>`` exits with (argparse errors raise SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@contextlib.asynccontextmanager
async def submitting(
    redis_url: str, count: int, *flags: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, list[str]]]:
    """``distritask submit --name noop --count COUNT --wait FLAGS`` in a process of its
    own: the process and the ids it printed. Killed at the end if it still runs."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "backend.cli", "submit", "--name", "noop", "--count", str(count), "--wait"),
        *flags,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "REDIS_URL": redis_url},
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(30):
            ids = [(await process.stdout.readline()).decode().strip() for _ in range(count)]
        yield process, ids
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_wait_shows_progress_and_fails_when_a_task_failed(
    redis_url: str, store: TaskStore
) -> None:
    async with submitting(redis_url, 3, "--timeout", "60") as (process, ids):
        for task_id, outcome in zip(ids, ["completed", "completed", "failed"], strict=True):
            state = await store.get(task_id)
            assert state is not None
            steps = enumerate((TaskStatus.PROCESSING, TaskStatus(outcome)), start=1)
            await store.record([advance(state, s, worker="w", attempt=1, seq=n) for n, s in steps])
        async with asyncio.timeout(30):
            _, err = await process.communicate()
    assert process.returncode == 1
    text = err.decode()
    assert "3/3 finished, 1 failed" in text
    assert "2 completed, 1 failed" in text


def test_submit_keeps_only_the_retained_task_states(
    env: str, sync_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISTRITASK_RETENTION", "100")
    assert main(["submit", "--name", "noop", "--count", "1500"]) == 0
    assert sync_redis.xlen(keys.TASK_STREAM) == 1500  # every task is queued
    assert sync_redis.zcard(keys.TASK_INDEX) == 100  # but only 100 states are kept
    assert sync_redis.hlen(keys.TASK_STATES) == 100


async def test_wait_reads_the_states_when_status_events_were_missed(
    redis_url: str, store: TaskStore
) -> None:
    async with submitting(redis_url, 2) as (process, ids):
        # Recorded as completed with no status event (as if pub/sub dropped them).
        for task_id in ids:
            state = await store.get(task_id)
            assert state is not None
            state.apply(make_update(task_id, TaskStatus.COMPLETED, worker="w", attempt=1, seq=1))
            await store.redis.hset(keys.TASK_STATES, task_id, encode_state(state))
        async with asyncio.timeout(30):
            _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert "2 completed" in err.decode()


def test_submit_joins_the_embedded_server_by_its_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    with EmbeddedBroker(tmp_path) as embedded:  # a password-protected server
        assert main(["submit", "--name", "noop", "--data-dir", str(tmp_path)]) == 0
        [task_id] = capsys.readouterr().out.split()
        with redis.Redis.from_url(embedded.url) as client:
            assert client.hexists(keys.TASK_STATES, task_id)
