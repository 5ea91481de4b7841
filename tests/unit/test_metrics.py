"""The `/metrics` exposition of a snapshot (`chorus/metrics.py`)."""

from prometheus_client import CollectorRegistry, generate_latest

from chorus.kit.breaker import FAILURES_TO_OPEN, Breakers
from chorus.metrics import Snapshot
from chorus.outbox.service import Backlog


def exposition(snapshot: Snapshot) -> list[str]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(snapshot)
    return [
        line for line in generate_latest(registry).decode().splitlines() if not line.startswith("#")
    ]


def test_backlog_lag_and_resting_origins_are_exposed() -> None:
    jobs = [
        Backlog("callbacks.deliver", "pending", 7, 2.5),
        Backlog("callbacks.deliver", "running", 3, 0.0),
        Backlog("messages.dispatch", "dead", 1, 0.0),
    ]
    resting = {"channel_api": {"https://rbm.example": 6}, "webhook_receiver": {}}
    assert exposition(Snapshot(jobs, resting)) == [
        'chorus_outbox_jobs{kind="callbacks.deliver",status="pending"} 7.0',
        'chorus_outbox_jobs{kind="callbacks.deliver",status="running"} 3.0',
        'chorus_outbox_jobs{kind="messages.dispatch",status="dead"} 1.0',
        'chorus_outbox_lag_seconds{kind="callbacks.deliver"} 2.5',
        'chorus_outbox_lag_seconds{kind="messages.dispatch"} 0.0',
        'chorus_resting_origin_failures{origin="https://rbm.example",role="channel_api"} 6.0',
    ]


def test_breakers_list_only_the_origins_resting_now() -> None:
    breakers = Breakers()
    for _ in range(FAILURES_TO_OPEN):
        breakers.record("https://dead.example/x", answered=False, probe=False, now=0.0, scale=1)
    breakers.record("https://flaky.example/x", answered=False, probe=False, now=0.0, scale=1)
    assert breakers.resting(1.0) == {"https://dead.example": FAILURES_TO_OPEN}
    assert breakers.resting(10_000.0) == {}  # the rest is over; a probe may go
