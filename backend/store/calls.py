"""Calling a script with its command framed here (:func:`~backend.store.framing.command`).

Two script calls are on every task's path: the submit and the worker's write of its
outcome. Through redis-py's script call the client packs each argument on its own and
goes through its retry and reply machinery, which cost a submit of one task 360 µs of
client CPU against 280 µs this way (2-core reference machine). On one server,
:func:`call` sends the framed ``EVALSHA`` on the client's shared raw link
(:func:`backend.raw_link.shared`) and awaits the raw reply; where no link can be had,
on a connection of the pool (:func:`backend.links.dedicated`). A script the server
lacks (restarted, flushed) is loaded and the command sent again; a broker that went
away meanwhile is left to redis-py's call, which retries as everywhere else. In a
cluster, redis-py's call is used: it follows redirections. :func:`call_then` sends one
more command after the script on the same connection (a submit's ``WAIT`` for
replicas), in a cluster too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from backend import connection, links, raw_link
from backend.store.framing import command


async def call(redis: Any, script: AsyncScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
    """``script``'s raw reply for ``keys`` and ``args`` (as ``script(keys, args)``)."""
    if isinstance(redis, RedisCluster):
        return await script(keys=keys, args=args)
    try:
        [reply] = await _sent(redis, script, keys, args)
    except Exception as exc:
        if not connection.is_broker_down(exc):
            raise
        return await script(keys=keys, args=args)
    return reply


async def call_then(
    redis: Any,
    script: AsyncScript,
    keys: Sequence[str],
    args: Sequence[Any],
    then: bytes,
    within: float,
) -> tuple[Any, Any]:
    """``script``'s raw reply, and that of ``then`` (a framed command sent right after it
    on the same connection, to the node that holds ``keys[0]``), read within ``within``
    seconds. Errors are raised as they come: nothing is retried."""
    reply, after = await _sent(redis, script, keys, args, then, within)
    return reply, after


async def _sent(
    redis: Any,
    script: AsyncScript,
    keys: Sequence[str],
    args: Sequence[Any],
    then: bytes = b"",
    within: float | None = None,
) -> list[Any]:
    """The replies to the framed ``EVALSHA`` (and ``then``), the script loaded first
    when the server lacks it."""
    packed = command(["EVALSHA", script.sha, len(keys), *keys, *args]) + then
    for loaded in (False, True):
        try:
            return await _exchange(redis, keys[0], packed, 2 if then else 1, within)
        except NoScriptError:
            if loaded:
                raise
            await redis.script_load(script.script)
    raise AssertionError("unreachable")


async def _exchange(
    redis: Any, key: str, packed: bytes, replies: int, within: float | None
) -> list[Any]:
    """The ``replies`` replies (1 or 2) to ``packed``, the second read within
    ``within``. One goes on the client's shared raw link; two (a script and its
    ``WAIT``, which holds its connection until the replicas answer) on a link of their
    own, so the wait holds up no one else's calls."""
    if replies == 1:
        shared = await raw_link.shared(redis)
        if shared is not None:
            [future] = shared.send(packed)
            return [await shared.reply(future)]
    else:
        async with raw_link.taken(redis) as own:
            if own is not None:
                first, last = own.send(packed, 2)
                return [await own.reply(first), await own.reply(last, within)]
    async with links.dedicated(redis, key) as link:  # a cluster's node
        await link.send_packed_command(packed, check_health=False)
        got = [await link.read_response()]
        if replies == 2:
            got.append(await link.read_response(timeout=within))
        return got
