"""``rediss://``: every part speaks TLS to a broker that asks for it, against the real
server behind a real TLS handshake (tests/tls_fixtures.py), and an untrusted certificate
is reported as a TLS problem, not as a refused or lost connection."""

from __future__ import annotations

import json
import ssl

import pytest
import redis.asyncio as aioredis

from backend.client import Client
from backend.connection import client, is_broker_down
from backend.store import TaskStore
from tests.backend.client.conftest import TASKS, wait_online
from tests.backend.client.test_submit_json import submit
from tests.conftest import Spawn
from tests.tls_fixtures import TlsServer, tls_server

assert tls_server  # a fixture, imported to be used here

FAST = {"DISTRITASK_RETRY_BACKOFF": "0.05", "DISTRITASK_HEARTBEAT_TTL": "2"}


async def test_a_worker_and_the_client_work_through_tls(
    tls_server: TlsServer, spawn: Spawn
) -> None:
    spawn("worker", "--tasks", TASKS, env={**FAST, "REDIS_URL": tls_server.url})
    redis = client(tls_server.url)
    try:
        await wait_online(TaskStore(redis))
    finally:
        await redis.aclose()
    async with Client(tls_server.url) as tasks:
        task_id = await tasks.submit("echo", {"over": "tls"})
        assert await tasks.result(task_id, timeout=20) == {"over": "tls"}


def test_distritask_submit_waits_through_tls(tls_server: TlsServer, spawn: Spawn) -> None:
    spawn("worker", "--tasks", TASKS, env={**FAST, "REDIS_URL": tls_server.url})
    done = submit(tls_server.url, "--name", "echo", "--payload", '"hi"', "--wait", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"] == "hi"


async def test_an_untrusted_certificate_fails_the_handshake_saying_so(
    tls_server: TlsServer,
) -> None:
    redis: aioredis.Redis = client(tls_server.untrusted_url)
    try:
        with pytest.raises(Exception) as raised:
            await redis.ping()
    finally:
        await redis.aclose()
    chain: list[BaseException] = []
    current: BaseException | None = raised.value
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    assert any(isinstance(exc, ssl.SSLCertVerificationError) for exc in chain) or (
        "certificate verify failed" in str(raised.value)
    )
    assert is_broker_down(raised.value)  # the parts wait and retry, logging why
