"""Background jobs of the message pipeline."""

from chorus.messages import dispatch, revocation, status
from chorus.runtime import JobHandler

HANDLERS: dict[str, JobHandler] = {
    status.DISPATCH_JOB: dispatch.run_dispatch,
    dispatch.REPORT_TIMEOUT_JOB: dispatch.run_report_timeout,
    revocation.REVOKE_JOB: revocation.run_revoke,
}

ON_DEAD: dict[str, JobHandler] = {status.DISPATCH_JOB: dispatch.dispatch_given_up}
