"""The main window: header, the board of columns, footer; wired to one bridge.

The window is the container that knows the application: it connects the bridge's
signals to the models and widgets, and the widgets' intent signals to the bridge.
Its geometry is kept in QSettings.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QMainWindow, QMessageBox, QVBoxLayout, QWidget

from backend import __version__
from backend.alerts import AlertEvent
from backend.protocol import DEFAULT_TASK, StatusUpdate, TaskStatus, WorkerInfo
from backend.state import TaskState
from backend.store import SUBMIT_SOURCE
from distritask_gui import theme
from distritask_gui.alerts_view import AlertBanner, AlertModel, AlertNotifier, AlertsView
from distritask_gui.board import Board
from distritask_gui.bridge import Bridge
from distritask_gui.cluster_dialog import ClusterDialog
from distritask_gui.columns import column_filter
from distritask_gui.connection import ConnectionState
from distritask_gui.console import ConsoleTabs
from distritask_gui.footer import Footer
from distritask_gui.header import Header
from distritask_gui.local_cluster import LocalCluster
from distritask_gui.memory import Settler
from distritask_gui.settings_dialog import SettingsDialog
from distritask_gui.task_detail import TaskDetail
from distritask_gui.task_model import TaskModel
from distritask_gui.worker_column import CLAIM_IDLE
from distritask_gui.worker_model import WorkerModel

GEOMETRY_KEY = "window/geometry"
MINIMUM_SIZE = (900, 600)
"""The smallest window in which every control is usable (the board scrolls)."""
ABOUT = f"""<h3>Distritask {__version__}</h3>
<p>Distributed tasks on Redis Streams, with this live control panel.</p>
<p>Workers on any machine join by pointing at the same Redis; the panel shows the
queue, every worker and every task as it moves.</p>
<p>PySide6 · qasync · redis-py · Valkey (embedded)</p>"""


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(
        self, bridge: Bridge, parent: QWidget | None = None, *, claim_idle: float = CLAIM_IDLE
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        # Qt appends the application's display name: "Cluster Control — Distritask"
        self.setWindowTitle("Cluster Control")
        self.setWindowIcon(theme.app_icon())
        self.tasks = TaskModel(self)
        self.workers = WorkerModel(self)
        self.settler = Settler(self.tasks)
        self.header = Header()
        self.board = Board(self.tasks, self.workers, claim_idle=claim_idle)
        self.console = ConsoleTabs(self.board, lambda: self.bridge.store, claim_idle=claim_idle)
        self.footer = Footer()
        self.alerts = AlertModel(self)
        self.alerts_view = AlertsView(self.alerts)
        self.console.addTab(self.alerts_view, "Alerts")
        self.alert_banner = AlertBanner()
        self.notifier = AlertNotifier(self.alerts, self.alert_banner, self)
        self.details: dict[str, TaskDetail] = {}
        self.local_cluster: LocalCluster | None = None
        central = theme.named(QWidget(), "central")
        layout = QVBoxLayout(central)
        layout.setContentsMargins(20, 20, 20, 8)
        layout.setSpacing(14)
        layout.addWidget(self.header)
        layout.addWidget(self.alert_banner)
        layout.addWidget(self.console, 1)
        layout.addWidget(self.footer)
        self.setCentralWidget(central)
        self.statusBar().setSizeGripEnabled(False)
        self._connect()
        self.setMinimumSize(*MINIMUM_SIZE)
        self.resize(1360, 860)
        geometry = QSettings().value(GEOMETRY_KEY)
        if geometry is not None:
            self.restoreGeometry(geometry)
        screen = self.screen().availableGeometry()
        if self.width() > screen.width() or self.height() > screen.height():
            self.resize(
                max(MINIMUM_SIZE[0], min(self.width(), screen.width())),
                max(MINIMUM_SIZE[1], min(self.height(), screen.height())),
            )

    def _connect(self) -> None:
        connection, actions = self.bridge.connection, self.bridge.actions
        connection.connection_changed.connect(self._connection_changed)
        connection.snapshot_loaded.connect(self.tasks.feed)
        connection.snapshot_done.connect(self._snapshot_done)
        connection.refreshed.connect(self.tasks.feed)
        connection.counts_received.connect(self.tasks.feed_counts)
        connection.updates_received.connect(self._updates)
        connection.forgotten.connect(self._forgotten)
        connection.workers_received.connect(self._workers)
        connection.consumers_received.connect(self.board.set_reading_consumers)
        connection.queues_received.connect(self.board.set_queues)
        actions.message.connect(lambda text: self.statusBar().showMessage(text, 5000))
        actions.task_loaded.connect(self._task_loaded)
        self._connection_changed(connection.state, connection.address)
        self.header.deploy_requested.connect(lambda n: actions.submit(DEFAULT_TASK, None, n))
        self.header.submit_requested.connect(actions.submit)
        self.header.settings_requested.connect(self.open_settings)
        self.header.retry_requested.connect(connection.retry_now)
        self.header.about_requested.connect(self.open_about)
        self.header.cluster_requested.connect(self.open_cluster_dialog)
        self.board.task_clicked.connect(self.open_detail)
        self.board.order_requested.connect(actions.order_worker)
        self.board.more_requested.connect(lambda key: self.console.show_tasks(column_filter(key)))
        self.console.tasks_view.task_requested.connect(lambda s: self.open_detail(s.id, s))
        self.console.console.message.connect(lambda t: self.statusBar().showMessage(t, 5000))
        self.console.console.gone.connect(self._forgotten)
        self.console.dead_count.connect(self.header.set_dead_letters)
        self.tasks.flushed.connect(lambda: self.footer.set_totals(self.tasks.totals()))
        self.tasks.finished.connect(self.footer.add_finished)
        self.footer.history_requested.connect(actions.load_history)
        actions.history_loaded.connect(self.footer.show_history)
        self.bridge.alerts.changed.connect(self._alert)
        self.alerts_view.subject_requested.connect(self._alert_subject)

    def _alert(self, event: AlertEvent) -> None:
        self.alerts.apply(event)
        self.notifier.notify(event)

    def _alert_subject(self, kind: str, subject: str) -> None:
        """Show what an alert concerns: a task's detail, else the live board."""
        if kind == "task" and self.open_detail(subject) is not None:
            return
        self.console.setCurrentIndex(0)

    def _connection_changed(self, state: ConnectionState, address: str) -> None:
        connection = self.bridge.connection
        self.header.set_connection(state, address, connection.cause, connection.detail)
        self.board.set_broker_up(state is ConnectionState.CONNECTED)

    def _snapshot_done(self) -> None:
        self.tasks.flush()
        self.settler.now()
        # after a reconnect: the finished tasks deleted (or trimmed) meanwhile go too
        finished = [state.id for state in self.tasks.states() if state.status.terminal]
        self.console.console.check_retained(finished)
        for task_id in self.details:  # after a reconnect: what changed meanwhile
            self.bridge.actions.load_task(task_id)

    def _updates(self, updates: list[StatusUpdate]) -> None:
        live = {u.worker for u in updates if u.status is not TaskStatus.PENDING}
        self.workers.ensure(sorted(live - {"", SUBMIT_SOURCE}), live=True)
        self.tasks.feed(updates)
        if self.details:
            for update in updates:
                dialog = self.details.get(update.id)
                if dialog is not None:
                    dialog.apply_update(update)

    def _forgotten(self, task_ids: list[str]) -> None:
        """Tasks were deleted: off the board and the counts; an open detail says so."""
        self.tasks.forget(task_ids)
        if self.details:
            for task_id in task_ids:
                dialog = self.details.get(task_id)
                if dialog is not None:
                    dialog.mark_deleted()

    def _workers(self, infos: list[WorkerInfo]) -> None:
        self.workers.set_heartbeats(infos)

    # -- dialogs -----------------------------------------------------------------------

    def open_detail(self, task_id: str, known: TaskState | None = None) -> TaskDetail | None:
        state = self.tasks.state(task_id) or known
        if state is None:
            return None
        dialog = self.details.get(task_id)
        if dialog is None:
            dialog = TaskDetail(state, self)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.cancel_requested.connect(self.bridge.actions.cancel)
            dialog.retry_requested.connect(self.bridge.actions.retry)
            dialog.destroyed.connect(lambda *_: self.details.pop(task_id, None))
            self.details[task_id] = dialog
        dialog.show()
        dialog.raise_()
        self.bridge.actions.load_task(task_id)
        return dialog

    def _task_loaded(self, state: TaskState) -> None:
        dialog = self.details.get(state.id)
        if dialog is not None:
            dialog.load_record(state)

    def open_settings(self) -> SettingsDialog:
        alerts = self.bridge.alerts
        dialog = SettingsDialog(self.bridge.address, self, thresholds=alerts.thresholds)
        dialog.thresholds_saved.connect(alerts.set_thresholds)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.test_requested.connect(self.bridge.actions.test_url)
        self.bridge.actions.test_result.connect(dialog.show_test_result)
        dialog.open()
        return dialog

    def set_local_cluster(self, cluster: LocalCluster) -> None:
        """The panel runs this local cluster: offer "Local cluster…" to scale it."""
        self.local_cluster = cluster
        self.header.cluster_action.setVisible(True)

    def open_cluster_dialog(self) -> ClusterDialog | None:
        cluster = self.local_cluster
        if cluster is None:
            return None
        dialog = ClusterDialog(len(cluster.slots), cluster.concurrency, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.scale_requested.connect(
            lambda n, c: self.bridge.actions.scale_cluster(cluster, n, c)
        )
        dialog.open()
        return dialog

    def open_about(self) -> QMessageBox:
        box = QMessageBox(self)
        box.setWindowTitle("About Distritask")
        box.setText(ABOUT)
        box.setIconPixmap(theme.app_icon().pixmap(64, 64))
        ok = box.addButton(QMessageBox.StandardButton.Ok)
        ok.setIcon(theme.icon("check-plain"))  # the theme's, not the platform's stock icon
        ok.setToolTip("Close (Esc)")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def closeEvent(self, event: QCloseEvent) -> None:
        QSettings().setValue(GEOMETRY_KEY, self.saveGeometry())
        super().closeEvent(event)
        self.closed.emit()
