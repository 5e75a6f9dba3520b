"""What a bench run found: rows for the markdown table, and the JSON file.

Every measure is a :class:`Row`; a part returns its rows plus free-form details (kept
in the JSON only). Rates carry their ratio to the raw limit measured in the same run;
measures with a target from issue 6 say whether it was met.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class Row:
    part: str
    measure: str
    value: float
    unit: str
    ratio: float | None = None
    """``value`` over the raw limit of the same run (rates only)."""
    target: str = ""
    met: bool | None = None


def at_least(row: Row, bound: float) -> Row:
    row.target = f">= {_number(bound, row.unit)}"
    row.met = not math.isnan(row.value) and row.value >= bound
    return row


def at_most(row: Row, bound: float) -> Row:
    row.target = f"<= {_number(bound, row.unit)}"
    row.met = not math.isnan(row.value) and row.value <= bound
    return row


def _number(value: float, unit: str) -> str:
    if math.isnan(value):
        return "n/a"
    if unit in ("/s", "MB", "frames/s"):
        text = f"{value:,.0f}"
    elif unit in ("ms", "s"):
        text = f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    else:
        text = f"{value:,.3g}"
    return f"{text} {unit}".strip()


def markdown(rows: list[Row]) -> str:
    lines = [
        "| part | measure | value | vs raw limit | target |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for row in rows:
        ratio = "" if row.ratio is None or math.isnan(row.ratio) else f"{row.ratio:.1%}"
        target = row.target
        if row.met is not None:
            target = f"{target} {'ok' if row.met else 'MISSED'}"
        lines.append(
            f"| {row.part} | {row.measure} | {_number(row.value, row.unit)} | {ratio} | {target} |"
        )
    return "\n".join(lines)


def machine(server: dict[str, Any]) -> dict[str, Any]:
    """Where the figures came from."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    memory_gb = math.nan
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory_gb = round(pages / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "server": server,
    }


def _clean(value: Any) -> Any:
    """JSON has no NaN: write ``null`` instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def write_json(
    path: Path,
    rows: list[Row],
    details: dict[str, Any],
    where: dict[str, Any],
    options: dict[str, Any],
) -> None:
    document = {
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": where,
        "options": options,
        "rows": [asdict(row) for row in rows],
        "details": details,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(document), indent=2, allow_nan=False) + "\n")
