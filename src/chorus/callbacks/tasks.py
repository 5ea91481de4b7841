"""Background jobs of callbacks.

- `callbacks.deliver` (queued by `events.record_event`, one per target): one attempt per
  run. A failed attempt is recorded and the job is
  rescheduled with `Retry` after the delay of `schedule.RETRY_DELAYS`; after the last one the
  delivery is kept as dead. Delivery failures never raise anything else, so the worker's own
  retry limit for crashing handlers does not apply to them. While the target's origin rests
  (`kit/breaker.py`), an attempt fails at once without a request, and is recorded as such.
"""

import time

from chorus.callbacks import delivery as http_delivery
from chorus.callbacks import service
from chorus.callbacks.schedule import delay_after, retry_scale
from chorus.kit.breaker import Breakers
from chorus.kit.clock import utcnow
from chorus.kit.counters import CALLBACK_ATTEMPTS
from chorus.outbox.worker import Job, Retry
from chorus.runtime import JobHandler, Runtime

# This process's rests of webhook receivers' origins (a failure: no answer, or a 5xx).
RECEIVERS = Breakers()


async def deliver(runtime: Runtime, job: Job) -> None:
    delivery_id = job.payload["delivery_id"]
    async with runtime.db.read_sessions() as session:
        plan = await service.plan_attempt(session, delivery_id)
    if plan is None or plan.status != service.PENDING or plan.target is None:
        async with runtime.db.write_sessions() as session:
            if plan is not None and plan.stop and plan.status == service.PENDING:
                await service.stop_delivery(
                    session, delivery_id, plan.stop, plan.stop_status or service.DEAD
                )
            await job.complete(session)
            await session.commit()
        return
    scale = retry_scale(runtime.settings)
    attempted_at = utcnow()
    admission = RECEIVERS.admit(plan.target.url, time.monotonic())
    if admission.resting is not None:
        outcome = http_delivery.Outcome(None, 0.0, admission.resting)
    else:
        outcome = await http_delivery.attempt(runtime.http, plan.target, plan.body, plan.event_id)
        RECEIVERS.record(
            plan.target.url,
            answered=outcome.status_code is not None and outcome.status_code < 500,
            probe=admission.probe,
            now=time.monotonic(),
            scale=scale,
        )
    CALLBACK_ATTEMPTS.labels(
        "delivered" if outcome.delivered else "resting" if admission.resting else "failed"
    ).inc()
    retry_in = None
    if not outcome.delivered:
        retry_in = delay_after(job.attempts, scale)
    # Group-committed with other attempts' records: one transaction for many callbacks.
    writes = list(
        service.attempt_writes(
            delivery_id, outcome, url=plan.target.url, attempted_at=attempted_at, retry_in=retry_in
        )
    )
    if retry_in is None:
        await job.complete_with(runtime.committer, writes)
        return
    await runtime.committer.write(writes)
    raise Retry(retry_in, outcome.error or "callback not accepted")


HANDLERS: dict[str, JobHandler] = {service.DELIVER: deliver}
