"""Every Redis key, stream, group and channel name Distritask uses.

The first three are the original Go services' names and must not change: they are
what keeps a Go manager, Go workers and the Go dashboard interoperable with ours.
Everything else lives under the ``distritask:`` prefix.
"""

from __future__ import annotations

# -- shared with the original Go services ------------------------------------------
TASK_STREAM = "task_stream"
"""Stream of queued tasks; each entry has one field, ``task_data`` (JSON)."""
TASK_FIELD = "task_data"
WORKER_GROUP = "worker_group"
"""Consumer group every worker reads ``TASK_STREAM`` through."""
UPDATES_CHANNEL = "task_updates"
"""Pub/sub channel of status updates (JSON)."""

# -- ours ---------------------------------------------------------------------------
PREFIX = "distritask:"

TASK_STATES = PREFIX + "tasks"
"""Hash: task id -> JSON of the task's current state (for late joiners)."""
TASK_INDEX = PREFIX + "index"
"""Sorted set: task id scored by creation time; bounds the retention of states."""
COUNTERS = PREFIX + "counters"
"""Hash of totals: submitted, completed, failed, cancelled, retried, dead."""

WORKERS = PREFIX + "workers"
"""Hash: worker name -> JSON of its last heartbeat (kept after it goes offline)."""
WORKER_ALIVE_PREFIX = PREFIX + "alive:"
"""String per worker with a TTL: present while the worker is alive."""
SEEN_WORKERS = PREFIX + "seen"
"""Hash: name of a worker with no heartbeat (a Go worker) -> epoch seconds of its
newest status update."""

RETRY_SCHEDULE = PREFIX + "retry"
"""Sorted set: task JSON scored by the epoch time it is due (a retry or a delayed
task) for the ``default`` queue; other queues have their own (:func:`due`)."""
QUEUES = PREFIX + "queues"
"""Set: the name of every queue tasks were submitted to or workers read."""
PAUSED_QUEUES = PREFIX + "paused"
"""Set: names of the queues workers do not take from (survives restarts)."""
QUEUE_PREFIX = PREFIX + "queue:"
DUE_PREFIX = PREFIX + "due:"
SCHEDULED_CHANNEL = PREFIX + "scheduled"
"""Pub/sub channel: the epoch time of a new schedule entry (wakes the promoters)."""
SCHEDULES = PREFIX + "schedules"
"""Hash: schedule id -> JSON of a periodic task's :class:`~backend.schedules.Schedule`."""
SCHEDULE_TIMES = PREFIX + "schedule-times"
"""Sorted set: id of each running (not paused) schedule, scored by its next tick."""
TICK_PREFIX = PREFIX + "tick:"
DEAD_LETTERS = PREFIX + "dead"
"""Stream of tasks that could not be run: fields ``id``, ``task_data``, ``error``, ``worker``."""
CANCELLED = PREFIX + "cancelled"
"""Hash: task id -> epoch time a cancel was requested."""
CONTROL_CHANNEL = PREFIX + "control"
"""Pub/sub channel of control messages to workers (cancel requests, drain, stop)."""
FORGOTTEN_CHANNEL = PREFIX + "forgotten"
"""Pub/sub channel of :class:`~backend.protocol.Forgotten` notices: the ids of tasks a
user deleted, so every viewer drops them (``task_updates`` keeps the Go format)."""
SHARD_TAGS = PREFIX + "shards"
"""String (a cluster only): JSON list of the hash tags of the queue's shards, chosen once
(:func:`backend.shards.shard_tags`)."""
WORKER_ORDER_PREFIX = PREFIX + "order:"
"""String ``order:<worker>``: the last drain/stop order sent to it, for a minute, so a
worker that was resubscribing when it was announced still finds it."""


def worker_alive(name: str) -> str:
    return WORKER_ALIVE_PREFIX + name


def worker_order(name: str) -> str:
    return WORKER_ORDER_PREFIX + name


# -- indexes over the retained task states (the console's filters) ---------------------
INDEX_PREFIX = PREFIX + "ix:"
"""Sorted sets ``ix:<field>:<value>`` (field: status, name, queue, worker): the ids of
the retained tasks with that value, scored by creation time. Built by the scripts."""
INDEX_META = INDEX_PREFIX + "meta"
"""Hash: task id -> its indexed ``status, worker, name, queue`` (tab-separated)."""
INDEX_IDS = INDEX_PREFIX + "ids"
"""Sorted set: every retained task id with score 0, for id-prefix search (BYLEX)."""
INDEX_FINISHED = INDEX_PREFIX + "finished"
"""Sorted set: finished task ids scored by the time they finished."""
INDEX_DURATION = INDEX_PREFIX + "duration"
"""Sorted set: finished task ids scored by their duration (finished - created)."""
INDEX_TEMP_PREFIX = INDEX_PREFIX + "tmp:"
"""Scratch sorted sets one query builds and deletes (the script that makes one drops it)."""
INDEX_BACKLOG = INDEX_PREFIX + "backlog"
"""List: the index and history upkeep a script stored a few tasks without, for later: an
entry per task and event (a code letter, then the id). Whatever reads the indexes or
the history settles it first (see :mod:`backend.scripts.upkeep`)."""
INDEX_FIELDS = ("status", "name", "queue", "worker")


def index(field: str, value: str) -> str:
    """The sorted set of the tasks whose ``field`` is ``value``."""
    return f"{INDEX_PREFIX}{field}:{value}"


# -- per-minute history (see backend.history) -------------------------------------------
MINUTE_PREFIX = PREFIX + "minute:"
"""Hash per minute ``minute:<epoch minute>`` (kept 7 days): counts of submitted,
completed, failed and retried tasks, per queue (``q:<queue>:<what>``) and per task name
(``n:<name>:<what>``), and a latency histogram (``l:<bucket>``, ``lms``: the sum in ms)."""


def minute(epoch_minute: int) -> str:
    """The history hash of the minute starting at ``epoch_minute * 60``."""
    return f"{MINUTE_PREFIX}{epoch_minute}"


def stream(queue: str) -> str:
    """The stream of a named queue: ``task_stream`` for ``default`` (the Go services'),
    ``distritask:queue:<name>`` for the others. Every queue's group is ``WORKER_GROUP``."""
    return TASK_STREAM if queue == "default" else QUEUE_PREFIX + queue


def due(queue: str) -> str:
    """The sorted set of a queue's delayed tasks and retries, scored by due time."""
    return RETRY_SCHEDULE if queue == "default" else DUE_PREFIX + queue


def tick(schedule_id: str, tick: float) -> str:
    """String set (NX, with an expiry) by the one scheduler that runs this tick."""
    return f"{TICK_PREFIX}{schedule_id}:{round(tick * 1000)}"


# -- layouts: where the keys live ---------------------------------------------------------
CLUSTER_TAG = "dt"
"""The hash tag of every key in a cluster layout (all of them in one slot, so each script
and transaction stays on one node)."""


class Layout:
    """The names of every key, for one kind of server: the module's names above (the
    standalone layout, :data:`STANDALONE`: exactly the Go services' and today's), or, in
    a Redis/Valkey Cluster (:func:`cluster`), the same names under one hash tag
    (``distritask:{dt}:tasks``, ``distritask:{dt}:task_stream``...), so that every key a
    script or a transaction touches is in one hash slot. Built once, when connecting; the
    store and the scripts (:func:`backend.scripts.render`) take names only from here.

    **Status events in a cluster** go out on a sharded channel in the keys' slot
    (``SPUBLISH distritask:{dt}:updates``: it reaches only the node that owns the slot,
    and our readers ``SSUBSCRIBE`` there, see :meth:`channel`) and, unless
    ``classic_updates`` is off, also on the Go-compatible ``task_updates`` (a classic
    ``PUBLISH``, which a cluster broadcasts to every node). The control and schedule
    channels stay classic (a few messages a minute).
    """

    def __init__(self, tag: str | None = None, *, classic_updates: bool = True) -> None:
        self.tag = tag
        self.cluster = tag is not None
        self.classic_updates = classic_updates or tag is None
        """Whether status updates go out on ``task_updates`` (always on one server)."""
        self.prefix = PREFIX if tag is None else f"{PREFIX}{{{tag}}}:"
        self.TASK_STREAM = TASK_STREAM if tag is None else self.prefix + TASK_STREAM
        self.TASK_STATES = self._name(TASK_STATES)
        self.TASK_INDEX = self._name(TASK_INDEX)
        self.COUNTERS = self._name(COUNTERS)
        self.WORKERS = self._name(WORKERS)
        self.WORKER_ALIVE_PREFIX = self._name(WORKER_ALIVE_PREFIX)
        self.SEEN_WORKERS = self._name(SEEN_WORKERS)
        self.RETRY_SCHEDULE = self._name(RETRY_SCHEDULE)
        self.QUEUES = self._name(QUEUES)
        self.PAUSED_QUEUES = self._name(PAUSED_QUEUES)
        self.QUEUE_PREFIX = self._name(QUEUE_PREFIX)
        self.DUE_PREFIX = self._name(DUE_PREFIX)
        self.SCHEDULES = self._name(SCHEDULES)
        self.SCHEDULE_TIMES = self._name(SCHEDULE_TIMES)
        self.TICK_PREFIX = self._name(TICK_PREFIX)
        self.DEAD_LETTERS = self._name(DEAD_LETTERS)
        self.CANCELLED = self._name(CANCELLED)
        self.WORKER_ORDER_PREFIX = self._name(WORKER_ORDER_PREFIX)
        self.SHARD_TAGS = self._name(SHARD_TAGS)
        self.INDEX_PREFIX = self._name(INDEX_PREFIX)
        self.INDEX_META = self._name(INDEX_META)
        self.INDEX_IDS = self._name(INDEX_IDS)
        self.INDEX_FINISHED = self._name(INDEX_FINISHED)
        self.INDEX_DURATION = self._name(INDEX_DURATION)
        self.INDEX_TEMP_PREFIX = self._name(INDEX_TEMP_PREFIX)
        self.INDEX_BACKLOG = self._name(INDEX_BACKLOG)
        self.MINUTE_PREFIX = self._name(MINUTE_PREFIX)
        self.UPDATES_SHARD_CHANNEL = None if tag is None else self.prefix + "updates"
        """The sharded channel of status updates (a cluster only)."""

    def _name(self, standalone: str) -> str:
        return self.prefix + standalone.removeprefix(PREFIX)

    def __repr__(self) -> str:
        if self.tag is None:
            return "Layout()"
        return f"Layout({self.tag!r}, classic_updates={self.classic_updates})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Layout) and (other.tag, other.classic_updates) == (
            self.tag,
            self.classic_updates,
        )

    def __hash__(self) -> int:
        return hash((self.tag, self.classic_updates))

    def channel(self, name: str) -> tuple[str, bool]:
        """The channel to subscribe to for ``name`` and whether it is sharded
        (``SSUBSCRIBE``): in a cluster, status updates come from the sharded channel."""
        if name == UPDATES_CHANNEL and self.UPDATES_SHARD_CHANNEL is not None:
            return self.UPDATES_SHARD_CHANNEL, True
        return name, False

    def stream(self, queue: str) -> str:
        """The stream of a named queue (see :func:`stream`)."""
        return self.TASK_STREAM if queue == "default" else self.QUEUE_PREFIX + queue

    def due(self, queue: str) -> str:
        """The sorted set of a queue's delayed tasks and retries (see :func:`due`)."""
        return self.RETRY_SCHEDULE if queue == "default" else self.DUE_PREFIX + queue

    def index(self, field: str, value: str) -> str:
        """The sorted set of the tasks whose ``field`` is ``value`` (see :func:`index`)."""
        return f"{self.INDEX_PREFIX}{field}:{value}"

    def minute(self, epoch_minute: int) -> str:
        """The history hash of one minute (see :func:`minute`)."""
        return f"{self.MINUTE_PREFIX}{epoch_minute}"

    def worker_alive(self, name: str) -> str:
        return self.WORKER_ALIVE_PREFIX + name

    def worker_order(self, name: str) -> str:
        return self.WORKER_ORDER_PREFIX + name

    def tick(self, schedule_id: str, tick: float) -> str:
        """The key one scheduler sets to claim a tick (see :func:`tick`)."""
        return f"{self.TICK_PREFIX}{schedule_id}:{round(tick * 1000)}"


STANDALONE = Layout()
"""The layout on one Redis: the names above, unchanged (Go-compatible)."""


def cluster(tag: str = CLUSTER_TAG, *, classic_updates: bool = True) -> Layout:
    """The layout in a Redis/Valkey Cluster: every key under the hash tag ``{tag}``;
    ``classic_updates``: status updates also go out on ``task_updates``."""
    return Layout(tag, classic_updates=classic_updates)
