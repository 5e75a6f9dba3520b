"""``/queues`` and ``/submit``'s queue, delay and at, through a real manager."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx

from backend import keys
from tests.backend.manager.conftest import StartManager


def test_queues_report_their_figures_and_pause(start_manager: StartManager) -> None:
    base = start_manager()
    with httpx.Client(base_url=base) as http:
        body = {"name": "noop", "count": 3, "queue": "high"}
        assert (http.post("/submit", json=body)).status_code == 200
        paused = (http.post("/queues/high/pause")).json()
        assert paused == {"name": "high", "paused": True, "changed": True}
        assert (http.post("/queues/high/pause")).json()["changed"] is False
        queues = {q["name"]: q for q in (http.get("/queues")).json()["queues"]}
        assert next(iter(queues)) == "default"
        high = queues["high"]
        assert (high["depth"], high["lag"], high["pending"], high["paused"]) == (3, 3, 0, True)
        assert high["stream"] == keys.stream("high") and high["oldest_age"] >= 0
        assert (http.post("/queues/high/resume")).json()["paused"] is False
        bad = http.post("/queues/no%20way/pause")
        assert bad.status_code == 422


def test_submit_with_a_delay_or_at_is_scheduled(start_manager: StartManager) -> None:
    base = start_manager()
    with httpx.Client(base_url=base) as http:
        later = (http.post("/submit", json={"name": "noop", "delay": 600})).json()["ids"]
        state = (http.get(f"/tasks/{later[0]}")).json()
        assert state["status"] == "pending" and state["scheduled"] is True
        assert state["due"] == pytest_approx(time.time() + 600)
        assert state["message"].startswith("Scheduled for ")
        at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        queued = http.post("/submit", json={"name": "noop", "at": at, "queue": "low"})
        [at_id] = queued.json()["ids"]
        assert (http.get(f"/tasks/{at_id}")).json()["queue"] == "low"
        both = http.post("/submit", json={"name": "noop", "delay": 1, "at": at})
        assert both.status_code == 422 and "not both" in both.json()["error"]
        naive = http.post("/submit", json={"name": "noop", "at": "2030-01-01T10:00:00"})
        assert naive.status_code == 422 and "offset" in naive.json()["error"]
        default = http.get("/queues").json()["queues"][0]
        assert default["scheduled"] == 1 and default["lag"] == 0


def pytest_approx(value: float) -> object:
    import pytest

    return pytest.approx(value, abs=5)
