"""`chorus worker`'s own small HTTP server, for orchestrators and Prometheus: `GET /healthz`,
`GET /readyz` and `GET /metrics`, the same routes `chorus serve` answers. A worker serves no
API, so nothing else is mounted; it runs only when `--metrics-port` is given."""

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn
from fastapi import FastAPI

from chorus import health, metrics
from chorus.runtime import Runtime


class _Embedded(uvicorn.Server):
    """A uvicorn server inside the worker's event loop: the worker handles the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def probes_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.db = runtime.db
    app.state.runtime = runtime
    app.include_router(health.router)
    app.include_router(metrics.router)
    return app


class ProbesRefused(Exception):
    """The probes' address cannot be listened on."""


@contextlib.asynccontextmanager
async def serving_probes(runtime: Runtime, host: str, port: int) -> AsyncIterator[None]:
    """Serve the probes on `host:port` while the block runs. The socket is bound first, so
    that a port in use stops the worker with a plain reason instead of leaving it running
    unobserved."""
    try:
        sock = socket.create_server(
            (host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET
        )
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ProbesRefused(f"cannot listen on {host}:{port}: {reason}") from None
    # The worker configured the loggers (`logs.py`); uvicorn leaves them as they are.
    config = uvicorn.Config(
        probes_app(runtime),
        log_config=None,
        access_log=runtime.settings.access_log,
        lifespan="off",
    )
    server = _Embedded(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield
    finally:
        server.should_exit = True
        await task
        sock.close()
