"""Is there a display the panel can open a window on? Asked before Qt is started.

Qt aborts the process (a core dump, exit 134) when its platform plugin cannot start:
no ``DISPLAY``, an X server that does not answer, or a system library the xcb plugin
needs (``libxcb-cursor0``, ``libxcb-icccm4``, ``libxcb-keysyms1`` …) not installed; and
its message then often blames the wrong library. :func:`display_problem` checks the
same things first, without starting Qt: it loads the plugin the way Qt would (so the
loader names the library that is missing) and connects to the X server with libxcb.
The panel then prints one line and exits 2 instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path

NEEDS_DISPLAY = ("xcb", "wayland")
"""Qt platforms that need a desktop session (the others, e.g. offscreen, never do)."""
DESKTOP_PACKAGES = (
    "libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 "
    "libxcb-shape0 libxkbcommon-x11-0 libgl1 libegl1 libxkbcommon0 libfontconfig1 "
    "libglib2.0-0 libdbus-1-3"
)
"""What a desktop run needs on Debian/Ubuntu (``apt-get install``), as in the README."""


def _plugin(name: str) -> Path | None:
    try:
        import PySide6
    except ImportError:
        return None
    path = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / f"libq{name}.so"
    return path if path.exists() else None


def _load_problem(name: str) -> str | None:
    """Why Qt's ``name`` platform plugin cannot be loaded, or ``None``."""
    path = _plugin(name)
    if path is None:
        return None  # not a wheel layout we know: let Qt try
    try:
        ctypes.CDLL(str(path), mode=os.RTLD_LAZY)
    except OSError as exc:
        missing = str(exc).split(":")[0].strip() if ".so" in str(exc) else str(exc)
        return f"Qt's {name} plugin needs {missing}, which is not installed"
    return None


def _x_problem(display: str) -> str | None:
    """Why the X server at ``display`` cannot be reached, or ``None``."""
    found = ctypes.util.find_library("xcb")
    if found is None:
        return "libxcb is not installed"
    try:
        xcb = ctypes.CDLL(found)
    except OSError as exc:
        return str(exc)
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        if xcb.xcb_connection_has_error(connection):
            return f"the X server at DISPLAY={display} does not answer"
    finally:
        xcb.xcb_disconnect(connection)
    return None


def display_problem(
    env: Mapping[str, str] | None = None, platform: str = sys.platform
) -> str | None:
    """Why the panel cannot open a window here, or ``None`` when it can (or when this
    platform is not one we can check: Windows, macOS, a non-desktop Qt platform)."""
    env = os.environ if env is None else env
    if not platform.startswith("linux"):
        return None
    chosen = env.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip()
    if chosen and not chosen.startswith(NEEDS_DISPLAY):
        return None  # offscreen, vnc, eglfs …: no desktop needed
    if env.get("WAYLAND_DISPLAY") and chosen in ("", "wayland"):
        if _load_problem("wayland") is None:
            return None
        if chosen == "wayland":
            return _load_problem("wayland")
    display = env.get("DISPLAY", "")
    if not display:
        return "no display: DISPLAY is not set"
    return _load_problem("xcb") or _x_problem(display)


def no_display_line(problem: str) -> str:
    """The one line the panel prints before exiting 2."""
    return (
        f"distritask: cannot open the panel ({problem}); without a desktop, try "
        "'distritask --self-test' or run the headless parts (distritask worker, manager, "
        f"dashboard, submit); a desktop on Debian/Ubuntu needs: apt-get install {DESKTOP_PACKAGES}"
    )
