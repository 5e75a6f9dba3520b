"""One column of cards: the queue, or one worker's tasks.

A column is a view, not a widget per task: the task model keeps the column's
:class:`~distritask_gui.columns.ColumnCards`, its newest
:data:`~distritask_gui.columns.SHOWN` cards (newest on top; the queue's oldest, oldest on
top, as that one runs next), and the list view paints them with
:class:`~distritask_gui.task_card.TaskCardDelegate`. The rest are counted in a "+K more"
button at the column's end, which asks for them in the Tasks view (``more_requested``).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backend.config import Settings
from backend.protocol import TaskStatus
from backend.store import QueueInfo
from distritask_gui import theme
from distritask_gui.card_list import CardList
from distritask_gui.task_card import TaskCardDelegate
from distritask_gui.task_model import QUEUE, TaskModel
from distritask_gui.worker_model import WorkerEntry
from distritask_gui.worker_orders import WorkerOrders
from distritask_gui.worker_text import identity, span

CLAIM_IDLE = float(Settings.model_fields["claim_idle"].default)
"""The workers' default claim-idle time (seconds before a dead worker's tasks move)."""
COLUMN_WIDTH = 260
COLUMN_MAX_WIDTH = 420

__all__ = ["CLAIM_IDLE", "CardList", "WorkerColumn"]


class WorkerColumn(QFrame):
    """The queue column (``key`` is ``QUEUE``) or one worker's column."""

    task_clicked = Signal(str)
    step_requested = Signal(int)
    """Left (-1) or Right (+1) pressed on a card: move to the neighbouring column."""
    order_requested = Signal(str, str)
    """``(order, worker name)``: the user confirmed "drain" or "stop" (worker columns)."""
    more_requested = Signal(str)
    """The column's key: "+K more" clicked, show all its tasks in the Tasks view."""

    def __init__(
        self,
        key: str,
        tasks: TaskModel,
        parent: QWidget | None = None,
        *,
        claim_idle: float = CLAIM_IDLE,
    ) -> None:
        super().__init__(parent)
        self.key = key
        self.tasks = tasks
        self.claim_idle = claim_idle
        self.setObjectName("column")
        self.setMinimumWidth(COLUMN_WIDTH)
        self.setMaximumWidth(COLUMN_MAX_WIDTH)
        self.newest = tasks.column_cards(key)
        self._entry: WorkerEntry | None = None
        self.online = True
        self.broker_up = True
        self.queue_depths = ""
        """The Queue column's per-queue depths (empty while only ``default`` is used)."""

        self.dot = theme.named(QLabel(), "dot")
        self.dot.setFixedSize(8, 8)
        self.title = theme.named(QLabel(), "columnTitle")
        self.count = theme.named(QLabel("0"), "badge")
        self.count.setToolTip("Tasks in this column")
        self.subtitle = theme.named(QLabel(), "columnSubtitle")
        self.stats = theme.named(QLabel(), "columnStats")
        self.empty = theme.named(QLabel("Standby"), "empty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.more = theme.named(QPushButton(), "more")
        self.more.setCursor(Qt.CursorShape.PointingHandCursor)
        self.more.setToolTip(
            "Every waiting task, oldest first, in the Tasks view"
            if key == QUEUE
            else f"Every task of {key} in the Tasks view"
        )
        self.more.clicked.connect(lambda: self.more_requested.emit(self.key))

        self.view = theme.named(CardList(), "cards")
        self.view.setModel(self.newest)
        self.view.setItemDelegate(TaskCardDelegate(self.view, reclaim_in=self.reclaim_in))
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self.view.viewport().update)
        self.view.setUniformItemSizes(True)
        self.view.setMouseTracking(True)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.view.setFrameShape(QFrame.Shape.NoFrame)
        self.view.clicked.connect(self._clicked)
        self.view.activated.connect(self._clicked)
        self.view.step_requested.connect(self.step_requested)
        self.view.setToolTip("Click or Enter: the task's details · arrow keys: move between cards")

        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self.dot)
        top.addWidget(self.title, 1)
        top.addWidget(self.count)
        self.orders: WorkerOrders | None = None
        if key != QUEUE:
            self.orders = WorkerOrders(key, self)
            self.orders.requested.connect(self.order_requested)
            self.menu_button = theme.named(QToolButton(), "columnMenu")
            self.menu_button.setText("\N{MIDLINE HORIZONTAL ELLIPSIS}")
            self.menu_button.setToolTip("Worker actions: Drain…, Stop now…")
            self.menu_button.setAccessibleName(f"Actions for worker {key}")
            self.menu_button.clicked.connect(self._menu_from_button)
            top.addWidget(self.menu_button)
            for label in (self.title, self.subtitle, self.stats):
                label.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
                label.customContextMenuRequested.connect(
                    lambda at, label=label: self._menu_at(label.mapToGlobal(at))
                )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 8)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.stats)
        layout.addSpacing(8)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.more)
        if key == QUEUE:
            self.title.setText("Queue")
            self.set_consumers(0)
            self._set_online(True)
        else:
            self.title.setText(key)
            self.set_entry(None)
        self.refresh()

    def set_entry(self, entry: WorkerEntry | None) -> None:
        """Show a worker's header data (``None``: only known from its tasks)."""
        if entry is None or entry.info is None or not entry.info.heartbeat:
            go = entry is not None and entry.info is not None and entry.info.kind == "go"
            self.subtitle.setText("Go worker · no heartbeat" if go else "no heartbeat (Go worker?)")
            self.subtitle.setToolTip("Known from its status updates only; it sends no heartbeat")
            online = entry.online if entry is not None else False
        else:
            info = entry.info
            self.subtitle.setText(identity(info))
            self.subtitle.setToolTip(
                f"Host {info.host or '?'}, pid {info.pid}, Distritask {info.version or '?'}: "
                f"runs up to {info.concurrency} tasks at once"
            )
            online = entry.online
        self._entry = entry
        if self.orders is not None:
            listens = entry is not None and entry.info is not None and entry.info.heartbeat
            self.orders.set_available(online and listens)
        self._set_online(online)
        self.refresh()

    def reclaim_in(self) -> float | None:
        """Seconds until the tasks of this offline worker are reclaimed by others
        (its last heartbeat + the claim-idle time), or ``None`` while it is online."""
        entry = self._entry
        if self.online or entry is None or entry.info is None or not entry.info.seen:
            return None
        if not entry.info.heartbeat:
            return None  # a Go worker's entries wait for the (much longer) foreign claim-idle
        return entry.info.seen + self.claim_idle - time.time()

    def set_consumers(self, workers: int) -> None:
        """Queue column: how many workers are taking tasks (heartbeats or updates)."""
        self.subtitle.setText(
            f"manager · {workers} worker{'s' if workers != 1 else ''} taking tasks"
            if workers
            else "manager · waiting for a worker"
        )
        self.subtitle.setToolTip(
            "Workers online: by heartbeat, or by recent updates for workers that send "
            "none (Go workers)"
        )

    def set_queue_depths(self, infos: list[QueueInfo]) -> None:
        """Queue column: each named queue's depth, once there is more than ``default``."""
        text = " · ".join(
            f"{info.name} {info.depth:,}"
            + (f" +{info.scheduled:,} later" if info.scheduled else "")
            + (" (paused)" if info.paused else "")
            for info in infos
        )
        if len(infos) < 2:
            text = ""
        if text != self.queue_depths:
            self.queue_depths = text
            self.stats.setToolTip(
                "Depth per queue: waiting plus running, from the streams; 'later': delayed "
                "tasks not yet due (paused queues are not read)"
                if text
                else ""
            )
            self.refresh()

    def set_broker_up(self, up: bool) -> None:
        """``False``: the broker is gone, so this column's state is unknown (grey dot)."""
        self.broker_up = up
        self._set_online(self.online)

    def _set_online(self, online: bool) -> None:
        self.online = online
        if online or self.key == QUEUE:
            self._countdown.stop()
        elif not self._countdown.isActive():
            self._countdown.start()  # the cards count down to their reclaim
        dot = ("online" if online else "offline") if self.broker_up else "unknown"
        self.dot.setProperty("state", dot)
        self.setProperty("offline", not online)
        for widget in (self.dot, self, self.title):
            widget.style().unpolish(widget)
            widget.style().polish(widget)

    def refresh(self) -> None:
        """Counts, empty state and "+K more" (after each model batch)."""
        total = self.newest.total
        counts = self.tasks.column_counts(self.key)
        self.count.setText(str(total))
        self.view.setVisible(total > 0)
        self.empty.setVisible(total == 0)
        hidden = self.newest.hidden()
        self.more.setVisible(hidden > 0)
        self.more.setText(f"+{hidden:,} more")
        if self.key == QUEUE:
            waiting = counts[TaskStatus.PENDING] + counts[TaskStatus.RETRYING]
            depths = f" · {self.queue_depths}" if self.queue_depths else ""
            self.stats.setText(f"{waiting} waiting{depths}")
            return
        entry = self._entry
        info = entry.info if entry is not None else None
        busy = counts[TaskStatus.PROCESSING]
        done = max(info.completed if info is not None else 0, counts[TaskStatus.COMPLETED])
        failed = max(info.failed if info is not None else 0, counts[TaskStatus.FAILED])
        state = "online" if self.online else "offline"
        if self.online and info is not None and info.draining:
            state = "draining"
        up = (
            f" · up {span(time.time() - info.started)}"
            if info and info.started and self.online
            else ""
        )
        self.stats.setText(f"{state}{up} · {busy} busy · {done} done · {failed} failed")

    def _menu_from_button(self) -> None:
        self._menu_at(self.menu_button.mapToGlobal(QPoint(0, self.menu_button.height())))

    def _menu_at(self, at: QPoint) -> None:
        if self.orders is not None:
            self.orders.show_menu(at)

    def _clicked(self, index: QModelIndex) -> None:
        task_id = index.data(TaskModel.IdRole)
        if task_id:
            self.task_clicked.emit(task_id)
