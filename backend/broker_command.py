"""``distritask broker``: run the embedded server in the foreground.

``--cluster N [--replicas R]`` runs a local Valkey Cluster instead
(:mod:`backend.broker_cluster`), to try cluster mode on one machine.

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
import time
from types import FrameType

from backend.broker import EmbeddedBroker
from backend.broker_cluster import EmbeddedCluster
from backend.config import Settings
from backend.setting_flags import SettingFlag, add_setting_flags

WATCH_EVERY = 0.5
"""Seconds between looks at whether the server process is still running."""
STOP_LOOK_EVERY = 0.05
"""Seconds between looks at whether a stop signal came."""


class StopSignals:
    """SIGTERM and SIGINT, noted for the command's loop to see (installed on creation).

    The handler only sets a flag. A handler that takes a lock can deadlock: Python runs
    it on the main thread between two bytecodes, and if the loop held that very lock
    at the time (``threading.Event.set`` in the handler, ``Event.wait`` in the loop),
    the handler waits for itself. That happened, rarely, and the command then never
    exited."""

    def __init__(self) -> None:
        self.received = False
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._note)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.received = True

    def wait(self, seconds: float) -> bool:
        """Whether a stop signal has come, waiting up to ``seconds`` for one."""
        deadline = time.monotonic() + seconds
        while not self.received:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, STOP_LOOK_EVERY))
        return self.received


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
    parser.add_argument(
        "--cluster",
        dest="primaries",  # not the setting ``cluster`` (auto/on/off) of the other parts
        type=_count,
        default=None,
        metavar="N",
        help="start a local Valkey Cluster of N primaries instead (nodes on consecutive "
        "ports from --port, or the first free ones; one directory each in --data-dir)",
    )
    parser.add_argument(
        "--replicas",
        type=_count_or_zero,
        default=0,
        metavar="R",
        help="with --cluster: R replicas of each primary (default 0)",
    )


def _count(text: str, least: int = 1) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not least <= value <= 64:
        raise argparse.ArgumentTypeError(f"must be a whole number from {least} to 64, not {text!r}")
    return value


def _count_or_zero(text: str) -> int:
    return _count(text, least=0)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run the embedded server (or a local cluster) in the foreground until SIGTERM or
    SIGINT."""
    stop = StopSignals()
    if args.primaries is not None:
        return _run_cluster(settings, args, stop)
    if args.replicas:
        print("distritask broker: --replicas needs --cluster", file=sys.stderr)
        return 2
    embedded = EmbeddedBroker(settings.data_dir, settings.broker_port)
    embedded.start()
    try:
        if not embedded.owned:
            print(f"already running for {embedded.data_dir}: REDIS_URL={embedded.tcp_url}")
            return 0
        print(f"REDIS_URL={embedded.tcp_url}", flush=True)
        print(f"data in {embedded.data_dir}; Ctrl+C stops it", file=sys.stderr, flush=True)
        if embedded.socket is not None:
            print(
                f"parts on this machine given --data-dir {embedded.data_dir} join it "
                f"through its Unix socket, {embedded.socket} (quicker than TCP)",
                file=sys.stderr,
                flush=True,
            )
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


def _run_cluster(settings: Settings, args: argparse.Namespace, stop: StopSignals) -> int:
    """A node that exits is reported (a replica may take over its slots); when every
    node has exited the command exits 1."""
    cluster = EmbeddedCluster(
        settings.data_dir, args.primaries, args.replicas, settings.broker_port
    )
    with cluster:
        print(f"REDIS_URL={cluster.url}", flush=True)
        print(
            f"cluster of {args.primaries} primar{'y' if args.primaries == 1 else 'ies'}"
            f" and {args.primaries * args.replicas} replica(s) on ports {cluster.ports}; "
            f"data in {cluster.data_dir}; Ctrl+C stops it",
            file=sys.stderr,
            flush=True,
        )
        reported: set[int] = set()
        while not stop.wait(WATCH_EVERY):
            for port in sorted(set(cluster.exited()) - reported):
                print(f"the node on port {port} exited", file=sys.stderr, flush=True)
                reported.add(port)
            if len(reported) == cluster.size:
                return 1
    return 0
