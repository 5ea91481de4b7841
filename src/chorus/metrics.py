"""Prometheus metrics at `GET /metrics`, for operators (no credentials, as `/healthz`; no
project data: counts by job kind and status, and server origins).

- `chorus_outbox_jobs{kind,status}`: the durable backlog, shared by every process on the
  database (pending, running, dead jobs per kind);
- `chorus_outbox_lag_seconds{kind}`: how long the oldest due job of each kind has waited to
  be claimed, the figure to alert on when workers fall behind;
- `chorus_resting_origin_failures{role,origin}`: the channel APIs (`role="channel_api"`) and
  webhook receivers (`role="webhook_receiver"`) that rest (`kit/breaker.py`; every process's
  rests, shared within seconds through the database: `rests.py`), with their failed attempts
  in a row;
- what this process has done since it started (`kit/counters.py`):
  `chorus_http_requests_total{method,route,status}`,
  `chorus_http_request_duration_seconds{method,route}` (a histogram),
  `chorus_jobs_total{kind,outcome}`, `chorus_job_duration_seconds{kind}` (a histogram),
  `chorus_channel_send_attempts_total{channel,outcome}`, `chorus_callback_attempts_total{outcome}`;
- the process's own CPU, memory, file descriptors and garbage collection.
"""

import time
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from chorus import rests
from chorus.kit import counters
from chorus.outbox.service import Backlog, backlog
from chorus.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    async with runtime.db.read_sessions() as session:
        jobs = await backlog(session)
    now = time.monotonic()
    resting = {role: breakers.resting(now) for role, breakers in rests.roles(runtime).items()}
    registry = CollectorRegistry(auto_describe=False)
    collectors = (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR, *counters.COLLECTORS)
    for collector in (*collectors, Snapshot(jobs, resting)):
        registry.register(collector)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class Snapshot(Collector):
    """This scrape's figures, read once."""

    def __init__(self, jobs: list[Backlog], resting: dict[str, dict[str, int]]) -> None:
        self.jobs = jobs
        self.resting = resting

    def collect(self) -> Iterator[Metric]:
        counts = GaugeMetricFamily(
            "chorus_outbox_jobs", "Outbox jobs by kind and status.", labels=["kind", "status"]
        )
        lag = GaugeMetricFamily(
            "chorus_outbox_lag_seconds",
            "How long the oldest due job of the kind has waited to be claimed.",
            labels=["kind"],
        )
        lags: dict[str, float] = {}
        for row in self.jobs:
            counts.add_metric([row.kind, row.status], row.jobs)
            lags[row.kind] = max(lags.get(row.kind, 0.0), row.lag_seconds)
        for kind, seconds in lags.items():
            lag.add_metric([kind], seconds)
        failures = GaugeMetricFamily(
            "chorus_resting_origin_failures",
            "Origins that rest, with their failed attempts in a row.",
            labels=["role", "origin"],
        )
        for role, origins in self.resting.items():
            for origin, count in origins.items():
                failures.add_metric([role, origin], count)
        yield from (counts, lag, failures)
