"""Packaging: the wheel carries every package, and the PyInstaller program runs every role.

The build test is marked ``slow`` (about a minute); ``.ci/run`` runs it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_every_python_package_is_listed_in_pyproject() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("backend", "distritask_gui")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert on_disk <= listed
    assert "distritask_gui.resources" in listed


def test_every_resource_file_is_listed_in_build_spec() -> None:
    spec = (ROOT / "build.spec").read_text()
    for path in (ROOT / "resources").rglob("*"):
        if path.is_file() and path.suffix in {".qss", ".svg", ".png"}:
            assert f'"{path.relative_to(ROOT / "resources").as_posix()}"' in spec, path


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_packaged_program_self_tests_with_a_bare_environment(tmp_path: Path) -> None:
    pytest.importorskip("PyInstaller")
    work = tmp_path / "build"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(tmp_path / "dist"),
            "--workpath",
            str(work),
            "build.spec",
        ],
        cwd=ROOT,
        check=True,
        timeout=800,
    )
    moved = tmp_path / "elsewhere" / "distritask"
    shutil.move(str(tmp_path / "dist" / "distritask"), moved)  # still runs after a move
    home = tmp_path / "home"
    home.mkdir()
    bare = {"PATH": "/usr/bin:/bin", "HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    program = moved / "distritask"
    help_text = subprocess.run(
        [str(program), "worker", "--help"], env=bare, capture_output=True, text=True, timeout=60
    )
    assert help_text.returncode == 0 and "--concurrency" in help_text.stdout
    result = subprocess.run(
        [str(program), "--self-test"], env=bare, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr
    size = sum(f.stat().st_size for f in moved.rglob("*") if f.is_file())
    sys.stderr.write(f"bundle size: {size / 1e6:.0f} MB\n")
    assert size < 300e6, "the bundle grew: check build.spec's excludes"
