"""The control panel's entry point: ``distritask`` (or ``python -m distritask_gui``).

One QApplication runs one asyncio loop through qasync. With no broker configured
(``REDIS_URL``, ``--redis-url`` or the URL saved in Settings) the panel starts the
local cluster (embedded broker + ``--local-workers`` worker processes), keeps it alive
(a worker or the server that exits is restarted with backoff) and stops it on exit.
SIGTERM and SIGINT close the window, which ends the run cleanly: the bridge is
stopped, then the workers, then the broker.

With no usable display (no ``DISPLAY``, an X server that does not answer, a system
library Qt's xcb plugin needs missing) it prints one line saying so and exits 2,
before Qt could abort (:mod:`distritask_gui.display`).

``--self-test`` and ``--screenshot PATH`` run offscreen, on a throw-away data directory
and a free port unless ``--data-dir`` is given, and exit when done (see
:mod:`distritask_gui.automation`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication

from backend import valkey_server
from backend.alerts import Thresholds
from backend.config import Settings
from backend.policy import SubmitPolicy
from distritask_gui.display import display_problem, no_display_line

ORGANIZATION = "Distritask"
APPLICATION = "distritask"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
NO_DISPLAY = 2
"""Exit status when there is no usable display (checked before Qt starts)."""


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Open the panel (or run ``--self-test`` / ``--screenshot``); the exit status."""
    headless = bool(getattr(args, "self_test", False) or getattr(args, "screenshot", None))
    if headless:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    elif QApplication.instance() is None:
        problem = display_problem()
        if problem is not None:
            print(no_display_line(problem), file=sys.stderr)
            return NO_DISPLAY
    import qasync

    app = make_app()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            return int(loop.run_until_complete(_main(settings, args, headless)))
    finally:
        asyncio.set_event_loop(None)


def _free_port() -> int:
    """A port nobody listens on now: a throw-away cluster never takes a well-known one
    (where workers of an earlier cluster may still be trying to reconnect)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_app() -> QApplication:
    """The QApplication, named for QSettings and styled."""
    from distritask_gui import theme

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Distritask")
    app.setQuitOnLastWindowClosed(False)  # the run ends through MainWindow.closed
    app.setStyleSheet(theme.stylesheet())
    app.setWindowIcon(theme.app_icon())
    return app


async def ask_for_broker() -> str | None:
    """Where no embedded server exists (Windows, Intel macOS): ask for a broker URL,
    with the settings dialog and its Test button; the URL saved, or ``None``."""
    from PySide6.QtWidgets import QDialog

    from distritask_gui.bridge import Bridge
    from distritask_gui.settings_dialog import SettingsDialog, saved_url

    tester = Bridge("redis://127.0.0.1:6379")  # never started: only its Test is used
    dialog = SettingsDialog("no broker")
    dialog.note.setText(
        "This platform has no embedded Redis server. Enter the URL of a Redis or Valkey "
        "server to join (it is saved for the next start)."
    )
    dialog.test_requested.connect(tester.actions.test_url)
    tester.actions.test_result.connect(dialog.show_test_result)
    finished = asyncio.Event()
    dialog.finished.connect(lambda _result: finished.set())
    dialog.open()
    await finished.wait()
    await tester.stop()
    accepted = dialog.result() == QDialog.DialogCode.Accepted
    dialog.deleteLater()
    return saved_url() if accepted else None


async def _main(settings: Settings, args: argparse.Namespace, headless: bool) -> int:
    from distritask_gui import automation
    from distritask_gui.alert_settings import saved_thresholds
    from distritask_gui.bridge import Bridge
    from distritask_gui.local_cluster import LocalCluster
    from distritask_gui.settings_dialog import saved_url
    from distritask_gui.window import MainWindow

    loop = asyncio.get_running_loop()
    supervisor: asyncio.Task[None] | None = None
    with contextlib.ExitStack() as stack:
        url = settings.redis_url or (None if headless else saved_url())
        if url is None and not valkey_server.available():
            url = None if headless else await ask_for_broker()
            if url is None:
                print(
                    "distritask: this platform has no embedded Redis server: set REDIS_URL "
                    "or --redis-url to a Redis or Valkey server",
                    file=sys.stderr,
                )
                return 1
        if url is None:
            if headless and "data_dir" not in vars(args):
                temp = stack.enter_context(tempfile.TemporaryDirectory(prefix="distritask-"))
                port = settings.broker_port or _free_port()
                settings = settings.model_copy(update={"data_dir": Path(temp), "broker_port": port})
            cluster = LocalCluster(
                settings, workers=max(1, settings.local_workers) if headless else None
            )
            stack.callback(cluster.stop)
            url = cluster.start()
            supervisor = loop.create_task(cluster.supervise())
        thresholds = saved_thresholds(Thresholds.from_settings(settings))
        bridge = Bridge(
            url,
            policy=SubmitPolicy.from_settings(settings),
            thresholds=thresholds,
            settings=settings,
        )
        window = MainWindow(bridge, claim_idle=settings.claim_idle)
        if supervisor is not None:
            cluster.on_problem = lambda text: window.statusBar().showMessage(text, 10_000)
            window.set_local_cluster(cluster)
        closed = asyncio.Event()
        window.closed.connect(closed.set)
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, window.close)
            stack.callback(loop.remove_signal_handler, signum)
        bridge.start()
        try:
            if args.self_test:
                return await automation.self_test(window)
            if args.screenshot:
                return await automation.screenshot(window, Path(args.screenshot))
            window.show()
            await closed.wait()
            return 0
        finally:
            if supervisor is not None:  # before the cluster stops: nothing restarts then
                supervisor.cancel()
                await asyncio.gather(supervisor, return_exceptions=True)
            await bridge.stop()
            window.hide()
            window.deleteLater()
    return 0
