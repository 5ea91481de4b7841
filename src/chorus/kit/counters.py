"""What this process has done, counted for Prometheus (exposed at `GET /metrics`): HTTP
requests by route and status with their latency, outbox jobs by kind and outcome with their
run time, channel send attempts by outcome, and callback attempts by outcome. Per process,
since it started, as Prometheus counters are: the server adds the processes up
(`sum by (...)`, `rate(...)`).

Routes are labelled by their template (`/v1/projects/{project_id}/messages:send`), never by
the path itself, so project and resource ids stay out of the figures and their number stays
bounded; a path no route matches is `unmatched`.
"""

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter(
    "chorus_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
    registry=None,
)
HTTP_LATENCY = Histogram(
    "chorus_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,
)
CHANNEL_SENDS = Counter(
    "chorus_channel_send_attempts",
    "Attempts to hand a message or event to a channel, by channel and the channel's answer: "
    "accepted, transient_failure (tried again later) or permanent_failure.",
    ["channel", "outcome"],
    registry=None,
)
CALLBACK_ATTEMPTS = Counter(
    "chorus_callback_attempts",
    "Callback delivery attempts, by outcome: delivered (2xx), failed (another answer, or "
    "none), resting (not made: the receiver's origin rests).",
    ["outcome"],
    registry=None,
)
JOBS = Counter(
    "chorus_jobs",
    "Outbox jobs run by this process's workers, by kind and outcome: completed, retried "
    "(rescheduled by the job itself: a callback not accepted, an app's drain rate reached, a "
    "channel's transient failure), failed (an unexpected error: tried again with backoff), "
    "dead (given up after its last attempt), interrupted (the process stopped while it ran; "
    "it runs again).",
    ["kind", "outcome"],
    registry=None,
)
JOB_DURATION = Histogram(
    "chorus_job_duration_seconds",
    "Time a job took, from its start to its outcome recorded, by kind (a dispatch includes "
    "the channel's answer, a callback the receiver's).",
    ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,
)
COLLECTORS = (
    HTTP_REQUESTS,
    HTTP_LATENCY,
    JOBS,
    JOB_DURATION,
    CHANNEL_SENDS,
    CALLBACK_ATTEMPTS,
)


class HttpMetrics:
    """ASGI middleware counting requests; mounted inside the others, so that it sees the
    route the router chose (`scope["route"]`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes is answered 500 further out

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = route_label(scope)
            method = scope["method"]
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)


def route_label(scope: Scope) -> str:
    """The template of the route that answered, with the prefix its router was included
    under (`/v1`, `/v2`, `/chorus/v1`), which the route's own template leaves out."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not template:
        return "unmatched"
    path: str = scope.get("path", "")
    pattern = getattr(route, "path_regex", None)
    if pattern is None or pattern.match(path):
        return template
    for index in range(1, len(path)):
        if path[index] == "/" and pattern.match(path[index:]):
            return path[:index] + template
    return template
