"""API clients first (`kit/load.py`): which requests count as client load, and the worker's
job limit while there is any."""

import asyncio
from typing import Any

import pytest

from chorus.kit import load as load_module
from chorus.kit.load import CountApiRequests, RequestLoad
from chorus.outbox.worker import Worker


def run_request(load: RequestLoad, path: str) -> list[int]:
    """Serve one request through the middleware; returns `in_flight` as the app saw it."""
    seen: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(load.in_flight)

    async def nothing(*_: Any) -> Any:
        return None

    asyncio.run(CountApiRequests(app, load)({"type": "http", "path": path}, nothing, nothing))
    return seen


@pytest.mark.parametrize(
    "path",
    [
        "/v1/projects/p/messages:send",
        "/v1beta/projects/p/apps",
        "/v2/projects/p/templates",
        "/oauth2/token",
        "/chorus/v1/projects/p/deliveries/d",
    ],
)
def test_client_api_requests_count_while_they_run(path: str) -> None:
    load = RequestLoad()
    assert run_request(load, path) == [1]
    assert load.in_flight == 0
    assert load.busy()  # just served: still busy for QUIET_SECONDS


@pytest.mark.parametrize(
    "path", ["/healthz", "/inbound/sms/app", "/simulator/sms/xms/v1/p/batches", "/console/"]
)
def test_probes_channel_webhooks_and_the_simulator_are_not_client_load(path: str) -> None:
    load = RequestLoad()
    assert run_request(load, path) == [0]
    assert not load.busy()


def test_the_worker_runs_one_job_while_the_api_is_busy_and_all_when_quiet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    load = RequestLoad()
    worker = Worker(db=None, handlers={}, concurrency=32, load=load)  # type: ignore[arg-type]
    assert worker._limit() == 32
    load.in_flight = 1
    assert worker._limit() == 1
    load.in_flight = 0
    load.last_seen = 100.0
    monkeypatch.setattr(
        load_module.time, "monotonic", lambda: 100.0 + 2 * load_module.QUIET_SECONDS
    )
    assert worker._limit() == 32
