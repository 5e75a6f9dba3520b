"""Property-based fuzzing of every route in the manager's OpenAPI schema
(schemathesis): valid and invalid requests alike never get a 5xx."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.backend.manager.conftest import StartManager

EXAMPLES = 15
"""Requests per route and mode: small, so the run stays a few seconds."""


@pytest.mark.timeout(300)  # 25 routes x 2 modes; about 60 s alone, 2 min on a busy machine
def test_no_route_answers_5xx(start_manager: StartManager) -> None:
    base = start_manager()
    schema = schemathesis.openapi.from_dict(httpx.get(base + "/openapi.json").json())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 25
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

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
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{response.text[:300]}"
                )

            try:
                no_server_error()
            except Unsatisfiable:  # no invalid input exists for a route without inputs
                assert mode is GenerationMode.NEGATIVE, operation.label
            except Exception as exc:  # name the route and mode in the failure
                pytest.fail(f"{operation.label} ({mode.value}): {exc}")
