"""The handler registry and the built-in handlers."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from backend.errors import ConfigError
from backend.handlers import Registry, TaskContext, load_modules, registry, task


def _context(payload: object = None) -> tuple[TaskContext, list[tuple[int, str]]]:
    reports: list[tuple[int, str]] = []
    ctx = TaskContext("t-1", payload, attempt=1, name="x")
    ctx._sink = lambda pct, message: reports.append((pct, message))
    return ctx, reports


def test_builtins_are_registered() -> None:
    assert {"deploy_node", "noop", "sleep", "fail"} <= set(registry.names())


def test_decorator_registers_under_a_name_or_the_function_name() -> None:
    @task("test-resize")
    async def resize(ctx: TaskContext) -> None: ...

    @task
    def test_bare_name(ctx: TaskContext) -> None: ...

    handler = registry.get("test-resize")
    assert handler is not None and handler.func is resize and handler.is_async
    plain = registry.get("test_bare_name")
    assert plain is not None and not plain.is_async


async def test_plain_handlers_run_off_the_event_loop() -> None:
    local = Registry()
    seen: list[bool] = []
    local.register(
        "where", lambda ctx: seen.append(threading.current_thread() is threading.main_thread())
    )
    handler = local.get("where")
    assert handler is not None
    await handler(_context()[0])
    assert seen == [False]


def test_progress_is_clamped_to_0_100() -> None:
    ctx, reports = _context()
    ctx.progress(150, "over")
    ctx.progress(-3, "under")
    ctx.progress(42.7, "fraction")
    assert reports == [(100, "over"), (0, "under"), (42, "fraction")]


async def test_deploy_node_reports_the_originals_steps_in_order() -> None:
    ctx, reports = _context({"seconds": 0})
    handler = registry.get("deploy_node")
    assert handler is not None
    await handler(ctx)
    assert reports[0] == (15, "Allocating resources and starting execution")
    assert (40, "Analyzing task payload and optimizing") in reports
    assert [pct for pct, _ in reports] == sorted(pct for pct, _ in reports)


@pytest.mark.parametrize("payload", [{"seconds": "soon"}, -1, {"seconds": True}])
async def test_sleep_rejects_a_bad_payload(payload: object) -> None:
    handler = registry.get("sleep")
    assert handler is not None
    with pytest.raises(ValueError, match="seconds must be a number"):
        await handler(_context(payload)[0])


async def test_fail_raises_with_the_payload_message() -> None:
    handler = registry.get("fail")
    assert handler is not None
    with pytest.raises(RuntimeError, match="disk full"):
        await handler(_context({"message": "disk full"})[0])


def test_an_unimportable_tasks_module_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"--tasks='no\.such\.module'"):
        load_modules(["no.such.module"])


def test_importing_the_worker_registers_nothing() -> None:
    code = (
        "import backend.worker.runtime, backend.handlers as h;"
        "print(sorted(h.registry._handlers)); print(h.registry.names())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    assert out[0] == "[]"
    assert out[1] == "['deploy_node', 'echo', 'fail', 'noop', 'sleep']"


def test_a_user_handler_takes_a_builtin_name_over_the_builtin() -> None:
    local = Registry(builtins=True)

    def mine(ctx: TaskContext) -> None: ...

    local.register("noop", mine)
    handler = local.get("noop")
    assert handler is not None and handler.func is mine
    assert Registry().get("noop") is None


async def test_echo_returns_its_payload() -> None:
    echo = Registry(builtins=True).get("echo")
    assert echo is not None
    assert await echo(TaskContext("t", {"a": [1, 2]})) == {"a": [1, 2]}
