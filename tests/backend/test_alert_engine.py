"""The alert engine's rules: raised after its hold, once per repeat, resolved when clear."""

from __future__ import annotations

from backend.alerts import AlertEngine, AlertKind, Finding


def lost(worker: str = "w1") -> Finding:
    return Finding(AlertKind.WORKER_LOST, worker, "worker", f"worker {worker} is lost")


def test_an_alert_fires_once_repeats_after_the_interval_and_resolves() -> None:
    engine = AlertEngine(repeat=60)
    fired = engine.observe([lost()], now=100)
    assert [(e.change, e.alert.subject) for e in fired] == [("fired", "w1")]
    assert engine.observe([lost()], now=130) == []  # still holds: not raised again yet
    repeated = engine.observe([lost()], now=161)
    assert [(e.change, e.alert.times) for e in repeated] == [("repeated", 2)]
    resolved = engine.observe([], now=170)
    assert [(e.change, e.alert.resolved) for e in resolved] == [("resolved", 170)]
    (alert,) = engine.alerts()
    assert (alert.fired, alert.notified, alert.resolved, alert.active) == (100, 161, 170, False)
    assert engine.counts()[AlertKind.WORKER_LOST] == 0


def test_a_condition_must_hold_for_its_delay_and_a_blip_raises_nothing() -> None:
    engine = AlertEngine()
    waiting = Finding(AlertKind.NO_CONSUMER, "default", "queue", "tasks wait", after=5)
    assert engine.observe([waiting], now=0) == []
    assert engine.observe([], now=3) == []  # cleared before its delay: forgotten
    assert engine.observe([waiting], now=4) == []
    assert engine.observe([waiting], now=8) == []
    (event,) = engine.observe([waiting], now=9)
    assert event.change == "fired"
    assert engine.counts()[AlertKind.NO_CONSUMER] == 1


def test_kinds_a_check_could_not_look_at_stay_as_they_are() -> None:
    engine = AlertEngine()
    engine.observe([lost()], now=0)
    down = Finding(AlertKind.BROKER_DOWN, "redis://x:1", "broker", "down")
    (event,) = engine.observe([down], now=1, checked=[AlertKind.BROKER_DOWN])
    assert event.change == "fired"
    assert {a.kind for a in engine.alerts(active_only=True)} == {
        AlertKind.WORKER_LOST,
        AlertKind.BROKER_DOWN,
    }
    changes = {(e.change, e.alert.kind) for e in engine.observe([], now=2)}
    assert changes == {("resolved", AlertKind.WORKER_LOST), ("resolved", AlertKind.BROKER_DOWN)}


def test_a_condition_back_after_resolving_is_a_new_alert() -> None:
    engine = AlertEngine()
    engine.observe([lost()], now=0)
    engine.observe([], now=1)
    (event,) = engine.observe([lost()], now=2)
    assert event.change == "fired"
    assert [a.active for a in engine.alerts()] == [True, False]
