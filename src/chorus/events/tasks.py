"""Background jobs of events."""

from chorus.events import dispatch, service
from chorus.runtime import JobHandler

HANDLERS: dict[str, JobHandler] = {service.DISPATCH_JOB: dispatch.run_event_dispatch}
