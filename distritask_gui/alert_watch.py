"""The panel's alert checks: the backend's engine (:mod:`backend.alerts`) run on the
bridge's connection, its events handed to Qt as a signal (widgets never await)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from backend.alerts import AlertEngine, AlertEvent, AlertWatch, Thresholds
from backend.store import TaskStore
from distritask_gui.cancelling import cancel_all


class PanelAlerts(QObject):
    changed = Signal(object)
    """An :class:`~backend.alerts.AlertEvent` (fired, repeated or resolved)."""

    def __init__(
        self,
        store: Callable[[], TaskStore | None],
        address: str,
        parent: QObject | None = None,
        *,
        thresholds: Thresholds | None = None,
        every: float | None = None,
    ) -> None:
        super().__init__(parent)
        thresholds = thresholds or Thresholds()
        self.engine = AlertEngine(thresholds.repeat)
        self.watch = AlertWatch(store, self.engine, thresholds, where=address, on_event=self._emit)
        if every is not None:
            self.watch.every = every
        self._task: asyncio.Task[None] | None = None

    @property
    def thresholds(self) -> Thresholds:
        return self.watch.thresholds

    def set_thresholds(self, thresholds: Thresholds) -> None:
        """Apply new thresholds from the next check on."""
        self.watch.thresholds = thresholds
        self.engine.repeat = thresholds.repeat

    def _emit(self, event: AlertEvent) -> None:
        self.changed.emit(event)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.watch.run(), name="alerts")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:  # cancelled again each round: see cancel_all
            await cancel_all({task})
