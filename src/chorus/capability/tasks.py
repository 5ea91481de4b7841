"""Background jobs of capability lookups."""

from chorus.capability import service
from chorus.runtime import JobHandler

HANDLERS: dict[str, JobHandler] = {service.QUERY_JOB: service.run_query}
