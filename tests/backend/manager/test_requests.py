"""Bad input gets a JSON 4xx naming the problem and nothing reaches the queue;
the bearer token guards mutating routes; bodies over the limit get 413."""

from __future__ import annotations

import re

import httpx
import pytest
import redis

from backend import keys
from tests.backend.manager.conftest import SpawnManager, StartManager
from tests.conftest import free_port

MUTATING = (
    "/submit",
    "/tasks/x/cancel",
    "/tasks/x/retry",
    "/tasks/bulk",
    "/dead-letters/requeue",
    "/dead-letters/delete",
)
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
    for path in MUTATING:
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
    json_type = {"Content-Type": "application/json"}
    response = httpx.post(base + "/submit", content=big, headers=json_type)
    assert response.status_code == 413
    assert "larger than 2048 bytes" in response.json()["error"]

    def chunks():  # no Content-Length: counted as it arrives
        yield big[:1000]
        yield big[1000:]

    assert httpx.post(base + "/submit", content=chunks(), headers=json_type).status_code == 413
    assert sync_redis.xlen(keys.TASK_STREAM) == 0


def test_unknown_routes_and_methods_answer_json(manager: str) -> None:
    missing = httpx.get(manager + "/nope")
    assert missing.status_code == 404 and missing.json() == {"error": "Not Found"}
    assert httpx.get(manager + "/submit").status_code == 405


def test_health_is_503_while_redis_does_not_answer(start_manager: StartManager) -> None:
    dead = f"redis://127.0.0.1:{free_port()}"  # a port nobody listens on
    base = start_manager(url=dead)
    response = httpx.get(base + "/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    submit = httpx.post(base + "/submit")
    assert submit.status_code == 503 and "broker unavailable" in submit.json()["error"]


def test_health_is_200_while_redis_answers(manager: str) -> None:
    response = httpx.get(manager + "/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


SIMPLE_BODIES = [  # what a web page can POST cross-site without a preflight
    ("text/plain", b'{"name": "noop", "count": 5}'),
    ("application/x-www-form-urlencoded", b'{"name": "noop"}'),
    (
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n{}\r\n--x--\r\n',
    ),
]


@pytest.mark.parametrize("token", [None, "s3cret"])
def test_cross_site_simple_posts_are_refused(
    spawn_manager: SpawnManager, sync_redis: redis.Redis, token: str | None
) -> None:
    env = {"DISTRITASK_API_TOKEN": token} if token else None
    base = spawn_manager(env=env).url
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    # one client for the many requests (a client per request costs ~30 ms)
    with httpx.Client(base_url=base) as http:
        for path in MUTATING:
            for content_type, body in SIMPLE_BODIES:
                headers = {**auth, "Content-Type": content_type}
                foreign = http.post(
                    path, content=body, headers={**headers, "Origin": "http://evil.example"}
                )
                assert foreign.status_code == 403, (path, content_type)
                assert "ALLOWED_ORIGIN" in foreign.json()["error"]
                not_json = http.post(path, content=body, headers=headers)
                assert not_json.status_code == 415, (path, content_type)
                assert "application/json" in not_json.json()["error"]
            evil_json = {
                **auth,
                "Origin": "http://evil.example",
                "Content-Type": "application/json",
            }
            assert http.post(path, content=b"{}", headers=evil_json).status_code == 403
            assert http.post(path, headers={**auth, "Origin": "null"}).status_code == 403
        assert sync_redis.xlen(keys.TASK_STREAM) == 0
        # what still works: the page (its origin, JSON), a script (no origin, no body)
        page = {**auth, "Origin": "http://localhost:3000", "Content-Type": "application/json"}
        assert http.post("/submit", content=b"{}", headers=page).status_code == 200
        assert http.post("/submit", headers=auth).status_code == 200
        typed = {**auth, "Content-Type": "application/json; charset=utf-8"}
        assert http.post("/submit", content=b'{"count": 2}', headers=typed).status_code == 200
        assert sync_redis.xlen(keys.TASK_STREAM) == 4


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_one_submit_cannot_amplify_a_payload_past_the_budget(
    spawn_manager: SpawnManager, sync_redis: redis.Redis
) -> None:
    manager = spawn_manager()
    before = peak_rss_mb(manager.process.pid)
    payload = "x" * 100_000  # 100 KB, as in the report that drove the manager to 1.13 GB
    response = httpx.post(
        manager.url + "/submit",
        json={"name": "noop", "payload": payload, "count": 1000},
        timeout=30,
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert "DISTRITASK_MAX_SUBMIT_BYTES" in error and str(8 << 20) in error
    assert "1000 x 100002 bytes" in error
    assert sync_redis.xlen(keys.TASK_STREAM) == 0
    assert peak_rss_mb(manager.process.pid) - before < 50
    # up to the budget is fine
    fits = httpx.post(
        manager.url + "/submit", json={"name": "noop", "payload": payload, "count": 80}, timeout=30
    )
    assert fits.status_code == 200 and len(fits.json()["ids"]) == 80
    assert sync_redis.xlen(keys.TASK_STREAM) == 80


def test_the_submit_budget_is_a_setting(
    spawn_manager: SpawnManager, sync_redis: redis.Redis
) -> None:
    base = spawn_manager("--max-submit-bytes", "10000").url
    small = httpx.post(base + "/submit", json={"payload": "x" * 998, "count": 10})
    assert small.status_code == 200  # 10 x 1000 bytes: exactly the budget
    big = httpx.post(base + "/submit", json={"payload": "x" * 999, "count": 10})
    assert big.status_code == 413 and "budget of 10000 bytes" in big.json()["error"]
    assert sync_redis.xlen(keys.TASK_STREAM) == 10


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_documentation_pages_need_no_internet(manager: str, page: str) -> None:
    html = httpx.get(manager + page)
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html.text)
    assets += re.findall(r"""\burl:\s*["']([^"']+)["']""", html.text)  # the schema
    assert len(assets) >= 2, html.text
    assert not re.search(r"https?://", html.text), "a page asset comes from elsewhere"
    for asset in assets:
        assert asset.startswith("/"), asset
        response = httpx.get(manager + asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 100, asset
