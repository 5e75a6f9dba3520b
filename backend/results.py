"""A handler's return value, checked before it is stored with the task's state.

A result must be JSON (what ``json.dumps`` accepts, without NaN or infinities) and at
most ``DISTRITASK_MAX_RESULT`` bytes once encoded; otherwise the task fails with a
message saying which. The ``completed`` status update carries the result too, so a
waiting :meth:`backend.client.Client.result` needs no extra read, unless it is over
:data:`INLINE_LIMIT` bytes: then only the stored state has it (every viewer gets
every update, so large values stay off the channel).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

INLINE_LIMIT = 16 * 1024
"""Largest result (bytes of JSON) the ``completed`` update carries itself."""


class ResultRefused(ValueError):
    """A handler returned a value that cannot be stored; the message says why."""


@dataclass(frozen=True, slots=True)
class Result:
    """A checked result: the value and whether the update carries it."""

    value: Any
    inline: bool


NONE = Result(None, inline=True)


def check_result(value: Any, limit: int) -> Result:
    """``value`` as a storable result; :class:`ResultRefused` when it is not JSON or
    its JSON is over ``limit`` bytes."""
    if value is None:
        return NONE
    try:
        encoded = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise ResultRefused(f"result is not JSON-serialisable: {exc}") from None
    size = len(encoded.encode())
    if size > limit:
        raise ResultRefused(
            f"result is {size:,} bytes of JSON, over the limit of {limit:,} (DISTRITASK_MAX_RESULT)"
        )
    return Result(value, inline=size <= INLINE_LIMIT)
