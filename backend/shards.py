"""The shards of one logical queue in a cluster: their hash tags, chosen from the
cluster's slot map so the shards cover every primary (issue 15, item 2).

A tag picked blindly does not spread: ``{s0}``..``{s5}`` put four of six shards on one
node in a trial. :func:`choose` walks candidate tags (``dt:0``, ``dt:1``, ...) and gives
shard ``i`` the first one whose slot the ``i % P``-th primary owns (primaries in slot
order), so ``N`` shards land ``N / P`` per primary. The tags are chosen once, when the
queue is first created, and stored (:func:`shard_tags`: the count is fixed from then on,
so every process agrees where a task lives); after a resharding the stored tags are
checked against the new slot map and a primary left without a shard is reported.

The store spreads one logical queue over these shards
(:class:`backend.store.sharded.ShardedStore`: a task lives in shard ``crc32(id) % N``);
``DISTRITASK_SHARDS`` is ``wanted`` (0: one per primary), read only when the tags are
first chosen. See README, "Scaling out".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.crc import key_slot

from backend import connection, keys
from backend.config import load_settings
from backend.keys import Layout
from backend.store.base import text

log = logging.getLogger(__name__)

TAG_PREFIX = "dt:"
MAX_CANDIDATES = 100_000
"""Candidate tags tried before giving up on a primary (one owning a single slot needs
about 16,384)."""


def slot(tag: str) -> int:
    """The hash slot of every key under the hash tag ``{tag}``."""
    return int(key_slot(("{" + tag + "}").encode()))


@dataclass(frozen=True)
class SlotMap:
    """Which primary owns which slots: ``(first, last, primary)`` ranges, primaries
    named ``host:port``."""

    ranges: tuple[tuple[int, int, str], ...]

    @property
    def primaries(self) -> list[str]:
        """Every primary that owns slots, in the order of its first slot."""
        seen: list[str] = []
        for _, _, primary in sorted(self.ranges):
            if primary not in seen:
                seen.append(primary)
        return seen

    def owner(self, slot_number: int) -> str | None:
        for first, last, primary in self.ranges:
            if first <= slot_number <= last:
                return primary
        return None


def choose(slots: SlotMap, count: int) -> list[str]:
    """``count`` tags, shard ``i`` on the ``i % P``-th primary (round robin)."""
    primaries = slots.primaries
    if not primaries:
        raise ValueError("the cluster has no primary that owns slots")
    found: dict[str, list[str]] = {primary: [] for primary in primaries}
    candidates = (f"{TAG_PREFIX}{n}" for n in range(MAX_CANDIDATES))
    tags = []
    for i in range(count):
        target = primaries[i % len(primaries)]
        while not found[target]:  # try candidates until the target owns one
            tag = next(candidates, None)
            if tag is None:
                raise ValueError(f"no tag for {target} within {MAX_CANDIDATES} candidates")
            owner = slots.owner(slot(tag))
            if owner is not None:
                found[owner].append(tag)
        tags.append(found[target].pop(0))
    return tags


def placement(slots: SlotMap, tags: Sequence[str]) -> dict[str, list[str]]:
    """The tags on each primary (every primary listed, a tag of no owner left out)."""
    placed: dict[str, list[str]] = {primary: [] for primary in slots.primaries}
    for tag in tags:
        owner = slots.owner(slot(tag))
        if owner is not None:
            placed[owner].append(tag)
    return placed


def uncovered(slots: SlotMap, tags: Sequence[str]) -> list[str]:
    """The primaries that hold no shard (after a resharding moved their slots)."""
    return [primary for primary, on in placement(slots, tags).items() if not on]


def parse_slots(reply: Any) -> SlotMap:
    """A :class:`SlotMap` from a ``CLUSTER SLOTS`` reply."""
    ranges = []
    for entry in reply:
        first, last, primary = int(entry[0]), int(entry[1]), entry[2]
        ranges.append((first, last, f"{text(primary[0])}:{int(primary[1])}"))
    return SlotMap(tuple(sorted(ranges)))


async def slot_map(redis: Any) -> SlotMap:
    """The slot map as a cluster node tells it (``redis``: a ``RedisCluster``)."""
    await redis.initialize()
    return parse_slots(
        await redis.execute_command("CLUSTER", "SLOTS", target_nodes=redis.get_random_node())
    )


async def shard_tags(redis: Any, key: str, wanted: int = 0) -> list[str]:
    """The queue's shard tags, stored in ``key`` (a string holding a JSON list): chosen
    now for ``wanted`` shards (0: one per primary) if none are stored, else the stored
    ones (whatever ``wanted`` says: the count is fixed when the queue is created), with
    a warning naming any primary a resharding left without a shard."""
    slots = await slot_map(redis)
    stored = await redis.get(key)
    if stored is None:
        fresh = choose(slots, wanted or len(slots.primaries))
        await redis.set(key, json.dumps(fresh), nx=True)  # another process may be first
        stored = await redis.get(key)
    tags: list[str] = json.loads(stored)
    if wanted and wanted != len(tags):
        log.warning(
            "the queue has %d shard(s), fixed when it was created; not %d", len(tags), wanted
        )
    empty = uncovered(slots, tags) if len(tags) > 1 else []  # one shard covers one
    if empty:
        log.warning(
            "after a resharding, primar%s %s hold%s no shard of the queue",
            "y" if len(empty) == 1 else "ies",
            ", ".join(empty),
            "s" if len(empty) == 1 else "",
        )
    return tags


async def resolve_tags(redis: Any, home: Layout, wanted: int) -> list[str]:
    """The queue's stored shard tags (:func:`shard_tags` under ``home``'s key); chosen now
    if none are (``wanted``: the count, 0 for one per primary; 1 keeps every key under
    the home tag, as an unsharded cluster layout)."""
    if wanted == 1 and await redis.get(home.SHARD_TAGS) is None:
        await redis.set(home.SHARD_TAGS, json.dumps([home.tag]), nx=True)
    return await shard_tags(redis, home.SHARD_TAGS, wanted)


async def update_layouts(redis: Any) -> list[Layout]:
    """The layouts whose status channels carry the queue's updates, for a client with no
    store: in a cluster, each shard's (the tags as stored, or chosen now by the
    ``DISTRITASK_SHARDS`` setting); on one server, the standalone layout."""
    home = connection.layout(redis)
    if not home.cluster:
        return [home]
    tags = await resolve_tags(redis, home, load_settings().shards)
    return [keys.cluster(tag, classic_updates=home.classic_updates) for tag in tags]
