"""What every part of the gateway shares: the clients, the retention and small decoders."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import redis.asyncio as aioredis

from backend.errors import ProtocolError
from backend.keys import Layout
from backend.scripts import Scripts

log = logging.getLogger("backend.store")
T = TypeVar("T")


class Base:
    """The attributes the gateway's parts use (set by :class:`~backend.store.TaskStore`)."""

    redis: aioredis.Redis
    """Commands: every read and write."""
    listener: aioredis.Redis
    """Subscriptions (a client with no socket timeout, or :attr:`redis` itself)."""
    retention: int
    """Task states to keep (the oldest beyond it are trimmed)."""
    replicas: int
    """Replicas each submit waits for (0: none)."""
    replicas_timeout: float
    """Seconds a submit waits for them."""
    keys: Layout
    """The name of every key (the layout of the server :attr:`redis` talks to)."""
    scripts: Scripts
    """The Lua scripts' texts for :attr:`keys`."""
    shard: str | None
    """The hash tag of the shard this store is (of a sharded cluster store, which names
    it in the entry ids it hands out: :mod:`backend.store.ids`); ``None`` otherwise."""


def decoded(raws: Iterable[Any], decode: Callable[[Any], T], what: str) -> list[T]:
    """Each record decoded; one that does not parse is logged and skipped."""
    result = []
    for raw in raws:
        try:
            result.append(decode(raw))
        except ProtocolError as exc:
            log.warning("skipping a recorded %s: %s", what, exc)
    return result


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
