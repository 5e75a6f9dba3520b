"""Property-based fuzzing of every route in the manager's OpenAPI schema
(schemathesis): valid and invalid requests alike never get a 5xx.

Generating the requests is most of the run's time (Hypothesis builds each input,
valid or not, from the schema; a request takes about 10 ms): the (route, mode) runs
are shared out between this process and a helper process, so that two cores generate.
Each run is the same wherever it runs, and every one runs exactly once.
"""

from __future__ import annotations

import json
import multiprocessing
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

if TYPE_CHECKING:  # not at run time: the helper process imports this module
    from tests.backend.manager.conftest import StartManager

EXAMPLES = 15
"""Requests per route and mode: small, so the run stays a few seconds."""
MODES = (GenerationMode.NEGATIVE, GenerationMode.POSITIVE)
"""In this order: the invalid inputs, slower to generate, are taken first, so the
processes end at about the same time."""


def fuzz_route(base: str, operation: schemathesis.APIOperation, mode: GenerationMode) -> str | None:
    """Fuzz one route in one mode against the manager at ``base``; what went wrong (the
    route and mode named), or ``None``."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def no_server_error(case: schemathesis.Case) -> None:
        response = case.call(base_url=base, timeout=10)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
        )

    try:
        no_server_error()
    except Unsatisfiable:  # no invalid input exists for a route without inputs
        if mode is not GenerationMode.NEGATIVE:
            return f"{operation.label} ({mode.value}): no valid input could be generated"
    except Exception as exc:
        return f"{operation.label} ({mode.value}): {exc}"
    return None


def fuzz_share(
    base: str, runs: list[tuple[str, str]], taken: Synchronized[int], report: Path
) -> None:
    """Take ``runs`` (route label, mode) one at a time, by their index in ``taken`` (shared
    by the processes), until none is left; write the indexes run and the problems found
    to ``report`` (JSON)."""
    schema = schemathesis.openapi.from_dict(httpx.get(base + "/openapi.json").json())
    operations = {op.label: op for op in (result.ok() for result in schema.get_all_operations())}
    done: list[int] = []
    problems: list[str] = []
    while True:
        with taken.get_lock():
            index = taken.value
            taken.value += 1
        if index >= len(runs):
            break
        label, mode = runs[index]
        problem = fuzz_route(base, operations[label], GenerationMode(mode))
        done.append(index)
        if problem is not None:
            problems.append(problem)
    report.write_text(json.dumps({"done": done, "problems": problems}))


@pytest.mark.timeout(300)  # 25 routes x 2 modes; about 20 s on two cores, 36 s on one
def test_no_route_answers_5xx(start_manager: StartManager, tmp_path: Path) -> None:
    base = start_manager()
    schema = schemathesis.openapi.from_dict(httpx.get(base + "/openapi.json").json())
    labels = [result.ok().label for result in schema.get_all_operations()]
    assert len(set(labels)) == len(labels) == 25
    runs = [(label, mode.value) for mode in MODES for label in labels]
    # spawn, not fork: this process runs threads (the manager serving this test)
    context = multiprocessing.get_context("spawn")
    taken = context.Value("i", 0)
    reports = [tmp_path / "here.json", tmp_path / "helper.json"]
    helper = context.Process(target=fuzz_share, args=(base, runs, taken, reports[1]), daemon=True)
    helper.start()
    try:
        fuzz_share(base, runs, taken, reports[0])
        helper.join(timeout=240)
    finally:
        if helper.is_alive():
            helper.kill()
            helper.join()
    assert helper.exitcode == 0, f"the helper process ended with {helper.exitcode}"
    results = [json.loads(report.read_text()) for report in reports]
    done = sorted(index for result in results for index in result["done"])
    assert done == list(range(len(runs))), "every route and mode fuzzed, each once"
    problems = [problem for result in results for problem in result["problems"]]
    assert not problems, "\n".join(problems)
