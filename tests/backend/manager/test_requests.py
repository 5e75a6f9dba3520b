"""Bad input gets a JSON 4xx naming the problem and nothing reaches the queue;
the bearer token guards mutating routes; bodies over the limit get 413."""

from __future__ import annotations

import socket

import httpx
import pytest
import redis

from backend import keys
from tests.backend.manager.conftest import StartManager

BAD_BODIES = [
    (b"{bad json", 400, "malformed JSON"),
    (b'{"name": "deploy_nod"}', 422, "unknown task name 'deploy_nod'"),
    (b'{"name": "two words"}', 422, "body.name"),
    (b'{"count": "many"}', 422, "body.count"),
    (b'{"count": 0}', 422, "body.count"),
    (b'{"max_retries": -1}', 422, "body.max_retries"),
    (b'{"colour": "red"}', 422, "body.colour"),
    (b"[1, 2]", 422, "body"),
    (b'"deploy_node"', 422, "body"),
]


@pytest.mark.parametrize(("body", "status", "named"), BAD_BODIES)
async def test_bad_submit_bodies_are_refused_and_queue_nothing(
    http: httpx.AsyncClient, sync_redis: redis.Redis, body: bytes, status: int, named: str
) -> None:
    response = await http.post(
        "/submit", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status
    assert named in response.json()["error"]
    assert sync_redis.xlen(keys.TASK_STREAM) == 0
    assert not sync_redis.exists(keys.TASK_STATES)


async def test_a_full_body_answers_every_id(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/submit", json={"name": "sleep", "payload": {"seconds": 1}, "count": 3, "max_retries": 0}
    )
    assert response.status_code == 200
    body = response.json()
    assert len(body["ids"]) == 3 and body["id"] == body["ids"][0]
    task = (await http.get(f"/tasks/{body['id']}")).json()
    assert (task["name"], task["payload"], task["max_retries"]) == ("sleep", {"seconds": 1}, 0)


def test_custom_task_names_are_accepted_once_allowed(start_manager: StartManager) -> None:
    base = start_manager(allowed_tasks="resize_image")
    assert httpx.post(base + "/submit", json={"name": "resize_image"}).status_code == 200
    assert httpx.post(base + "/submit", json={"name": "other"}).status_code == 422
    anything = start_manager(allowed_tasks="*")
    assert httpx.post(anything + "/submit", json={"name": "other"}).status_code == 200


def test_the_token_guards_every_mutating_route(
    start_manager: StartManager, sync_redis: redis.Redis
) -> None:
    base = start_manager(api_token="s3cret")
    for path in ("/submit", "/tasks/x/cancel", "/tasks/x/retry"):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}):
            response = httpx.post(base + path, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert "bearer token" in response.json()["error"]
            assert response.headers["www-authenticate"] == "Bearer"
    assert sync_redis.xlen(keys.TASK_STREAM) == 0
    good = {"Authorization": "Bearer s3cret"}
    assert httpx.post(base + "/submit", headers=good).status_code == 200
    assert httpx.post(base + "/tasks/x/cancel", headers=good).status_code == 404
    assert httpx.get(base + "/tasks").status_code == 200  # reading needs no token
    preflight = httpx.options(
        base + "/submit",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200


def test_bodies_over_the_limit_get_413(
    start_manager: StartManager, sync_redis: redis.Redis
) -> None:
    base = start_manager(max_body=2048)
    big = b'{"payload": "' + b"x" * 4096 + b'"}'
    response = httpx.post(base + "/submit", content=big)
    assert response.status_code == 413
    assert "larger than 2048 bytes" in response.json()["error"]

    def chunks():  # no Content-Length: counted as it arrives
        yield big[:1000]
        yield big[1000:]

    assert httpx.post(base + "/submit", content=chunks()).status_code == 413
    assert sync_redis.xlen(keys.TASK_STREAM) == 0


def test_unknown_routes_and_methods_answer_json(manager: str) -> None:
    missing = httpx.get(manager + "/nope")
    assert missing.status_code == 404 and missing.json() == {"error": "Not Found"}
    assert httpx.get(manager + "/submit").status_code == 405


def test_health_is_503_while_redis_does_not_answer(start_manager: StartManager) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{sock.getsockname()[1]}"
    base = start_manager(url=dead)
    response = httpx.get(base + "/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    submit = httpx.post(base + "/submit")
    assert submit.status_code == 503 and "broker unavailable" in submit.json()["error"]


def test_health_is_200_while_redis_answers(manager: str) -> None:
    response = httpx.get(manager + "/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"
