"""Settings: the original's variable names, our DISTRITASK_ knobs, flags, clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from backend.config import load_settings
from backend.errors import ConfigError


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
    from backend.config import settings_from_args

    argv = ["broker", "--log-level", "debug", "--port", "6400"]
    parser, _ = build_parser(argv)
    settings = settings_from_args(parser.parse_args(argv))
    assert (settings.log_level, settings.broker_port) == ("DEBUG", 6400)


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
