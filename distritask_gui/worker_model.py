"""The workers the panel shows a column for, as a Qt list model fed with plain data.

A worker appears when its heartbeat does (:meth:`WorkerModel.set_heartbeats`, fed by
the bridge's poll of ``TaskStore.workers()``) or, for a Go worker that sends none, when
a task is first seen on it (:meth:`WorkerModel.ensure`). It is offline when its
heartbeat lapses; a worker without heartbeats is online while its updates keep coming
(:data:`QUIET_AFTER` seconds). Rows are in natural name order (``worker-2`` before
``worker-10``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from backend.protocol import WorkerInfo

QUIET_AFTER = 60.0
"""Seconds a worker without heartbeats stays online after its last update."""

Index = QModelIndex | QPersistentModelIndex


def natural_key(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


@dataclass
class WorkerEntry:
    """One worker's column header data."""

    name: str
    info: WorkerInfo | None = None
    last_update: float = field(default_factory=time.monotonic)
    online: bool = True

    @property
    def has_heartbeat(self) -> bool:
        return self.info is not None


class WorkerModel(QAbstractListModel):
    EntryRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[WorkerEntry] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        entry = self._rows[index.row()]
        if role == self.EntryRole:
            return entry
        if role == Qt.ItemDataRole.DisplayRole:
            return entry.name
        return None

    def entry(self, name: str) -> WorkerEntry | None:
        return next((e for e in self._rows if e.name == name), None)

    def entries(self) -> list[WorkerEntry]:
        return list(self._rows)

    def set_heartbeats(self, infos: Iterable[WorkerInfo]) -> None:
        """The workers' latest heartbeats (online or lapsed)."""
        for info in infos:
            entry = self._get_or_add(info.name, online=info.online)
            entry.info = info
            entry.online = info.online
            self._changed(entry)
        self.refresh()

    def ensure(self, names: Iterable[str], *, live: bool = False) -> None:
        """Make sure these workers have a column; ``live``: they just sent an update."""
        for name in names:
            entry = self._get_or_add(name, online=live)
            if live:
                entry.last_update = time.monotonic()
                if not entry.has_heartbeat and not entry.online:
                    entry.online = True
                    self._changed(entry)

    def refresh(self) -> None:
        """Mark workers without heartbeats offline once their updates stop."""
        now = time.monotonic()
        for entry in self._rows:
            if entry.has_heartbeat or not entry.online:
                continue
            if now - entry.last_update > QUIET_AFTER:
                entry.online = False
                self._changed(entry)

    def _get_or_add(self, name: str, *, online: bool) -> WorkerEntry:
        for entry in self._rows:
            if entry.name == name:
                return entry
        entry = WorkerEntry(name=name, online=online)
        key = natural_key(name)
        row = next((i for i, e in enumerate(self._rows) if natural_key(e.name) > key), None)
        row = len(self._rows) if row is None else row
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.insert(row, entry)
        self.endInsertRows()
        return entry

    def _changed(self, entry: WorkerEntry) -> None:
        row = self._rows.index(entry)
        self.dataChanged.emit(self.index(row), self.index(row))
