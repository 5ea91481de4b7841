"""Background jobs of callbacks (filled in by the callback delivery work)."""

from chorus.runtime import JobHandler

HANDLERS: dict[str, JobHandler] = {}
