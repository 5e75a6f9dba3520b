"""The one submit policy: names, default retries and which states may be retried.

The manager, ``distritask submit`` and the panel all use it; the manager's and the
panel's paths are checked in tests/backend/manager/test_submit_policy.py and
tests/gui/test_submit_policy.py, ``distritask submit``'s here.
"""

from __future__ import annotations

import pytest
import redis

from backend import keys
from backend.cli import main
from backend.config import load_settings
from backend.policy import MAX_NAME, SubmitPolicy, SubmitRefused, retry_problem
from backend.protocol import TaskStatus, decode_task

LONGEST = "n" * MAX_NAME


def test_names_up_to_the_longest_are_accepted_and_no_longer() -> None:
    policy = SubmitPolicy(allowed_tasks=["*"])
    assert MAX_NAME == 100
    assert policy.problem(LONGEST) is None
    assert "at most 100 characters" in str(policy.problem(LONGEST + "n"))
    with pytest.raises(SubmitRefused, match="unknown task name 'deploy_nod'"):
        SubmitPolicy().tasks("deploy_nod")


def test_default_retries_come_from_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISTRITASK_MAX_RETRIES", "7")
    policy = SubmitPolicy.from_settings(load_settings())
    assert [t.max_retries for t in policy.tasks("noop", count=2)] == [7, 7]
    assert policy.tasks("noop", max_retries=0)[0].max_retries == 0


@pytest.mark.parametrize("status", list(TaskStatus))
def test_only_failed_or_cancelled_tasks_may_be_retried(status: TaskStatus) -> None:
    problem = retry_problem("t1", status)
    if status in (TaskStatus.FAILED, TaskStatus.CANCELLED):
        assert problem is None
    else:
        assert problem == (
            f"task t1 is {status.value}; only failed or cancelled tasks can be retried"
        )


def test_submit_command_follows_the_policy(
    redis_url: str,
    sync_redis: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("DISTRITASK_MAX_RETRIES", "7")
    monkeypatch.setenv("DISTRITASK_ALLOWED_TASKS", "*")
    assert main(["submit", "--name", LONGEST + "n"]) == 2
    assert "at most 100 characters" in capsys.readouterr().err
    assert main(["submit", "--name", LONGEST]) == 0
    [(_, fields)] = sync_redis.xrange(keys.TASK_STREAM)
    task = decode_task(fields[keys.TASK_FIELD.encode()])
    assert (task.name, task.max_retries) == (LONGEST, 7)
