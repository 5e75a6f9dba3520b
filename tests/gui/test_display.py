"""With no usable display the panel says so in one line and exits 2, never a core dump."""

from __future__ import annotations

import os
import subprocess
import sys

from distritask_gui.display import display_problem
from tests.conftest import ROOT

DESKTOP_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def _bare_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DESKTOP_VARIABLES}
    return env | extra


def test_the_panel_without_a_display_prints_one_line_and_exits_2(tmp_path: object) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "--data-dir", str(tmp_path)],
        env=_bare_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "DISPLAY is not set" in lines[0] and "--self-test" in lines[0]
    assert "distritask worker" in lines[0] and "libxcb-icccm4" in lines[0]


def test_an_x_display_that_does_not_answer_is_a_problem_too() -> None:
    problem = display_problem(_bare_env(DISPLAY=":87"), platform="linux")
    # either a library the xcb plugin needs is missing, or no X server answers on :87
    assert problem is not None and ("not installed" in problem or "does not answer" in problem)


def test_platforms_that_need_no_desktop_are_not_checked() -> None:
    assert display_problem(_bare_env(QT_QPA_PLATFORM="offscreen"), platform="linux") is None
    assert display_problem(_bare_env(), platform="win32") is None
