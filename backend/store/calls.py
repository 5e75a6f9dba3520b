"""Calling a script with its command framed here (:func:`~backend.store.framing.command`).

Two script calls are on every task's path: the submit and the worker's write of its
outcome. Through redis-py's script call the client packs each argument on its own and
goes through its retry and reply machinery, which cost a submit of one task 360 µs of
client CPU against 280 µs this way (2-core reference machine). On one server,
:func:`call` sends the framed ``EVALSHA`` on a connection of the pool and reads the
raw reply. A script the server lacks (restarted, flushed) is loaded and the command
sent again; a broker that went away meanwhile is left to redis-py's call, which
retries as everywhere else. In a cluster, redis-py's call is used: it follows
redirections.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from backend import connection
from backend.store.framing import command


async def call(redis: Any, script: AsyncScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
    """``script``'s raw reply for ``keys`` and ``args`` (as ``script(keys, args)``)."""
    if isinstance(redis, RedisCluster):
        return await script(keys=keys, args=args)
    packed = command(["EVALSHA", script.sha, len(keys), *keys, *args])
    for loaded in (False, True):
        try:
            async with connection.dedicated(redis, keys[0]) as link:
                await link.send_packed_command(packed, check_health=False)
                return await link.read_response()
        except NoScriptError:
            if loaded:
                raise
            await redis.script_load(script.script)
        except Exception as exc:
            if not connection.is_broker_down(exc):
                raise
            return await script(keys=keys, args=args)
    raise AssertionError("unreachable")
