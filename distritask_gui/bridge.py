"""The one object between asyncio and Qt: Redis events become signals, intents coroutines.

A :class:`Bridge` is two parts on one broker URL:

- :attr:`Bridge.connection` (:class:`~distritask_gui.connection.BrokerConnection`):
  the connection state machine, the snapshot, the batched live updates and the
  heartbeat poll;
- :attr:`Bridge.actions` (:class:`~distritask_gui.actions.Actions`): submit,
  cancel, retry, load a task, test a URL, on the connection's store;
- :attr:`Bridge.alerts` (:class:`~distritask_gui.alert_watch.PanelAlerts`): the alert
  checks (:mod:`backend.alerts`) on the connection's store.

The window connects to the parts' signals and slots; :meth:`Bridge.start` and
:meth:`Bridge.stop` run and end both.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from backend.alerts import Thresholds
from backend.config import Settings
from backend.policy import SubmitPolicy
from backend.store import TaskStore
from distritask_gui.actions import Actions
from distritask_gui.alert_watch import PanelAlerts
from distritask_gui.connection import BrokerConnection, ConnectionState


class Bridge(QObject):
    def __init__(
        self,
        url: str,
        parent: QObject | None = None,
        *,
        poll_interval: float = 1.0,
        offline_after: float = 2.0,
        policy: SubmitPolicy | None = None,
        thresholds: Thresholds | None = None,
        settings: Settings | None = None,
    ) -> None:
        super().__init__(parent)
        self.connection = BrokerConnection(
            url, self, poll_interval=poll_interval, offline_after=offline_after, settings=settings
        )
        self.actions = Actions(
            lambda: self.connection.store, self.connection.address, self, policy=policy
        )
        self.alerts = PanelAlerts(
            lambda: self.connection.store, self.connection.address, self, thresholds=thresholds
        )

    @property
    def url(self) -> str:
        return self.connection.url

    @property
    def address(self) -> str:
        return self.connection.address

    @property
    def state(self) -> ConnectionState:
        return self.connection.state

    @property
    def store(self) -> TaskStore | None:
        return self.connection.store

    def start(self) -> None:
        """Connect; the alert checks start once the first attempt has an answer
        (connected, or not), so the wait for it is not reported as the broker lost."""
        self.connection.connection_changed.connect(self._answered)
        self.connection.start()

    def _answered(self, state: ConnectionState, _address: str) -> None:
        if state is not ConnectionState.CONNECTING:
            self.connection.connection_changed.disconnect(self._answered)
            self.alerts.start()

    async def stop(self) -> None:
        """End the session and every intent still running."""
        await self.alerts.stop()
        await self.actions.stop()
        await self.connection.stop()
