"""Every kind of background job and its handler, bound to a process's runtime."""

import functools

from chorus import retention
from chorus.apps import tasks as app_tasks
from chorus.callbacks import service as callback_service
from chorus.callbacks import tasks as callback_tasks
from chorus.capability import tasks as capability_tasks
from chorus.consents import tasks as consent_tasks
from chorus.events import tasks as event_tasks
from chorus.messages import tasks as message_tasks
from chorus.outbox.worker import Handler, Worker
from chorus.runtime import JobHandler, Runtime
from chorus.simulator import tasks as simulator_tasks

HANDLERS: dict[str, JobHandler] = {
    **app_tasks.HANDLERS,
    **callback_tasks.HANDLERS,
    **capability_tasks.HANDLERS,
    **consent_tasks.HANDLERS,
    **event_tasks.HANDLERS,
    **message_tasks.HANDLERS,
    **retention.HANDLERS,
    **simulator_tasks.HANDLERS,
}


def worker_for(runtime: Runtime) -> Worker:
    bound: dict[str, Handler] = {
        kind: functools.partial(handler, runtime) for kind, handler in HANDLERS.items()
    }
    on_dead: dict[str, Handler] = {
        kind: functools.partial(handler, runtime) for kind, handler in message_tasks.ON_DEAD.items()
    }
    concurrency = runtime.settings.worker_concurrency
    return Worker(
        runtime.db,
        bound,
        on_dead=on_dead,
        concurrency=concurrency,
        load=runtime.load,
        # Callbacks wait on other parties' servers: at most half the slots, so that slow
        # receivers never hold up dispatch.
        lanes={callback_service.DELIVER: max(1, concurrency // 2)},
    )
