"""Bodies of the operations routes: bulk actions on tasks, and dead letters."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from backend.protocol import TaskStatus

MAX_IDS = 10_000
"""Ids one bulk or dead-letter request may name (a filter has no such limit)."""
Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]
_UINT64 = (1 << 64) - 1


def _entry_id(value: str) -> str:
    if any(int(part) > _UINT64 for part in value.split("-")):
        raise ValueError("not a stream entry id: a part is over 2**64 - 1")
    return value


EntryId = Annotated[
    str, StringConstraints(pattern=r"^\d{1,20}-\d{1,20}$"), AfterValidator(_entry_id)
]
"""A stream entry id, as ``GET /dead-letters`` lists them (``1732800000000-0``)."""


class BulkFilter(BaseModel):
    """Which tasks: every field given must match; ``{}`` matches every retained task."""

    model_config = ConfigDict(extra="forbid")

    status: TaskStatus | None = None
    name: Text | None = None
    queue: Text | None = None
    worker: Text | None = None
    q: Text | None = Field(None, description="free text over id, message and error")


class BulkRequest(BaseModel):
    """An action on the tasks ``ids``, or on every task ``filter`` matches (one of the two)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["cancel", "retry", "delete"] = Field(
        description="cancel: queued or running tasks; retry: failed or cancelled ones, "
        "as a new attempt; delete: forget finished tasks"
    )
    ids: list[Text] | None = Field(None, min_length=1, max_length=MAX_IDS)
    filter: BulkFilter | None = None

    @model_validator(mode="after")
    def _one_target(self) -> BulkRequest:
        if (self.ids is None) == (self.filter is None):
            raise ValueError("give either ids or filter (not both)")
        return self


class BulkResult(BaseModel):
    matched: int = Field(description="tasks named or matching the filter")
    done: int = Field(description="tasks the action changed (the others were left alone)")


class DeadLetterEntry(BaseModel):
    entry: str = Field(description="the entry's id in the dead-letter stream")
    task_id: str
    task_data: str = Field(description="the task as it was queued (raw; may not parse)")
    error: str = Field(description="why it was dead-lettered")
    worker: str
    ts: float | None = Field(None, description="when (epoch seconds)")


class DeadLetterPage(BaseModel):
    total: int = Field(description="entries in the dead-letter stream")
    offset: int
    limit: int
    entries: list[DeadLetterEntry] = Field(description="newest first")


class DeadLetterRequeue(BaseModel):
    """Queue these entries' tasks again (then remove the entries)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[EntryId] = Field(min_length=1, max_length=MAX_IDS)
    payload: Any = Field(
        None, description="an edited payload for the task (only with exactly one id)"
    )

    @model_validator(mode="after")
    def _payload_for_one(self) -> DeadLetterRequeue:
        if "payload" in self.model_fields_set and len(self.ids) != 1:
            raise ValueError("an edited payload goes with exactly one id")
        return self


class RequeueResult(BaseModel):
    requeued: int
    problems: list[str] = Field(description="entries left alone, and why")


class DeadLetterDelete(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[EntryId] = Field(min_length=1, max_length=MAX_IDS)


class DeleteResult(BaseModel):
    deleted: int = Field(description="entries that existed and are gone")
