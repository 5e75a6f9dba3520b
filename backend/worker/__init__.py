"""``distritask worker``: run tasks from the queue (many per machine, many machines).

Every worker joins group ``worker_group`` on the streams of its ``--queues`` (in
strict priority order; ``default`` is ``task_stream``) under a name unique per
process (``host-pid`` unless ``--name``), runs up to ``--concurrency`` tasks at once
with the handlers registered by ``--tasks`` modules and the built-in ones, publishes
their status on ``task_updates``, and records their state for late viewers.
See :mod:`backend.worker.runtime` for how, and :mod:`backend.handlers` for handlers.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os

from backend import loops
from backend.broker import use_broker
from backend.config import Settings
from backend.handlers import load_modules
from backend.setting_flags import add_setting_flags

log = logging.getLogger("backend.worker")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--name",
        dest="worker_name",
        default=argparse.SUPPRESS,
        metavar="NAME",
        help="this worker's consumer name, unique per process (default host-pid) "
        "[env DISTRITASK_WORKER_NAME]",
    )
    add_setting_flags(
        parser,
        "concurrency",
        "queues",
        "tasks_module",
        "task_timeout",
        "max_retries",
        "retry_backoff",
        "max_result",
        "claim_idle",
        "foreign_claim_idle",
        "grace_period",
        "heartbeat_ttl",
        "housekeeping_every",
        "consumer_gone_after",
        "parent_pid",
        "data_dir",
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run a worker until SIGTERM/SIGINT (drain, exit 0) or a second one (exit now)."""
    from backend.worker.runtime import Worker

    load_modules(settings.tasks_module)
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(use_broker(settings)).url

        def exit_now(code: int) -> None:
            """Exit without waiting for handler threads or coroutines that will not end
            (log records are already flushed: each is, as it is written)."""
            stack.close()  # stops the embedded server if this worker started it
            os._exit(code)

        async def main() -> int:
            worker = Worker(settings, url, on_abort=lambda signum: exit_now(128 + signum))
            code = await worker.run()
            if worker.leftovers:
                log.warning("%s still running; exiting without them", worker.leftovers)
                exit_now(code)
            return code

        return loops.run(main())
