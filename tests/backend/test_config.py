"""Settings: the original's variable names, our DISTRITASK_ knobs, flags, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from backend.config import load_settings
from backend.errors import ConfigError
from tests.conftest import Spawn, free_port
from tests.waiting import eventually_sync


def test_original_variable_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "rediss://default:secret@cache.example:6380")
    monkeypatch.setenv("PORT", "9090")
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("ALLOWED_ORIGIN", "https://distri-task.vercel.app")
    settings = load_settings()
    assert settings.redis_url == "rediss://default:secret@cache.example:6380"
    assert settings.port == 9090
    assert settings.host == "0.0.0.0"
    assert settings.allowed_origin == "https://distri-task.vercel.app"


@pytest.mark.parametrize("raw", ['"redis://h:1"', "'redis://h:1'", "  redis://h:1 "])
def test_quotes_around_redis_url_are_stripped_like_go(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("REDIS_URL", raw)
    assert load_settings().redis_url == "redis://h:1"


def test_unix_socket_url_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "unix:///run/redis.sock")
    assert load_settings().redis_url == "unix:///run/redis.sock"


def test_flags_parse_into_settings() -> None:
    from backend.cli import build_parser
    from backend.setting_flags import settings_from_args

    argv = ["broker", "--log-level", "debug", "--port", "6400"]
    parser, _ = build_parser(argv)
    settings = settings_from_args(parser.parse_args(argv))
    assert (settings.log_level, settings.broker_port) == ("DEBUG", 6400)


def test_a_million_task_states_are_kept_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13 item 10: every viewer reads only what it shows, so the default is 1M."""
    monkeypatch.delenv("DISTRITASK_RETENTION", raising=False)
    assert load_settings().retention == 1_000_000
    monkeypatch.setenv("DISTRITASK_RETENTION", "5000")
    assert load_settings().retention == 5000


def test_flags_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISTRITASK_CONCURRENCY", "7")
    assert load_settings().concurrency == 7
    assert load_settings(concurrency="9").concurrency == 9


@pytest.mark.parametrize(
    ("env", "value", "named"),
    [
        ("REDIS_URL", "http://h:1", "REDIS_URL"),
        ("PORT", "eighty", "PORT"),
        ("DISTRITASK_CONCURRENCY", "0", "DISTRITASK_CONCURRENCY"),
        ("DISTRITASK_LOG_LEVEL", "loud", "DISTRITASK_LOG_LEVEL"),
    ],
)
def test_bad_value_names_the_setting_and_the_value(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, named: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.setting == named
    assert value.lower() in str(caught.value).lower()


def test_bad_value_exits_2_with_one_line_not_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "broker", "--port", "99999"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "distritask: invalid setting --port='99999': Input should be less than or equal to 65535"
    ]


def _distritask(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_an_empty_api_token_exits_2_naming_the_setting() -> None:
    result = _distritask("manager", env={"DISTRITASK_API_TOKEN": ""})
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("distritask: invalid setting DISTRITASK_API_TOKEN=''")
    assert "turn the token check off" in line


def test_a_bad_url_never_shows_its_password() -> None:
    result = _distritask("submit", env={"REDIS_URL": "http://admin:hunter2@cache.example:6379/0"})
    assert result.returncode == 2
    assert "hunter2" not in result.stderr + result.stdout
    assert "REDIS_URL='http://***@cache.example:6379/0'" in result.stderr
    secret = _distritask("manager", "--api-token", " ", env={})
    assert secret.returncode == 2 and "--api-token" in secret.stderr


def test_the_manager_takes_its_token_from_the_api_token_flag(spawn: Spawn) -> None:
    port = free_port()
    spawn("manager", "--port", str(port), "--api-token", "s3cret")
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(base + "/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    eventually_sync(answers, within=30, what="the manager to answer")
    assert httpx.post(base + "/submit").status_code == 401
    good = {"Authorization": "Bearer s3cret"}
    assert httpx.post(base + "/submit", headers=good).status_code == 200
