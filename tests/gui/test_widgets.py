"""Widgets and models fed with plain data: columns, workers, header, dialogs."""

from __future__ import annotations

import time

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLineEdit
from pytestqt.qtbot import QtBot

from backend.causes import Cause
from backend.protocol import TaskStatus, WorkerInfo, decode_update, make_update
from backend.state import TaskState
from distritask_gui import theme, worker_model
from distritask_gui.bridge import Bridge
from distritask_gui.connection import ConnectionState
from distritask_gui.footer import Footer
from distritask_gui.header import Header
from distritask_gui.settings_dialog import URL_KEY, SettingsDialog, saved_url
from distritask_gui.submit_dialog import SubmitDialog
from distritask_gui.task_card import reclaim_text
from distritask_gui.task_detail import TaskDetail
from distritask_gui.task_model import QUEUE, TaskModel
from distritask_gui.window import MainWindow
from distritask_gui.worker_column import WorkerColumn
from distritask_gui.worker_model import WorkerModel


def test_a_column_shows_the_newest_cards_first_and_counts_the_rest(qtbot: QtBot) -> None:
    tasks = TaskModel()
    column = WorkerColumn("w1", tasks)
    qtbot.addWidget(column)
    column.newest.limit = 5
    assert column.empty.isVisibleTo(column) and column.empty.text() == "Standby"
    tasks.feed(
        make_update(f"t{i:02d}", TaskStatus.PROCESSING, worker="w1", attempt=1, seq=1, progress=i)
        for i in range(12)
    )
    tasks.feed([make_update("other", TaskStatus.PROCESSING, worker="w2", attempt=1, seq=1)])
    tasks.flush()
    column.refresh()
    shown = [column.newest.index(r).data(TaskModel.IdRole) for r in range(column.newest.rowCount())]
    assert shown == ["t11", "t10", "t09", "t08", "t07"]
    assert column.count.text() == "12"
    assert column.more.isVisibleTo(column) and column.more.text() == "+7 more"
    assert not column.empty.isVisibleTo(column)


def test_a_progress_change_repaints_only_its_card(qtbot: QtBot) -> None:
    tasks = TaskModel()
    column = WorkerColumn("w1", tasks)
    qtbot.addWidget(column)
    tasks.feed(
        make_update(f"t{i}", TaskStatus.PROCESSING, worker="w1", attempt=1, seq=1) for i in range(3)
    )
    tasks.flush()
    changed: list[tuple[int, int]] = []
    column.newest.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), b.row())))
    tasks.feed(
        [make_update("t0", TaskStatus.PROCESSING, worker="w1", attempt=1, seq=2, progress=50)]
    )
    tasks.flush()
    assert changed == [(2, 2)]  # the oldest is drawn last


def test_workers_appear_in_natural_order_and_go_offline_when_heartbeats_lapse() -> None:
    model = WorkerModel()
    model.set_heartbeats([WorkerInfo(name=n, concurrency=3) for n in ("worker-10", "worker-2")])
    model.ensure(["worker-1"], live=True)  # a Go worker: no heartbeat
    assert [e.name for e in model.entries()] == ["worker-1", "worker-2", "worker-10"]
    model.set_heartbeats([WorkerInfo(name="worker-2", online=False)])
    entry = model.entry("worker-2")
    assert entry is not None and not entry.online
    go = model.entry("worker-1")
    assert go is not None and go.online and not go.has_heartbeat
    go.last_update = time.monotonic() - worker_model.QUIET_AFTER - 1
    model.refresh()
    assert not go.online


def test_deploy_is_disabled_unless_connected(qtbot: QtBot) -> None:
    header = Header()
    qtbot.addWidget(header)
    for state in (ConnectionState.OFFLINE, ConnectionState.RECONNECTING):
        header.set_connection(state, "redis://x:6379")
        assert not header.deploy.isEnabled() and not header.deploy_many.isEnabled()
    header.set_connection(ConnectionState.OFFLINE, "redis://x:6379", Cause.AUTH)
    assert "authentication failed" in header.state_label.text()
    assert not header.retry_now.isHidden() and not header.open_settings.isHidden()
    with qtbot.waitSignal(header.retry_requested):
        qtbot.mouseClick(header.retry_now, Qt.MouseButton.LeftButton)
    header.set_connection(ConnectionState.CONNECTED, "redis://x:6379")
    assert header.address.text() == "redis://x:6379"
    assert header.retry_now.isHidden() and header.open_settings.isHidden()
    with qtbot.waitSignal(header.deploy_requested) as blocker:
        qtbot.mouseClick(header.deploy, Qt.MouseButton.LeftButton)
    assert blocker.args == [1]
    with qtbot.waitSignal(header.deploy_requested) as blocker:
        qtbot.mouseClick(header.deploy_many, Qt.MouseButton.LeftButton)
    assert blocker.args == [10]


def test_the_submit_dialog_checks_the_payload_before_sending(qtbot: QtBot) -> None:
    dialog = SubmitDialog()
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.payload.setPlainText('{"seconds": ')
    assert not ok.isEnabled() and "not valid JSON" in dialog.error.text()
    dialog.name.setEditText("  ")
    dialog.payload.setPlainText('{"seconds": 1}')
    assert not ok.isEnabled() and "empty" in dialog.error.text()
    dialog.name.setEditText("sleep")
    dialog.count.setValue(4)
    assert ok.isEnabled()
    assert dialog.result_values() == ("sleep", {"seconds": 1}, 4)


def test_the_settings_dialog_saves_a_valid_url(qtbot: QtBot) -> None:
    dialog = SettingsDialog("redis://127.0.0.1:16379")
    qtbot.addWidget(dialog)
    save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    dialog.url.setText("http://nope")
    assert not save.isEnabled() and "must start with" in dialog.status.text()
    dialog.url.setText("redis+sentinel://h1:26379,h2:x/mymaster")  # a bad sentinel port
    assert not save.isEnabled() and not dialog.test.isEnabled()
    assert "'h2:x'" in dialog.status.text() and "port" in dialog.status.text()
    dialog.url.setText("redis+sentinel://h1:26379,h2/mymaster")
    assert save.isEnabled() and dialog.test.isEnabled()
    dialog.url.setText("redis://cache.internal:6379/0")
    assert save.isEnabled() and dialog.test.isEnabled()
    dialog.accept()
    assert QSettings().value(URL_KEY) == "redis://cache.internal:6379/0"
    assert saved_url() == "redis://cache.internal:6379/0"


def test_the_detail_dialog_follows_its_task_live_from_the_loaded_record(qtbot: QtBot) -> None:
    # the model's copy, as a panel that submitted the task saw it: its own pending row
    seen = TaskState(id="d1", name="deploy_node", attempt=1, created=100.0)
    seen.apply(make_update("d1", TaskStatus.PENDING, worker="panel", attempt=1, seq=0))
    dialog = TaskDetail(seen)
    qtbot.addWidget(dialog)
    # the broker's record: payload and its own pending row (another time stamp)
    record = TaskState(id="d1", name="deploy_node", attempt=1, payload={"region": "eu"})
    for seq, status in enumerate((TaskStatus.PENDING, TaskStatus.PROCESSING)):
        update = make_update("d1", status, worker="w1", attempt=1, seq=seq)
        record.apply(update.model_copy(update={"ts": 50.0 + seq}))
    dialog.load_record(record)
    assert [e.status for e in dialog.state.history] == [TaskStatus.PENDING, TaskStatus.PROCESSING]
    # live, while the dialog is open
    dialog.apply_update(make_update("d1", TaskStatus.CANCELLED, worker="w1", attempt=1, seq=2))
    assert dialog.timeline.topLevelItemCount() == 3
    assert dialog.timeline.topLevelItem(2).text(1) == "cancelled"
    assert "cancelled" in dialog.fields["status"].text()
    assert not dialog.cancel_button.isEnabled() and dialog.retry_button.isEnabled()
    assert '"region": "eu"' in dialog.payload.toPlainText()
    # a record read before that update arrived does not take the dialog back
    dialog.load_record(record)
    assert dialog.state.status is TaskStatus.CANCELLED
    assert [e.status for e in dialog.state.history][-1] is TaskStatus.CANCELLED
    assert dialog.timeline.topLevelItemCount() == 3
    # the dialog's copy is its own: the caller's state is untouched
    assert seen.status is TaskStatus.PENDING


def test_the_queue_column_counts_go_workers_seen_in_updates(qtbot: QtBot) -> None:
    window = MainWindow(Bridge("redis://127.0.0.1:1"))  # never started: fed by hand
    qtbot.addWidget(window)
    queue = window.board.columns[QUEUE]
    assert "waiting for a worker" in queue.subtitle.text()
    go = (
        '{"id": "g1", "status": "processing", "time": "12:00:00", "worker": "worker-2",'
        ' "message": "Allocating resources and starting execution"}'
    )
    window._updates([decode_update(go)])
    window.tasks.flush()
    assert queue.subtitle.text() == "manager · 1 worker taking tasks"
    column = window.board.column("worker-2")
    assert column is not None and column.online


def test_every_column_dot_is_grey_while_the_broker_is_gone(qtbot: QtBot) -> None:
    window = MainWindow(Bridge("redis://127.0.0.1:1"))
    qtbot.addWidget(window)
    window.workers.set_heartbeats([WorkerInfo(name="w1", online=True)])
    window._connection_changed(ConnectionState.OFFLINE, "redis://127.0.0.1:1")
    dots = {key: column.dot.property("state") for key, column in window.board.columns.items()}
    assert dots == {QUEUE: "unknown", "w1": "unknown"}
    window._connection_changed(ConnectionState.CONNECTED, "redis://127.0.0.1:1")
    assert window.board.columns["w1"].dot.property("state") == "online"


def test_the_submit_dialog_remembers_its_last_values(qtbot: QtBot) -> None:
    dialog = SubmitDialog()
    qtbot.addWidget(dialog)
    dialog.name.setEditText("sleep")
    dialog.payload.setPlainText('{"seconds": 3}')
    dialog.count.setValue(7)
    dialog.accept()
    again = SubmitDialog()
    qtbot.addWidget(again)
    assert again.result_values() == ("sleep", {"seconds": 3}, 7)
    # the error has its own room: showing it moves no field
    again.show()
    count_top = again.count.geometry().top()
    again.payload.setPlainText('{"seconds": ')
    assert "not valid JSON" in again.error.text()
    again.layout().activate()
    assert again.count.geometry().top() == count_top
    assert again.error.geometry().top() >= again.count.geometry().bottom()


def test_a_running_card_on_an_offline_worker_counts_down_to_its_reclaim(qtbot: QtBot) -> None:
    tasks = TaskModel()
    column = WorkerColumn("w1", tasks, claim_idle=30.0)
    qtbot.addWidget(column)
    assert column.reclaim_in() is None
    seen = time.time() - 20
    column.set_entry(
        worker_model.WorkerEntry("w1", WorkerInfo(name="w1", seen=seen, online=False), online=False)
    )
    left = column.reclaim_in()
    assert left is not None and 9 <= left <= 10.5
    assert column._countdown.isActive()  # the cards are repainted every second
    assert reclaim_text(9.2) == "Worker offline · reclaimed in 10 s"
    assert reclaim_text(-1) == "Worker offline · being reclaimed"
    column.set_entry(worker_model.WorkerEntry("w1", WorkerInfo(name="w1", seen=time.time())))
    assert column.reclaim_in() is None and not column._countdown.isActive()


def test_the_footer_says_a_long_latency_in_hours_not_thousands_of_seconds(
    qtbot: QtBot,
) -> None:
    footer = Footer()
    qtbot.addWidget(footer)
    footer.add_finished([0.004])
    footer.tick()
    assert "4 ms" in footer.latency.text()
    footer.add_finished([3 * 3600 + 47 * 60 + 5] * 2)  # tasks that waited for hours
    footer.tick()
    assert "3 h 47 min" in footer.latency.text()


def test_a_spin_box_s_text_starts_where_a_line_edit_s_does(
    qtbot: QtBot, qapp: QApplication
) -> None:
    qapp.setStyleSheet(theme.stylesheet())  # the panel's look, where the two differed
    try:
        dialog = SubmitDialog()
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)

        def text_starts(edit: QLineEdit) -> int:
            edit.setCursorPosition(0)
            return edit.mapTo(dialog, edit.cursorRect().topLeft()).x()

        count = dialog.count.findChild(QLineEdit)
        assert count is not None
        assert abs(text_starts(count) - text_starts(dialog.queue)) <= 1
    finally:
        qapp.setStyleSheet("")
