"""Sending a command without starting a task for it (redis-py on Python 3.11).

redis-py bounds each send by the socket timeout with ``asyncio.wait_for``, which on
Python 3.11 wraps the send in a new task: two more turns of the event loop for every
command, about 50 µs a command on this project's 2-core reference machine (a PING
takes 85 µs without it, 140 µs with it). :func:`quicken` swaps a client's connection
class for a subclass that bounds the same send with ``asyncio.timeout`` instead (no
task). The timeout, the errors raised and the disconnect on failure are redis-py's
own. From Python 3.12 on, ``wait_for`` starts no task and nothing is swapped.
"""

from __future__ import annotations

import asyncio
import sys
from functools import cache
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import TimeoutError as RedisTimeoutError

NEEDED = sys.version_info < (3, 12)


@cache
def quick(cls: type[AbstractConnection]) -> type[AbstractConnection]:
    """``cls`` with sends bounded by ``asyncio.timeout`` (made once per class)."""
    if issubclass(cls, QuickSend):
        return cls
    return type(f"Quick{cls.__name__}", (QuickSend, cls), {})


class QuickSend:
    """A connection mix-in: see the module's docstring."""

    socket_timeout: float | None

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        timeout = self.socket_timeout
        send = super().send_packed_command  # type: ignore[misc]
        if not timeout:
            await send(command, check_health)
            return
        # Within the send, redis-py sees no socket timeout (so it starts no task); the
        # whole send, a health check or a reconnect included, is bounded here instead.
        self.socket_timeout = None
        try:
            async with asyncio.timeout(timeout):
                await send(command, check_health)
        except TimeoutError:
            # redis-py disconnected when the send was interrupted, as it does for its own
            raise RedisTimeoutError("Timeout writing to socket") from None
        finally:
            self.socket_timeout = timeout


def quicken(client: Any) -> None:
    """Give ``client`` (a single-server, Sentinel or cluster asyncio client) connections
    that send without a task per command (on Python 3.11; nothing on later versions)."""
    if not NEEDED:
        return
    if isinstance(client, RedisCluster):
        manager = client.nodes_manager
        kind = manager.connection_kwargs.get("connection_class")
        if kind is not None:
            manager.connection_kwargs["connection_class"] = quick(kind)
        for node in manager.startup_nodes.values():
            node.connection_class = quick(node.connection_class)
        return
    pool = client.connection_pool
    pool.connection_class = quick(pool.connection_class)
