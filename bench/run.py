"""``distritask bench``: measure the raw limit, then Distritask end to end and the panel.

Every part runs against the same server in the same run: the embedded server started
on a temporary directory (stopped and removed at the end), or ``--redis-url`` /
``REDIS_URL``, whose database must be empty because the bench empties it between
parts. Prints a markdown table and writes the JSON (``--json``).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError

from backend import connection
from backend.broker import use_broker
from backend.broker_url import describe
from backend.config import Settings
from backend.errors import ConfigError

from . import client, cluster, console, end_to_end, manager, panel, queues, raw
from .end_to_end import BenchError
from .report import Row, machine, markdown, write_json
from .rows import client_rows, e2e_rows, panel_rows, raw_rows

PARTS = ("raw", "client", "e2e", "queues", "panel", "console", "manager", "cluster")
HERE = Path(__file__).resolve().parent


def default_json() -> Path:
    """``bench/results/latest.json`` in a checkout; the working directory otherwise."""
    if HERE.name == "bench":
        return HERE / "results" / "latest.json"
    return Path("distritask-bench.json")


def _parts(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in PARTS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(PARTS)} (comma separated)")
    return chosen


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        counts = []
    if not counts or any(not 1 <= n <= 16 for n in counts):
        raise argparse.ArgumentTypeError("a comma-separated list of 1 to 16, e.g. 1,2,4")
    return counts


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a positive whole number, not {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="a small version of every part (under a minute)"
    )
    parser.add_argument(
        "--only",
        type=_parts,
        default=list(PARTS),
        metavar="PARTS",
        help="run only these parts: raw, client, e2e, queues, panel, console, manager, "
        "cluster (comma separated; default all; client compares with raw's XADD rate; "
        "manager starts a manager process on the retained states and times /stats and "
        "/tasks filters; cluster runs end to end on this server and on a local "
        "3-primary cluster)",
    )
    parser.add_argument(
        "--tasks",
        type=_positive,
        default=None,
        metavar="N",
        help="noop tasks per end-to-end run (default 20000; 2000 with --quick)",
    )
    parser.add_argument(
        "--processes",
        type=_counts,
        default=None,
        metavar="LIST",
        help="worker process counts to run end to end (default 1,2,4; 2 with --quick)",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive,
        default=None,
        metavar="N",
        help="each worker's --concurrency (default: the worker's own default)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="sample every end-to-end worker with py-spy; speedscope files go to DIR",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"where to write the results (default {default_json()})",
    )


def options(args: argparse.Namespace) -> dict[str, Any]:
    quick = bool(args.quick)
    return {
        "quick": quick,
        "parts": list(args.only),
        "raw_entries": 20_000 if quick else 100_000,
        "tasks": args.tasks or (2_000 if quick else 20_000),
        "processes": args.processes or ([2] if quick else [1, 2, 4]),
        "latency_samples": 100 if quick else 300,
        "result_samples": 300 if quick else 1_000,
        "panel_tasks": 100_000 if quick else 1_000_000,
        "panel_rates": [1_000, 5_000, 20_000],
        "panel_seconds": 1.5 if quick else 4.0,
        "console_states": 100_000 if quick else 1_000_000,
        "console_samples": 30 if quick else 100,
        "manager_states": 100_000 if quick else 1_000_000,
    }


@contextlib.contextmanager
def server(settings: Settings) -> Iterator[str]:
    """The URL to bench against: ``REDIS_URL`` (empty database) or a fresh embedded one."""
    if settings.redis_url:
        with connection.sync_client(settings.redis_url, timeout=None) as client:
            if client.dbsize():
                raise ConfigError(
                    "REDIS_URL",
                    describe(settings.redis_url),
                    "the database is not empty; the bench deletes everything in it, so "
                    "point it at an empty database (e.g. redis://host:6379/15)",
                )
        yield settings.redis_url
        return
    data_dir = Path(tempfile.mkdtemp(prefix="distritask-bench-"))
    try:
        with use_broker(
            settings.model_copy(update={"data_dir": data_dir, "broker_port": None})
        ) as broker:
            yield broker.url
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _server_info(url: str) -> dict[str, Any]:
    with connection.sync_client(url, timeout=None) as client:
        info = client.info("server")
    return {
        "address": describe(url),
        "server": info.get("server_name", "redis"),
        "version": info.get("valkey_version") or info.get("redis_version"),
    }


def _part(name: str, failures: dict[str, str], work: Callable[[], list[Row]]) -> list[Row]:
    """Run one part; a failure is reported and the other parts still run."""
    print(f"running {name}...", file=sys.stderr, flush=True)
    try:
        return work()
    except (BenchError, RuntimeError, OSError, RedisError) as exc:
        failures[name] = str(exc)
        print(f"{name} failed: {exc}", file=sys.stderr, flush=True)
        return [Row(name, "FAILED (see the JSON's details.failures)", math.nan, "")]


def run(settings: Settings, args: argparse.Namespace) -> int:
    chosen = options(args)
    path = args.json or default_json()
    rows: list[Row] = []
    details: dict[str, Any] = {}
    failures: dict[str, str] = {}
    began = time.monotonic()
    with server(settings) as url:
        where = machine(_server_info(url))
        print(
            f"benchmarking against {where['server']['server']} {where['server']['version']} "
            f"at {where['server']['address']}",
            file=sys.stderr,
            flush=True,
        )
        limit = xadd = math.nan

        def do_raw() -> list[Row]:
            nonlocal limit, xadd
            result = raw.measure(url, chosen["raw_entries"], chosen["latency_samples"])
            limit, xadd = result.consume_per_s, result.xadd_per_s
            details["raw"] = result.details()
            return raw_rows(result)

        def do_client() -> list[Row]:
            result = client.measure(url, chosen["raw_entries"], chosen["result_samples"])
            details["client"] = result.details()
            return client_rows(result, xadd)

        def do_e2e() -> list[Row]:
            results = end_to_end.measure(
                url,
                chosen["tasks"],
                chosen["processes"],
                chosen["latency_samples"],
                args.concurrency,
                args.profile,
            )
            details["e2e"] = [result.details() for result in results]
            return e2e_rows(results, limit)

        def do_queues() -> list[Row]:
            result = queues.measure(url, chosen["tasks"])
            details["queues"] = result
            return queues.queue_rows(result, limit)

        def do_panel() -> list[Row]:
            result = panel.measure(
                url, chosen["panel_tasks"], chosen["panel_seconds"], chosen["panel_rates"]
            )
            details["panel"] = result
            return panel_rows(result)

        def do_console() -> list[Row]:
            result = console.measure(url, chosen["console_states"], chosen["console_samples"])
            details["console"] = result
            return console.console_rows(result)

        def do_manager() -> list[Row]:
            result = manager.measure(url, chosen["manager_states"], chosen["console_samples"])
            details["manager"] = result
            return manager.manager_rows(result)

        def do_cluster() -> list[Row]:
            result = cluster.measure(
                url,
                chosen["tasks"],
                max(chosen["processes"]),
                chosen["latency_samples"],
                args.concurrency,
            )
            details["cluster"] = [served.details() for served in result]
            return cluster.cluster_rows(result)

        parts = (
            ("raw", do_raw),
            ("client", do_client),
            ("e2e", do_e2e),
            ("queues", do_queues),
            ("panel", do_panel),
            ("console", do_console),
            ("manager", do_manager),
            ("cluster", do_cluster),
        )
        for name, work in parts:
            if name in chosen["parts"]:
                rows += _part(name, failures, work)
                _flush(url)
    details["seconds"] = round(time.monotonic() - began, 1)
    if failures:
        details["failures"] = failures
    print(markdown(rows))
    write_json(path, rows, details, where, chosen)
    print(f"\nresults written to {path}", file=sys.stderr)
    return 1 if failures else 0


def _flush(url: str) -> None:
    with connection.sync_client(url, timeout=None) as client:
        client.flushdb()
