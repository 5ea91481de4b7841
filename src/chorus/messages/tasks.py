"""Background jobs of the message pipeline."""

from chorus.messages import dispatch, status
from chorus.runtime import JobHandler

HANDLERS: dict[str, JobHandler] = {
    status.DISPATCH_JOB: dispatch.run_dispatch,
    dispatch.REPORT_TIMEOUT_JOB: dispatch.run_report_timeout,
}

ON_DEAD: dict[str, JobHandler] = {status.DISPATCH_JOB: dispatch.dispatch_given_up}
