"""The README's client examples run as printed, against a real worker."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from backend.store import TaskStore
from tests.backend.client.conftest import StartWorker, wait_online

README = Path(__file__).resolve().parents[3] / "README.md"


def examples() -> list[str]:
    text = README.read_text()
    section = text.split("### From your application: the client", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


async def test_the_readme_examples_run(
    store: TaskStore,
    redis_url: str,
    start_worker: StartWorker,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    start_worker()
    await wait_online(store)
    monkeypatch.setenv("REDIS_URL", redis_url)
    first, second = examples()
    # the async example calls asyncio.run: run it off this test's loop
    await asyncio.to_thread(exec, compile(first, "README-async", "exec"), {})
    await asyncio.to_thread(exec, compile(second, "README-blocking", "exec"), {})
    assert capsys.readouterr().out.splitlines() == [
        "{'hello': 'world'}",
        "4950",
        "failed: RuntimeError: failed on purpose",
        "[1, 2, 3]",
        "completed",
    ]
