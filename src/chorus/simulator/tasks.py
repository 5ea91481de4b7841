"""Background jobs of the simulator: posting the native callbacks its fakes cause.

`simulator.send_report` posts one native delivery report to the URL the batch named, with the
channel's authentication (SMS: HTTP Basic, password = the app's `callback_secret`, looked up
when the job runs so that secrets are not copied into the outbox). A non-2xx answer or a
network error is retried with backoff; after `REPORT_ATTEMPTS` the report is given up, as a
channel gives up on an endpoint that keeps failing.
"""

import logging

import httpx

from chorus.outbox.worker import Job, Retry, backoff
from chorus.runtime import JobHandler, Runtime
from chorus.simulator import repository, sms

log = logging.getLogger("chorus.simulator")

REPORT_ATTEMPTS = 6


async def send_report(runtime: Runtime, job: Job) -> None:
    payload = job.payload
    async with runtime.db.read_sessions() as session:
        app = await repository.get_app(session, job.app_id) if job.app_id else None
    auth = sms.callback_auth(app, payload.get("plan_id"))
    try:
        response = await runtime.http.post(payload["url"], json=payload["report"], auth=auth)
        outcome = f"HTTP {response.status_code}"
        delivered = 200 <= response.status_code < 300
    except httpx.HTTPError as exc:
        outcome, delivered = repr(exc), False
    if not delivered:
        if job.attempts < REPORT_ATTEMPTS:
            raise Retry(backoff(job.attempts, base=2.0, cap=60.0), f"report refused: {outcome}")
        log.warning(
            "simulator gave up a %s delivery report after %d attempts (%s)",
            payload.get("channel", ""),
            job.attempts,
            outcome,
        )
    async with runtime.db.write_sessions() as session:
        await job.complete(session)
        await session.commit()


HANDLERS: dict[str, JobHandler] = {sms.SEND_REPORT: send_report}
