"""The index and history upkeep left for later (:data:`backend.keys.INDEX_BACKLOG`).

A submit or write of a few tasks stores and announces them and leaves their indexing
(the console's filters, the board's counts) and their history counts for later: that
upkeep cost about as much as the rest of a task's round trip. Later comes soon, and
never after anything needs it:

- every read of the indexes or the history settles the backlog first (the console's
  query and delete scripts in the same step; the board, the status counts and the
  history through :meth:`Backlog.settle`);
- a worker, once its write is done, settles a chunk of it in the background from
  :data:`~backend.scripts.upkeep.SETTLE_SOON` entries on
  (:meth:`Backlog.settle_soon`): while the task's client is busy with the result, not
  in the middle of a round trip, and a few hundred µs at a time;
- a submitter settles all of it from :data:`~backend.scripts.upkeep.SETTLE_SUBMITTED`
  entries (when no worker writes), a script that finds
  :data:`~backend.scripts.upkeep.SETTLE_AT` settles them itself (when no caller did: a
  Go worker's writes add none), and every worker's housekeeping round settles what a
  quiet cluster left.

See :mod:`backend.scripts.upkeep` for the rules.
"""

from __future__ import annotations

import asyncio

from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from backend.store import calls
from backend.store.base import Base, log


class Backlog(Base):
    """Settling the upkeep the scripts left for later."""

    _settle: AsyncScript
    _settling: asyncio.Task[None] | None

    async def settle(self, most: int = 0) -> int:
        """Index the tasks the backlog names and count its events in the history, now:
        the oldest ``most`` entries (0: all). How many there were (one script; with
        nothing to do, one cheap call)."""
        return int(await calls.call(self.redis, self._settle, [self.keys.INDEX_BACKLOG], [most]))

    def settle_soon(self, backlog: int, *, at: int, most: int = 0) -> None:
        """After a script that left upkeep for later and said the backlog's length:
        from ``at`` entries on, settle ``most`` of them (0: all) in the background (one
        settle at a time; a failed one is left to the next caller)."""
        if backlog < at or (self._settling is not None and not self._settling.done()):
            return
        self._settling = asyncio.get_running_loop().create_task(self._settle_quietly(most))

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

    async def _settle_quietly(self, most: int) -> None:
        try:
            await self.settle(most)
        except (RedisError, OSError) as exc:
            log.debug("settling the index backlog failed (left to the next caller): %s", exc)
