"""Background jobs of the simulator: posting the native webhooks its fakes cause.

`simulator.send_report` posts one native webhook (a delivery report, a read receipt…) to the
URL the fake recorded, authenticated as that channel authenticates (looked up when the job
runs, so that secrets are not copied into the outbox). A non-2xx answer or a network error is
retried with backoff; after `REPORT_ATTEMPTS` the webhook is given up, as a channel gives up
on an endpoint that keeps failing.
"""

import logging

import httpx

from chorus.apps import cache as app_cache
from chorus.kit.group_commit import Write
from chorus.outbox.worker import Job, Retry, backoff
from chorus.runtime import JobHandler, Runtime
from chorus.simulator import repository
from chorus.simulator.base import SEND_REPORT
from chorus.simulator.registry import simulator_for
from chorus.wire.enums import Channel

log = logging.getLogger("chorus.simulator")

REPORT_ATTEMPTS = 6


async def send_report(runtime: Runtime, job: Job) -> None:
    payload = job.payload
    simulator = simulator_for(Channel(payload["channel"]))
    async with runtime.db.read_sessions() as session:
        app = await app_cache.app_by_id(session, job.app_id) if job.app_id else None
    body = payload["body"].encode()
    headers = {"content-type": "application/json"}
    if simulator is not None:
        headers.update(simulator.webhook_headers(app, body, payload.get("context") or {}))
    answer = "unreachable"  # what the handset's inbox shows, as for a message it sent
    try:
        response = await runtime.http.post(payload["url"], content=body, headers=headers)
        outcome, answer = f"HTTP {response.status_code}", str(response.status_code)
        delivered = 200 <= response.status_code < 300
    except httpx.HTTPError as exc:
        outcome, delivered = repr(exc), False
    if not delivered:
        if job.attempts < REPORT_ATTEMPTS:
            raise Retry(backoff(job.attempts, base=2.0, cap=60.0), f"webhook refused: {outcome}")
        log.warning(
            "simulator gave up a %s webhook after %d attempts (%s)",
            payload["channel"],
            job.attempts,
            outcome,
        )
    writes: list[Write] = []
    if payload.get("inbox_entry") is not None:
        writes.append(repository.message_status(payload["inbox_entry"], answer))
    await job.complete_with(runtime.committer, writes)


HANDLERS: dict[str, JobHandler] = {SEND_REPORT: send_report}
