"""The ``distritask`` command: finding its parts, and loading only the chosen one."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

from backend.cli import build_parser
from backend.parts import BUILTIN, DEFAULT, discover
from tests.conftest import Spawn
from tests.waiting import eventually_sync

BACKEND = Path(__file__).resolve().parents[2] / "backend"


def test_backend_names_no_gui_or_bench_module() -> None:
    offenders = [
        f"{path.relative_to(BACKEND.parent)}: {match.group(0)}"
        for path in BACKEND.rglob("*.py")
        for match in re.finditer(r"\bdistritask_(gui|bench)\b[\w.]*", path.read_text())
    ]
    assert offenders == []


def test_the_panel_and_the_bench_are_found_through_entry_points() -> None:
    parts = discover()
    assert parts[DEFAULT].module == "distritask_gui.app"
    assert parts["bench"].module == "distritask_bench.run"
    assert set(BUILTIN) <= set(parts)


def test_bench_subcommand_gets_its_own_flags() -> None:
    parser, module = build_parser(["bench", "--quick"])
    assert module is not None and module.__name__ == "distritask_bench.run"
    assert parser.parse_args(["bench", "--quick"]).quick


def test_a_running_worker_never_loads_qt(spawn: Spawn, tmp_path: Path) -> None:
    worker = spawn("worker", "--name", "w-lean")
    log = tmp_path / "worker-0.log"
    eventually_sync(lambda: "worker w-lean ready" in log.read_text(), within=30)
    # Every shared library the process has loaded: PySide6 would bring libQt6*/libpyside6*.
    maps = Path(f"/proc/{worker.pid}/maps").read_text()
    assert "libpython" in maps or "python" in maps  # the map is the worker's
    assert not re.search(r"Qt6|pyside6|shiboken6", maps, re.IGNORECASE)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0


def test_a_builtin_part_loads_no_other_package() -> None:
    code = (
        "import sys; from backend.cli import build_parser; build_parser(['worker']); "
        "print(sorted(m for m in sys.modules if m.startswith(('distritask_', 'PySide6'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
