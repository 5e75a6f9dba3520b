"""Distritask's headless backend: no Qt in here.

Modules, one concept each:

- ``config``    the settings object every part reads (environment and flags)
- ``keys``      every Redis key, stream, group and channel name
- ``protocol``  the messages that cross Redis (wire-compatible with the Go services);
  it re-exports ``task_status`` (a task's status and its Go codes) and ``task_json``
  (task ids, the ``time`` clock, a new task's JSON without the model)
- ``state``     a task's current state (a model), as queued, re-queued and updated
- ``transition`` the one rule that moves a state by an update, over plain data
- ``messages``  the status messages users see
- ``connection`` connecting to Redis, and the one definition of "broker down"
- ``outage``    the one loop helper: ride out an outage (log once, back off), let bugs out
- ``broker``    the embedded Redis-protocol server (start, join, stop; a password per data
  dir) and ``use_broker``, the one way every part gets its broker (REDIS_URL or embedded);
  ``broker_command`` is ``distritask broker``; ``broker_cluster`` its ``--cluster`` mode
- ``policy``    the submit policy: accepted task names, default retries, what may be retried
- ``waiting``   ``wait_until``: the one helper that polls a condition with a deadline
- ``outcomes``  following submitted tasks to their end from status events (``submit --wait``)
- ``results``   a handler's return value, checked (JSON, size) before it is stored
- ``actions``   cancel and retry one task (the manager's routes and the client)
- ``client``    the client applications use (a package): ``Client``, ``BlockingClient``,
  ``result()`` woken by one subscription (``waiting``), ``submit_many`` (``submitting``)
- ``store``     the gateway to Redis (a package): submitting, ids checked and batches
  pipelined (``submits``; ``templates`` encodes many), stream and group (``queue``), named
  queues, priority reads, pause and figures (``queues``; held entry ids: ``ids``), task
  states and cancels (``states``), workers (``workers``), confirmed pub/sub (``channels``),
  periodic schedules (``schedules``),
  filtered listings and bulk actions over the indexes (``query``), dead letters
  (``deadletters``), pending entries per consumer (``pending``)
- ``scripts``   the Lua scripts the store runs (a package): their shared helpers, the
  indexes and per-minute history (``indexing``), storing states (``writes``), queue
  reads (``reads``), the console's queries and bulk actions (``console``), cancels and
  consumers (``housekeeping``)
- ``task_filter`` a filter over the retained tasks and its short text form
- ``promoter``  keeps time in every worker and manager: moves due delayed tasks and retries
  into their queues and queues one task per tick of each periodic schedule
- ``schedules`` a periodic task's schedule (cron with a time zone, or an interval) and its
  ticks; ``schedule_cli`` is ``distritask schedule``
- ``recorder``  records the state of tasks only the channel tells of (Go services')
- ``worker``    the worker runtime; ``handlers`` the registry and ``@task``;
  ``builtin_tasks`` the handlers every worker knows
- ``manager``   the HTTP API; ``dashboard`` the WebSocket bridge; ``cli`` the command line,
  ``parts`` where the command finds its parts (entry points for the panel and the bench)
"""

__version__ = "0.1.0"
