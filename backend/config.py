"""One typed settings object for every part, read from the environment and flags.

The original Go services' variables keep their names (``REDIS_URL``, ``HOST``,
``PORT``, ``ALLOWED_ORIGIN``); our own knobs are ``DISTRITASK_<NAME>``. Each is also
a command-line flag (``--redis-url``, ``--concurrency``…), which wins over the
environment (the flags: :mod:`backend.setting_flags`). A bad value raises
:class:`~backend.errors.ConfigError` naming the setting and the value; the command
line turns that into one line and exit status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from backend.broker_url import mask_url, redis_url_problem
from backend.errors import ConfigError
from backend.protocol import DEFAULT_QUEUE, QUEUE_PATTERN

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
QueueName = Annotated[str, StringConstraints(pattern=QUEUE_PATTERN)]


DEFAULT_RETENTION = 1_000_000
"""Task states kept by default: the manager, the panel and the dashboard read only
what they show from Redis' indexes, so a million cost them no more than a hundred."""


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("distritask", appauthor=False))


def _env(name: str, field: str) -> AliasChoices:
    return AliasChoices(name, field)


class Settings(BaseSettings):
    """Every setting of every part; each part reads the ones it needs."""

    model_config = SettingsConfigDict(
        env_prefix="DISTRITASK_",
        populate_by_name=True,
        extra="ignore",
        validate_default=True,
    )

    redis_url: str | None = Field(
        None,
        validation_alias=_env("REDIS_URL", "redis_url"),
        description="Redis to join (redis://, rediss:// with TLS, unix://, or through "
        "Sentinel: redis+sentinel://[:PASSWORD@]HOST:26379,HOST:26379/SERVICE, "
        "rediss+sentinel:// with TLS); unset: start the embedded server",
    )
    cluster: Literal["auto", "on", "off"] = Field(
        "auto",
        description="whether REDIS_URL is a node of a Redis/Valkey Cluster: auto asks the "
        "server (INFO cluster), on/off say so",
    )
    classic_updates: bool = Field(
        True,
        description="in a cluster, also PUBLISH each status update on the Go-compatible "
        "task_updates channel (broadcast to every node); off: the sharded channel only",
    )
    shards: int = Field(
        0,
        ge=0,
        le=1024,
        description="in a cluster, the shard streams one logical queue is spread over; "
        "0: one per primary. Fixed when the queue is first created (stored in the cluster)",
    )
    submit_replicas: int = Field(
        0,
        ge=0,
        description="replicas each submit waits for (WAIT) before it returns, so that a "
        "submit acknowledged survives a failover; short of them within "
        "--submit-replicas-timeout the submit fails (its tasks stay queued); 0: no wait",
    )
    submit_replicas_timeout: float = Field(
        1.0, gt=0, description="seconds a submit waits for --submit-replicas"
    )
    host: str = Field(
        "127.0.0.1",
        validation_alias=_env("HOST", "host"),
        description="address the HTTP/WebSocket service listens on",
    )
    port: int | None = Field(
        None,
        ge=1,
        le=65535,
        validation_alias=_env("PORT", "port"),
        description="port the service listens on (manager 8080, dashboard 8081)",
    )
    allowed_origin: str = Field(
        "http://localhost:3000",
        validation_alias=_env("ALLOWED_ORIGIN", "allowed_origin"),
        description="origin allowed by CORS (the web page)",
    )

    data_dir: Path = Field(
        default_factory=default_data_dir, description="where the embedded server keeps its data"
    )
    broker_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="port of the embedded server (default: first free from 16379)",
    )
    log_level: LogLevel = Field("INFO", description="log verbosity")

    concurrency: int = Field(3, ge=1, le=1000, description="tasks a worker runs at once")
    worker_name: str | None = Field(
        None, min_length=1, max_length=100, description="worker name (default host-pid)"
    )
    tasks_module: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="modules that register task handlers"
    )
    queues: Annotated[list[QueueName], NoDecode] = Field(
        default_factory=lambda: [DEFAULT_QUEUE],
        min_length=1,
        description="queues a worker takes from, in strict priority order (comma separated)",
    )
    max_retries: int = Field(3, ge=0, le=100, description="default retries of a failing task")
    retry_backoff: float = Field(
        1.0, gt=0, le=3600, description="seconds before a failed task's first retry (doubles)"
    )
    parent_pid: int | None = Field(
        None, ge=1, description="stop when this process exits (the panel sets it for its workers)"
    )
    task_timeout: float = Field(300.0, gt=0, description="seconds a task may run")
    claim_idle: float = Field(
        30.0, gt=0, description="seconds before a dead worker's tasks are reclaimed"
    )
    foreign_claim_idle: float = Field(
        600.0,
        gt=0,
        description="seconds before tasks held by a consumer that is not one of ours "
        "(a Go worker: 'dispatcher') are reclaimed",
    )
    heartbeat_ttl: float = Field(
        5.0, gt=0, description="seconds a worker stays online without a heartbeat"
    )
    grace_period: float = Field(
        30.0, ge=0, description="seconds running tasks get to finish on shutdown"
    )
    housekeeping_every: float = Field(
        5.0,
        gt=0,
        le=3600,
        description="seconds between a worker's housekeeping rounds (trim the task stream, "
        "remove gone consumers from the group)",
    )
    consumer_gone_after: float = Field(
        10.0,
        gt=0,
        le=86400,
        description="seconds a consumer with no heartbeat and no entry held must be idle "
        "before housekeeping removes it from the group",
    )
    retention: int = Field(
        DEFAULT_RETENTION,
        ge=100,
        description="task states kept for late viewers and the Tasks view (the newest; "
        "older ones are forgotten as new tasks come); about 1.3 KB of Redis memory each "
        "with its timeline and indexes",
    )

    api_token: SecretStr | None = Field(
        None,
        description="bearer token the manager's mutating routes require (the environment "
        "keeps it out of the process list; unset: no token)",
    )
    max_body: int = Field(1 << 20, ge=1024, description="largest request body in bytes")
    max_submit_bytes: int = Field(
        8 << 20,
        ge=1024,
        description="budget of one submit request: count x payload bytes (JSON)",
    )
    max_result: int = Field(
        1 << 20, ge=1024, description="largest handler result, in bytes of JSON (larger fails)"
    )
    allowed_tasks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="task names the manager and submit accept besides the builtin ones "
        "(space or comma separated; '*' accepts any well-formed name)",
    )
    local_workers: int = Field(
        3, ge=0, le=64, description="worker processes the panel starts on the embedded broker"
    )
    alert_no_consumer_after: float = Field(
        60.0, gt=0, description="seconds tasks may wait in a queue no worker reads before an alert"
    )
    alert_failure_rate: float = Field(
        0.5,
        gt=0,
        le=1,
        description="share of the last minute's finished tasks that failed above which to alert",
    )
    alert_broker_down_after: float = Field(
        30.0, gt=0, description="seconds the broker may be unreachable before an alert"
    )
    alert_memory_bytes: int = Field(
        0,
        ge=0,
        description="Redis memory in bytes above which to alert "
        "(0: 90 percent of the server's maxmemory, none when it has no limit)",
    )
    alert_repeat: float = Field(
        30.0, gt=0, description="minutes between repeats of an alert whose condition holds"
    )
    alert_check_every: float = Field(
        2.0, gt=0, le=3600, description="seconds between the manager's checks of the alerts"
    )

    @field_validator("redis_url", mode="before")
    @classmethod
    def _clean_url(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = value.strip().strip("'\"").strip()  # as the Go services do
        if not value:
            return None
        problem = redis_url_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("api_token", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError(
                "is empty, which would silently turn the token check off: set a token, "
                "or unset the variable to run without one"
            )
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("allowed_tasks", "tasks_module", "queues", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        """A list from the environment: names separated by spaces or commas."""
        if isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]
        return value


_ENV_NAMES = {
    "redis_url": "REDIS_URL",
    "host": "HOST",
    "port": "PORT",
    "allowed_origin": "ALLOWED_ORIGIN",
}


def env_name(field: str) -> str:
    """The environment variable a setting is read from."""
    return _ENV_NAMES.get(field, "DISTRITASK_" + field.upper())


def load_settings(flags: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from the environment, with ``overrides`` (flags) winning.

    ``flags`` names the flag each override came from, for error messages.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]).lower() if error["loc"] else "settings"
        value = error.get("input")
        flag = (flags or {}).get(field) or "--" + field.replace("_", "-")
        name = flag if field in given else env_name(field)
        reason = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(name, _shown(field, value), reason) from None


SECRETS = frozenset({"api_token"})
"""Settings whose value an error never shows."""


def _shown(field: str, value: Any) -> Any:
    """A bad value as an error may show it: secrets hidden, URLs without passwords."""
    if field in SECRETS and value:
        return "***"
    return mask_url(value) if isinstance(value, str) else value
