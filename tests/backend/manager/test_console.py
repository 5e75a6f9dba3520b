"""Operations through the HTTP API, against a real manager and real workers: bulk
actions, free-text search, and the dead letters."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.backend.manager.conftest import StartManager
from tests.conftest import Spawn
from tests.waiting import eventually_sync

WORKER = ("--concurrency", "2", "--claim-idle", "5", "--retry-backoff", "0.1")


def submit(base: str, **body: Any) -> list[str]:
    response = httpx.post(base + "/submit", json=body)
    assert response.status_code == 200, response.text
    ids: list[str] = response.json()["ids"]
    return ids


def status(base: str, task_id: str) -> str | None:
    response = httpx.get(f"{base}/tasks/{task_id}")
    return None if response.status_code == 404 else str(response.json()["status"])


def bulk(base: str, **body: Any) -> dict[str, int]:
    response = httpx.post(base + "/tasks/bulk", json=body, timeout=30)
    assert response.status_code == 200, response.text
    result: dict[str, int] = response.json()
    return result


def test_bulk_actions_by_filter_and_by_ids(manager: str) -> None:
    sleepers = submit(manager, name="sleep", payload=60, count=5)
    others = submit(manager, name="noop", count=2)  # no worker: they stay queued
    assert bulk(manager, action="cancel", filter={"name": "sleep"}) == {"matched": 5, "done": 5}
    assert {status(manager, i) for i in sleepers} == {"cancelled"}
    assert {status(manager, i) for i in others} == {"pending"}
    # retry two of them; cancelling a cancelled task again changes nothing
    assert bulk(manager, action="retry", ids=sleepers[:2]) == {"matched": 2, "done": 2}
    assert [status(manager, i) for i in sleepers[:2]] == ["pending", "pending"]
    assert bulk(manager, action="cancel", ids=sleepers[2:]) == {"matched": 3, "done": 0}
    # delete forgets finished tasks only
    everything: dict[str, Any] = {}
    assert bulk(manager, action="delete", filter=everything) == {"matched": 7, "done": 3}
    assert [status(manager, i) for i in sleepers[2:]] == [None, None, None]
    assert {status(manager, i) for i in [*sleepers[:2], *others]} == {"pending"}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"action": "cancel"}, "either ids or filter"),
        ({"action": "cancel", "ids": ["a"], "filter": {}}, "either ids or filter"),
        ({"action": "explode", "ids": ["a"]}, "body.action"),
        ({"action": "cancel", "ids": []}, "body.ids"),
        ({"action": "cancel", "filter": {"colour": "red"}}, "body.filter.colour"),
        ({"action": "cancel", "filter": {"status": "sleeping"}}, "body.filter.status"),
    ],
)
def test_bad_bulk_bodies_are_refused(manager: str, body: dict[str, Any], named: str) -> None:
    response = httpx.post(manager + "/tasks/bulk", json=body)
    assert response.status_code == 422
    assert named in response.json()["error"]


def test_free_text_search_over_id_message_and_error(manager: str, spawn: Spawn) -> None:
    spawn("worker", *WORKER)
    [quota] = submit(
        manager, name="fail", payload={"message": "disk quota exceeded"}, max_retries=0
    )
    [other] = submit(manager, name="fail", payload={"message": "no route to host"}, max_retries=0)
    eventually_sync(lambda: status(manager, quota) == status(manager, other) == "failed", within=30)

    def found(**query: Any) -> list[str]:
        response = httpx.get(manager + "/tasks", params=query)
        assert response.status_code == 200, response.text
        return [task["id"] for task in response.json()["tasks"]]

    assert found(q="QUOTA") == [quota]  # the error, any case
    assert found(q=other[:8]) == [other]  # the id
    assert found(q="no route", status="failed") == [other]
    assert found(q="no route", status="completed") == []
    assert found(q="nothing like it") == []
    assert httpx.get(manager + "/tasks", params={"q": ""}).status_code == 422


def test_dead_letters_are_listed_requeued_with_an_edit_and_deleted(
    start_manager: StartManager, spawn: Spawn
) -> None:
    base = start_manager(allowed_tasks="*")
    spawn("worker", *WORKER)
    [task_id] = submit(base, name="fail", payload={"message": "first try"}, max_retries=0)

    def letters() -> dict[str, Any]:
        response = httpx.get(base + "/dead-letters")
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        return page

    page = eventually_sync(lambda: letters()["total"] == 1 and letters(), within=30)
    [entry] = page["entries"]
    assert (entry["task_id"], page["offset"], page["limit"]) == (task_id, 0, 50)
    assert "first try" in entry["error"] and entry["worker"] and entry["ts"] > 0
    assert task_id in entry["task_data"]

    edited = {"message": "second try"}
    requeue = httpx.post(
        base + "/dead-letters/requeue", json={"ids": [entry["entry"]], "payload": edited}
    )
    assert requeue.status_code == 200 and requeue.json() == {"requeued": 1, "problems": []}
    assert httpx.get(f"{base}/tasks/{task_id}").json()["payload"] == edited
    # the worker runs it again with the edited payload, and it is dead-lettered again
    again = eventually_sync(
        lambda: [e for e in letters()["entries"] if "second try" in e["error"]], within=30
    )
    assert letters()["total"] == 1, "the requeued entry was not removed"

    unknown = httpx.post(base + "/dead-letters/requeue", json={"ids": ["1-0"]})
    assert unknown.json() == {"requeued": 0, "problems": ["1-0: no such dead letter"]}
    for bad in ({"ids": ["x"]}, {"ids": []}, {"ids": ["1-0", "2-0"], "payload": 1}):
        assert httpx.post(base + "/dead-letters/requeue", json=bad).status_code == 422, bad
    delete = httpx.post(base + "/dead-letters/delete", json={"ids": [again[0]["entry"], "1-0"]})
    assert delete.status_code == 200 and delete.json() == {"deleted": 1}
    assert letters()["total"] == 0
