"""``distritask broker``: run the embedded server in the foreground.

Prints ``REDIS_URL=redis://:PASSWORD@127.0.0.1:PORT`` on stdout (the password is the
data directory's, see :mod:`backend.broker`) and serves until SIGTERM or SIGINT.

The server is supervised by its exit, never by how fast it answers: a server busy
with a long script or a large write is left to finish. When it exits by itself the
command says so and exits 1.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from backend.broker import EmbeddedBroker
from backend.config import SettingFlag, Settings, add_setting_flags

WATCH_EVERY = 0.5
"""Seconds between looks at whether the server process is still running."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        dest="broker_port",
        action=SettingFlag,
        metavar="PORT",
        default=argparse.SUPPRESS,
        help="port to listen on, on 127.0.0.1 (default: first free from "
        "16379) [env DISTRITASK_BROKER_PORT]",
    )
    add_setting_flags(parser, "data_dir")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run the embedded server in the foreground until SIGTERM or SIGINT."""
    embedded = EmbeddedBroker(settings.data_dir, settings.broker_port)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    embedded.start()
    try:
        if not embedded.owned:
            print(f"already running for {embedded.data_dir}: REDIS_URL={embedded.url}")
            return 0
        print(f"REDIS_URL={embedded.url}", flush=True)
        print(f"data in {embedded.data_dir}; Ctrl+C stops it", file=sys.stderr, flush=True)
        process = embedded.process
        while not stop.wait(WATCH_EVERY):
            if process is None or process.poll() is not None:
                code = None if process is None else process.returncode
                print(
                    f"the embedded server exited (status {code}); "
                    f"see {embedded.data_dir / 'valkey.log'}",
                    file=sys.stderr,
                )
                return 1
        return 0
    finally:
        embedded.stop()
