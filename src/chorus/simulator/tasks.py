"""Background jobs of the simulator (filled in by the simulator work)."""

from chorus.runtime import JobHandler

HANDLERS: dict[str, JobHandler] = {}
