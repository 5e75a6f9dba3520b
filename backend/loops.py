"""The event loop a long-running part runs on: uvloop where it is installed, asyncio's
own elsewhere.

uvloop (an asyncio loop over libuv) is a dependency on Linux and macOS. A worker
that runs on it spends about a quarter less CPU per task, which matters most for an
idle worker's latency, where every turn of the loop is on the path from submit to
result. The manager gets it from uvicorn, which picks uvloop by itself when it is
installed, and :class:`~backend.client.BlockingClient` runs its private loop on it.
On Windows, or without uvloop, the standard loop runs the same code. (An application
using the asyncio :class:`~backend.client.Client` chooses its own loop; ``distritask
bench`` measures ``result()`` on both.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def _factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to its end on a new loop (as ``asyncio.run``), uvloop's if installed."""
    with asyncio.Runner(loop_factory=_factory()) as runner:
        return runner.run(main)


def new_loop() -> asyncio.AbstractEventLoop:
    """A new event loop, uvloop's if installed."""
    factory = _factory()
    return asyncio.new_event_loop() if factory is None else factory()


def kind() -> str:
    """The loop this process would run on: ``"uvloop"`` or ``"asyncio"``."""
    return "asyncio" if _factory() is None else "uvloop"
