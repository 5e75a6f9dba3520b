"""The original Next.js page's calls work unchanged: a CORS preflight from
http://localhost:3000, then ``POST /submit`` with ``{}`` (or, in older versions,
with no body at all)."""

from __future__ import annotations

import json

import httpx
import redis

from backend import keys
from backend.protocol import decode_task

PAGE = "http://localhost:3000"


async def test_preflight_from_the_page_is_answered(http: httpx.AsyncClient) -> None:
    response = await http.options(
        "/submit",
        headers={
            "Origin": PAGE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == PAGE
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"].lower()


async def test_preflight_from_another_origin_is_not_allowed(http: httpx.AsyncClient) -> None:
    response = await http.options(
        "/submit",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in response.headers


async def test_submit_with_empty_json_queues_one_deploy_node(
    http: httpx.AsyncClient, sync_redis: redis.Redis
) -> None:
    pubsub = sync_redis.pubsub()
    pubsub.subscribe(keys.UPDATES_CHANNEL)
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"  # type: ignore[index]
    response = await http.post(
        "/submit", content=b"{}", headers={"Content-Type": "application/json", "Origin": PAGE}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == PAGE
    body = response.json()
    assert body == {"id": body["id"], "message": "Task enqueued successfully!"}
    [(_, [(_, fields)])] = sync_redis.xread({keys.TASK_STREAM: 0})
    task = decode_task(fields[keys.TASK_FIELD.encode()])
    assert (task.id, task.name) == (body["id"], "deploy_node")
    message = pubsub.get_message(timeout=5)
    assert message is not None
    update = json.loads(message["data"])
    assert (update["id"], update["status"], update["worker"]) == (body["id"], "pending", "manager")
    pubsub.close()


async def test_submit_without_a_body_works_too(
    http: httpx.AsyncClient, sync_redis: redis.Redis
) -> None:
    first = await http.post("/submit")
    second = await http.post("/submit", headers={"Content-Type": "application/json"})
    assert first.status_code == second.status_code == 200
    assert first.json()["message"] == "Task enqueued successfully!"
    assert "ids" not in first.json()
    assert sync_redis.xlen(keys.TASK_STREAM) == 2


async def test_a_body_that_is_not_json_typed_is_refused(
    http: httpx.AsyncClient, sync_redis: redis.Redis
) -> None:
    # curl -d '{"name": "noop"}' sends application/x-www-form-urlencoded, as a
    # cross-site form would: refused, so no web page can queue tasks that way
    response = await http.post(
        "/submit",
        content=b'{"name": "noop", "count": 2}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]
    assert sync_redis.xlen(keys.TASK_STREAM) == 0
