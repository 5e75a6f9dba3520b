"""The index and history upkeep left for later (:data:`backend.keys.INDEX_BACKLOG`).

A submit or write of a few tasks stores and announces them and leaves their indexing
(the console's filters, the board's counts) and their history counts for later: that
upkeep cost about as much as the rest of a task's round trip. Later comes soon, and
never after anything needs it:

- every read of the indexes or the history settles the backlog first (the console's
  query and delete scripts in the same step; the board, the status counts and the
  history through :meth:`Backlog.settle`);
- the caller of a script that left upkeep settles it once the backlog holds
  :data:`~backend.scripts.upkeep.SETTLE_SOON` entries, in the background
  (:meth:`Backlog.settle_soon`): a few tasks at a time, while the task's worker or
  client is busy with its own part of the round trip, not in the middle of it;
- a script that finds :data:`~backend.scripts.upkeep.SETTLE_AT` entries settles them
  itself (when no caller did: a Go worker's writes add none), and every worker's
  housekeeping round settles what a quiet cluster left.

See :mod:`backend.scripts.upkeep` for the rules.
"""

from __future__ import annotations

import asyncio

from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from backend.scripts.upkeep import SETTLE_SOON
from backend.store import calls
from backend.store.base import Base, log


class Backlog(Base):
    """Settling the upkeep the scripts left for later."""

    _settle: AsyncScript
    _settling: asyncio.Task[None] | None

    async def settle(self) -> None:
        """Index the tasks the backlog names and count its events in the history, now
        (one script; with nothing to do, one cheap call)."""
        await calls.call(self.redis, self._settle, [self.keys.INDEX_BACKLOG], ())

    def settle_soon(self, backlog: int) -> None:
        """After a script that left upkeep for later and said the backlog's length:
        from :data:`~backend.scripts.upkeep.SETTLE_SOON` entries on, settle it in the
        background (one settle at a time; a failed one is left to the next caller)."""
        if backlog < SETTLE_SOON or (self._settling is not None and not self._settling.done()):
            return
        self._settling = asyncio.get_running_loop().create_task(self._settle_quietly())

    async def finish_settling(self, within: float = 5.0) -> None:
        """Let a background settle still running end (before the connections close),
        for at most ``within`` seconds; one that takes longer is cancelled (what it
        left is settled by the next caller)."""
        task = self._settling
        if task is None or task.done():
            return
        done, _ = await asyncio.wait([task], timeout=within)
        if not done:
            task.cancel()
            await asyncio.wait([task])

    async def _settle_quietly(self) -> None:
        try:
            await self.settle()
        except (RedisError, OSError) as exc:
            log.debug("settling the index backlog failed (left to the next caller): %s", exc)
