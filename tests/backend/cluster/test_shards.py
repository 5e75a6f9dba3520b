"""Shard tags chosen from the real cluster's slot map cover every primary, are stored
once, and a resharding that leaves a primary without a shard is reported."""

from __future__ import annotations

import json
import logging

import pytest
from redis.asyncio.cluster import RedisCluster

from backend import keys, shards
from backend.shards import SlotMap


async def test_the_tags_cover_every_primary_evenly(aredis: RedisCluster) -> None:
    slots = await shards.slot_map(aredis)
    assert len(slots.primaries) == 3
    for count in (3, 6, 7):
        tags = shards.choose(slots, count)
        on = shards.placement(slots, tags)
        assert sorted(len(placed) for placed in on.values()) == sorted(
            len(range(i, count, 3)) for i in range(3)
        )
        assert len(set(tags)) == count
    naive = [f"s{n}" for n in range(6)]  # what blind tags do: not one per primary each
    assert sorted(len(p) for p in shards.placement(slots, naive).values()) != [2, 2, 2]


async def test_the_tags_are_chosen_once_and_kept(aredis: RedisCluster) -> None:
    key = keys.cluster().SHARD_TAGS
    first = await shards.shard_tags(aredis, key)
    assert len(first) == 3
    assert await shards.shard_tags(aredis, key, wanted=6) == first  # fixed at creation


async def test_a_primary_left_without_a_shard_is_reported(
    aredis: RedisCluster, caplog: pytest.LogCaptureFixture
) -> None:
    slots = await shards.slot_map(aredis)
    crowded = [
        t for t in shards.choose(slots, 6) if slots.owner(shards.slot(t)) == slots.primaries[0]
    ]
    key = keys.cluster().SHARD_TAGS
    await aredis.set(key, json.dumps(crowded))  # as if a resharding had moved the others
    with caplog.at_level(logging.WARNING, logger="backend.shards"):
        assert await shards.shard_tags(aredis, key) == crowded
    assert slots.primaries[1] in caplog.text and slots.primaries[2] in caplog.text


def test_uncovered_follows_the_slot_map() -> None:
    before = SlotMap(((0, 8191, "a:1"), (8192, 16383, "b:1")))
    tags = shards.choose(before, 2)
    assert [before.owner(shards.slot(tag)) for tag in tags] == ["a:1", "b:1"]
    assert shards.uncovered(before, tags) == []
    low, high = sorted(shards.slot(tag) for tag in tags)
    assert high - low >= 2
    # a resharding: a new primary c takes the slots between the two tags, a the rest
    after = SlotMap(((0, low, "a:1"), (low + 1, high - 1, "c:1"), (high, 16383, "a:1")))
    assert shards.uncovered(after, tags) == ["c:1"]
