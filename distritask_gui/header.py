"""The header card: "Cluster Control", the connection state, and the submit buttons.

The widgets only emit what the user wants (``deploy_requested(count)``,
``submit_requested(name, payload, count, queue, when)``, ``when`` as the Submit dialog gives
it: :data:`~distritask_gui.submit_dialog.When`); the window hands those to the bridge.
Deploy buttons are disabled unless the panel is connected.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backend.causes import WORDS, Cause
from distritask_gui import theme
from distritask_gui.connection import ConnectionState
from distritask_gui.submit_dialog import SubmitDialog

STATE_TEXT = {
    ConnectionState.CONNECTED: "Network Active",
    ConnectionState.RECONNECTING: "Reconnecting…",
    ConnectionState.OFFLINE: "System Offline",
    ConnectionState.CONNECTING: "Connecting…",
    ConnectionState.FAILED: "Panel Error",
}
MANY = 10


class Header(QFrame):
    deploy_requested = Signal(int)
    submit_requested = Signal(str, object, int, str, object)
    settings_requested = Signal()
    about_requested = Signal()
    cluster_requested = Signal()
    retry_requested = Signal()
    """"Retry now": connect at once."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("header")
        self.state = ConnectionState.CONNECTING
        title = theme.named(QLabel("Cluster Control"), "title")
        self.dot = theme.named(QLabel(), "dot")
        self.dot.setFixedSize(10, 10)
        self.state_label = theme.named(QLabel(), "stateText")
        self.address = theme.named(QLabel(), "address")
        self.address.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.address.setToolTip("The broker this panel watches")
        # shown whole when there is room; a narrow window cuts it instead of growing
        self.address.setMinimumWidth(60)

        self.deploy = theme.named(QPushButton(" Deploy Node"), "deploy")
        self.deploy.setIcon(theme.icon("plus", theme.BACKGROUND))
        self.deploy.setShortcut(QKeySequence("Ctrl+N"))
        self.deploy.setToolTip("Queue one deploy_node task (Ctrl+N)")
        self.deploy.clicked.connect(lambda: self.deploy_requested.emit(1))
        self.deploy_many = theme.named(
            QPushButton(f"Deploy \N{MULTIPLICATION SIGN}{MANY}"), "secondary"
        )
        self.deploy_many.setToolTip(f"Queue {MANY} deploy_node tasks at once")
        self.deploy_many.clicked.connect(lambda: self.deploy_requested.emit(MANY))
        self.advanced = theme.named(QPushButton("Submit…"), "secondary")
        self.advanced.setShortcut(QKeySequence("Ctrl+Shift+N"))
        self.advanced.setToolTip("Pick the task name, JSON payload and count (Ctrl+Shift+N)")
        self.advanced.clicked.connect(self.open_submit_dialog)

        self.menu_button = theme.named(QToolButton(), "menuButton")
        self.menu_button.setIcon(theme.icon("settings", theme.MUTED))
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu_button.setToolTip("Settings and About")
        menu = QMenu(self.menu_button)
        settings = QAction("Settings…", self)
        settings.setShortcut(QKeySequence.StandardKey.Preferences)
        settings.triggered.connect(self.settings_requested)
        about = QAction("About Distritask", self)
        about.triggered.connect(self.about_requested)
        self.cluster_action = QAction("Local cluster…", self)
        self.cluster_action.setToolTip("Number of local workers and their concurrency")
        self.cluster_action.triggered.connect(self.cluster_requested)
        self.cluster_action.setVisible(False)  # shown when the panel runs a local cluster
        menu.addActions([settings, self.cluster_action, about])
        self.menu_button.setMenu(menu)

        self.retry_now = theme.named(QPushButton("Retry now"), "link")
        self.retry_now.setToolTip("Try to reach the broker again at once")
        self.retry_now.clicked.connect(self.retry_requested)
        self.open_settings = theme.named(QPushButton("Settings…"), "link")
        self.open_settings.setToolTip("Change the broker URL")
        self.open_settings.clicked.connect(self.settings_requested)

        status = QHBoxLayout()
        status.setSpacing(8)
        status.addWidget(self.dot)
        status.addWidget(self.state_label)
        status.addWidget(self.address)
        status.addWidget(self.retry_now)
        status.addWidget(self.open_settings)
        self.dead = theme.named(QLabel(), "address")
        self.dead.setToolTip("Tasks in the dead-letter stream (see the Dead letters tab)")
        status.addWidget(self.dead)
        status.addStretch(1)
        left = QVBoxLayout()
        left.setSpacing(6)
        left.addWidget(title)
        left.addLayout(status)
        row = QHBoxLayout(self)
        row.setContentsMargins(24, 18, 24, 18)
        row.addLayout(left, 1)
        for widget in (self.advanced, self.deploy_many, self.deploy, self.menu_button):
            row.addWidget(widget)
        self.set_connection(ConnectionState.CONNECTING, "")

    def set_dead_letters(self, count: int) -> None:
        """Show how many dead letters there are (nothing when there are none)."""
        self.dead.setText(
            f"\N{MIDDLE DOT} {count:,} dead letter{'s' if count != 1 else ''}" if count else ""
        )

    def set_connection(
        self, state: ConnectionState, address: str, cause: Cause = Cause.NONE, detail: str = ""
    ) -> None:
        """Show the connection state (and why it is down); Deploy works only while
        connected; "Retry now" and "Settings…" show while it is down."""
        self.state = state
        down = state in (ConnectionState.OFFLINE, ConnectionState.FAILED)
        why = WORDS[cause] if down else ""
        self.state_label.setText(STATE_TEXT[state] + (f" — {why}" if why else ""))
        self.state_label.setToolTip(detail)
        self.address.setText(address)
        self.address.setToolTip(f"The broker this panel watches: {address}")
        self.dot.setProperty("state", state.value)
        self.state_label.setProperty("state", state.value)
        for widget in (self.dot, self.state_label):
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        for button in (self.deploy, self.deploy_many, self.advanced):
            button.setEnabled(state is ConnectionState.CONNECTED)
        self.retry_now.setVisible(down)
        self.open_settings.setVisible(down)

    def open_submit_dialog(self) -> None:
        dialog = SubmitDialog(self)
        if dialog.exec():
            name, payload, count = dialog.result_values()
            queue, when = dialog.routing()
            self.submit_requested.emit(name, payload, count, queue, when)
