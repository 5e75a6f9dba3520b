"""``distritask bench`` keeps working: its smallest run prints the table and writes JSON.

Benchmarks are not tests; this only keeps the command from rotting. It runs the raw
part of ``--quick`` (a few seconds) against the session's server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import redis

from tests.conftest import ROOT


def test_quick_raw_bench_prints_a_table_and_writes_json(redis_url: str, tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.cli",
            "bench",
            "--quick",
            "--only",
            "raw",
            "--json",
            str(out),
        ],
        env={**os.environ, "REDIS_URL": redis_url},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "| part | measure | value | vs raw limit | target |" in done.stdout
    assert "XREADGROUP+XACK+PUBLISH" in done.stdout
    document = json.loads(out.read_text())
    limit = next(row for row in document["rows"] if row["ratio"] == 1.0)
    assert limit["value"] > 0
    assert document["details"]["raw"]["entries"] == 20_000
    assert document["machine"]["cores"] >= 1


def test_bench_refuses_a_database_that_is_not_empty(
    redis_url: str, sync_redis: redis.Redis
) -> None:
    sync_redis.set("someone:else", "1")
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "bench", "--quick", "--only", "raw"],
        env={**os.environ, "REDIS_URL": redis_url},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "not empty" in done.stderr
    assert sync_redis.get("someone:else") == b"1"
