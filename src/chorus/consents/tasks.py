"""Background jobs of consent."""

from chorus.consents import service
from chorus.runtime import JobHandler

HANDLERS: dict[str, JobHandler] = {service.REGISTER_JOB: service.run_registration}
