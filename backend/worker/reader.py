"""Reading the task stream into the local queue, as far as there is room.

A worker holds up to :attr:`~backend.worker.prefetch.Prefetch.window` entries (queued
plus running); the reader reads (XREADGROUP >) when at least
:attr:`~backend.worker.prefetch.Prefetch.read_threshold` places are free, and waits
for a slot to finish otherwise. Entries go through the
:class:`~backend.worker.intake.Intake` (parsed, poison dead-lettered, resumed) into the
:class:`~backend.worker.slots.Slots`' queue.

When a read fails because the broker went away (or any loop saw an outage: the
client retries a read by itself), the server may have delivered
entries whose reply was lost: they are pending under this worker's name but not
held. Once the broker answers, the reader reads them again (XREADGROUP 0), instead
of leaving them until ``claim_idle`` passes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from redis.exceptions import RedisError

from backend.connection import is_broker_down
from backend.outage import Outage, keep_running
from backend.protocol import DEFAULT_QUEUE
from backend.store import Entry, TaskStore
from backend.worker.intake import Intake
from backend.worker.outbox import Outbox
from backend.worker.prefetch import PREFETCH_MAX, Prefetch
from backend.worker.slots import Slots

log = logging.getLogger("backend.worker")

READ_BLOCK_MS = 1000


async def _let_run() -> None:
    """Yield twice: the slots start the job just queued, then the outbox sends its
    outcome if it ended at once, before the next read is sent (an idle worker's quick
    task is answered one send sooner). Not after a larger read: slots run quick jobs
    back to back for a while, and the next read must not wait for them."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)


class Reader:
    """Fills the local queue from the stream for the consumer ``name``."""

    def __init__(
        self,
        store: TaskStore,
        outage: Outage,
        intake: Intake,
        slots: Slots,
        outbox: Outbox,
        prefetch: Prefetch,
        name: str,
        queues: Sequence[str] = (DEFAULT_QUEUE,),
    ) -> None:
        self.store = store
        self.outage = outage
        self.intake = intake
        self.slots = slots
        self.outbox = outbox
        self.prefetch = prefetch
        self.name = name
        self.queues = list(queues)
        """The queues to read, in strict priority order (see :mod:`backend.store.queues`)."""
        self._room_freed = asyncio.Event()

    def room(self) -> int:
        return self.prefetch.window - len(self.slots.queue) - len(self.slots.running)

    def held(self) -> list[bytes]:
        """Entries this worker must keep from being reclaimed. Called from the keeper's
        thread too: each container is copied by one ``list()`` call, which does not let
        other threads run in between."""
        slots = self.slots
        queued, running = list(slots.queue), list(slots.running)
        unacked = list(self.outbox.unacked)
        return [*(job.entry_id for job in queued), *running, *unacked]

    def ran(self) -> None:
        """A slot is free again: wake the reader if there is room enough to read."""
        if self.room() >= self.prefetch.read_threshold:
            self._room_freed.set()

    def wake(self) -> None:
        """Wake the reader (to notice a stop)."""
        self._room_freed.set()

    async def end_read(self) -> None:
        """End the blocking read in progress now, not when its block runs out (up to
        a second later): a stop goes on at once. Best effort: where the server
        refuses (``CLIENT UNBLOCK`` not allowed) or is away, the read ends by
        itself."""
        try:
            await self.store.wake_reads()
        except (RedisError, OSError) as exc:
            log.debug("could not end the blocking read early: %s", exc)

    async def resume_own(self) -> None:
        """Entries delivered to this consumer name before (a restart with ``--name``)."""
        entries = await self.outage.persist(
            lambda: self.store.read_own(self.name, PREFETCH_MAX, self.queues)
        )
        if entries:
            log.info("resuming %d task(s) left pending under this name", len(entries))
            await self.accept(entries, reclaimed=True)

    async def _recover_lost(self) -> None:
        """Entries delivered while a reply was lost: never seen by this process, so
        first deliveries."""
        entries = await self.store.read_own(self.name, PREFETCH_MAX, self.queues)
        mine = set(self.held())
        lost = [entry for entry in entries if entry[0] not in mine]
        if lost:
            log.info("reading again %d task(s) whose delivery the outage cut off", len(lost))
            await self.accept(lost, reclaimed=False)

    async def read_loop(self, stopping: asyncio.Event) -> None:
        """Read while there is room, until ``stopping`` is set."""
        read_failed = False
        outages = self.outage.outages

        async def round() -> None:
            nonlocal read_failed, outages
            if read_failed or outages != self.outage.outages:
                # a reply may have been lost (the client retries a read by itself)
                seen = self.outage.outages
                await self._recover_lost()
                read_failed, outages = False, seen
            room = self.room()
            if room < self.prefetch.read_threshold:
                self._room_freed.clear()
                await self._room_freed.wait()
                return
            try:
                entries = await self.store.read_first(self.name, self.queues, room, READ_BLOCK_MS)
            except Exception as exc:
                read_failed = is_broker_down(exc)
                raise
            if entries:
                await self.accept(entries, reclaimed=False)
                if len(entries) == 1:  # an idle worker woken by one task
                    await _let_run()

        await keep_running(round, self.outage, name="the reader", until=stopping)

    async def accept(
        self,
        entries: Sequence[Entry],
        *,
        reclaimed: bool,
        deliveries: Mapping[bytes, int] | None = None,
    ) -> None:
        """Prepare ``entries`` and queue the jobs that are to run."""
        if reclaimed:
            mine = set(self.held())
            entries = [entry for entry in entries if entry[0] not in mine]
        jobs = await self.intake.prepare(entries, reclaimed=reclaimed, deliveries=deliveries)
        if jobs:
            now = asyncio.get_running_loop().time()
            for job in jobs:
                job.queued = now
            self.slots.add(jobs)
