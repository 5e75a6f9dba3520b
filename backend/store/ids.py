"""Stream entries as the gateway hands them out, and entry ids that name their queue.

Stream ids are only unique within one stream, so the ids of entries from a queue
other than ``default`` are handed out *qualified*: ``b"<queue>/<id>"`` (``default``'s
stay bare, as they always were; ``/`` occurs neither in a stream id nor in a queue
name). Every gateway method that takes entry ids back splits them by queue with
:func:`split`, so a worker holds entries of many queues without knowing it.
"""

from __future__ import annotations

from collections.abc import Iterable

from backend.protocol import DEFAULT_QUEUE

Entry = tuple[bytes, dict[bytes, bytes] | None]
"""A stream entry as read: its id and fields (``None`` for an entry since deleted)."""
SEPARATOR = b"/"
SHARD_SEPARATOR = b"#"


def qualify(queue: str, entry_id: bytes, shard: str | None = None) -> bytes:
    """The id a worker holds for entry ``entry_id`` of ``queue`` (in the shard of hash
    tag ``shard``, if the store is sharded)."""
    held = entry_id if queue == DEFAULT_QUEUE else queue.encode() + SEPARATOR + entry_id
    return held if shard is None else shard.encode() + SHARD_SEPARATOR + held


def shard_tag(entry_id: bytes | str) -> str | None:
    """The hash tag of the shard a held entry id names (``None``: no shard)."""
    raw = entry_id if isinstance(entry_id, bytes) else entry_id.encode()
    tag, sep, _ = raw.partition(SHARD_SEPARATOR)
    return tag.decode() if sep else None


def by_shard(entry_ids: Iterable[bytes | str]) -> dict[str | None, list[bytes]]:
    """Held entry ids grouped by the shard they name (in order within each shard)."""
    groups: dict[str | None, list[bytes]] = {}
    for entry_id in entry_ids:
        raw = entry_id if isinstance(entry_id, bytes) else entry_id.encode()
        groups.setdefault(shard_tag(raw), []).append(raw)
    return groups


def unqualify(entry_id: bytes | str) -> tuple[str, bytes]:
    """The queue and the stream id of a held entry id."""
    raw = entry_id if isinstance(entry_id, bytes) else entry_id.encode()
    raw = raw.rpartition(SHARD_SEPARATOR)[2]
    queue, sep, bare = raw.rpartition(SEPARATOR)
    return (queue.decode(), bare) if sep else (DEFAULT_QUEUE, raw)


def split(entry_ids: Iterable[bytes | str]) -> dict[str, list[bytes]]:
    """Held entry ids grouped by queue, as stream ids (in order within each queue)."""
    groups: dict[str, list[bytes]] = {}
    for entry_id in entry_ids:
        queue, bare = unqualify(entry_id)
        groups.setdefault(queue, []).append(bare)
    return groups


def qualified(queue: str, entries: Iterable[Entry], shard: str | None = None) -> list[Entry]:
    """``entries`` of ``queue`` with their ids qualified (see :func:`qualify`)."""
    if queue == DEFAULT_QUEUE and shard is None:
        return list(entries)
    return [(qualify(queue, entry_id, shard), fields) for entry_id, fields in entries]
