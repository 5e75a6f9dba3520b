"""``distritask submit --queue/--delay/--at`` and ``distritask schedule``, as users run them."""

from __future__ import annotations

import json
import time

import pytest
import redis

from backend import keys
from backend.cli import main
from backend.protocol import decode_task


@pytest.fixture
def env(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("REDIS_URL", redis_url)
    return redis_url


def test_submit_to_a_queue_with_a_delay(
    env: str, sync_redis: redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["submit", "--name", "noop", "--queue", "low", "--delay", "60"]) == 0
    [task_id] = capsys.readouterr().out.split()
    [(member, due)] = sync_redis.zrange(keys.due("low"), 0, -1, withscores=True)
    assert decode_task(member).id == task_id and due == pytest.approx(time.time() + 60, abs=5)
    assert main(["submit", "--name", "noop", "--at", "2000-01-01T00:00:00Z"]) == 0  # past: now
    assert sync_redis.xlen(keys.TASK_STREAM) == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--queue", "no way"], "queue name"),
        (["--delay", "-1"], "--delay"),
        (["--at", "tomorrow"], "RFC 3339"),
        (["--at", "2030-01-01T10:00:00"], "offset"),
        (["--delay", "1", "--at", "2030-01-01T10:00:00Z"], "not allowed with"),
    ],
)
def test_submit_refuses_a_bad_queue_or_time(
    env: str, args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(["submit", "--name", "noop", *args])
    except SystemExit as exc:  # argparse's own refusals
        code = int(exc.code or 0)
    assert code == 2
    assert says in capsys.readouterr().err


def test_schedule_add_list_pause_resume_rm(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedule", "add", "noop", "--cron", "*/5 * * * *", "--queue", "low"]) == 0
    schedule_id = capsys.readouterr().out.strip()
    assert main(["schedule", "list", "--json"]) == 0
    [listed] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert listed["id"] == schedule_id and listed["queue"] == "low" and listed["next_run"]
    assert main(["schedule", "pause", schedule_id]) == 0
    assert main(["schedule", "list"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("paused")
    assert main(["schedule", "resume", schedule_id]) == 0
    assert main(["schedule", "rm", schedule_id]) == 0
    assert main(["schedule", "rm", schedule_id]) == 1
    assert "no schedule" in capsys.readouterr().err
    assert main(["schedule", "add", "noop", "--every", "0.1"]) == 2
    assert "greater than or equal to 1" in capsys.readouterr().err
