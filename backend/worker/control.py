"""Cancel requests: the ``distritask:control`` channel, heard by every worker.

A request is also kept in the ``distritask:cancelled`` hash, which the intake checks
for each batch it reads; the channel is how a worker hears about a task it already
holds, so it can skip it (queued) or interrupt it (running).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from backend import keys
from backend.store import TaskStore
from backend.worker.outage import Outage, is_transient

log = logging.getLogger("backend.worker")


def cancel_target(data: bytes | str) -> str | None:
    """The task id a control message asks to cancel, or ``None`` if it asks nothing."""
    try:
        message = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    target = message.get("cancel") if isinstance(message, dict) else None
    return target if isinstance(target, str) and target else None


async def listen(store: TaskStore, outage: Outage, on_cancel: Callable[[str], None]) -> None:
    """Call ``on_cancel(task_id)`` for each cancel request, for ever (reconnecting)."""
    while True:
        pubsub = store.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(keys.CONTROL_CHANNEL)
            outage.ok()
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                target = cancel_target(message["data"])
                if target is None:
                    log.warning("ignoring a control message: %r", message["data"][:200])
                    continue
                on_cancel(target)
        except Exception as exc:
            if not is_transient(exc):
                raise
            await outage.failed(exc)
        finally:
            await pubsub.aclose()
