"""The FastAPI application: routers, error handlers, and the process lifecycle."""

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from chorus import health, metrics, oauth, rests
from chorus.apps.routes import router as apps_router
from chorus.callbacks.routes import router as callbacks_router
from chorus.capability.routes import router as capability_router
from chorus.config import Settings
from chorus.consents.routes import router as consents_router
from chorus.console.routes import install_console
from chorus.contacts.routes import router as contacts_router
from chorus.conversations.routes import router as conversations_router
from chorus.events.routes import router as events_router
from chorus.inbound.routes import extension as inbound_extension
from chorus.inbound.routes import router as inbound_router
from chorus.jobs import worker_for
from chorus.kit.auth import AuthenticateFirst, Authenticator
from chorus.kit.counters import HttpMetrics
from chorus.kit.db import checkpoint_wal, connect
from chorus.kit.errors import install_error_handlers
from chorus.kit.http import StorableText, WireCompatibility
from chorus.kit.load import CountApiRequests, RequestLoad
from chorus.kit.ratelimit import ProjectRequestLimiter
from chorus.messages.routes import router as messages_router
from chorus.outbox.worker import release_abandoned, worker_name
from chorus.projects.service import Credentials
from chorus.projects.settings.routes import router as project_settings_router
from chorus.runtime import Runtime
from chorus.simulator.routes import router as simulator_router
from chorus.startup import follow_inbound_urls, prepare
from chorus.templates.routes import v1_router as templates_v1_router
from chorus.templates.routes import v2_router as templates_v2_router
from chorus.webhooks.routes import router as webhooks_router


def api_router() -> APIRouter:
    router = APIRouter()
    for domain in (  # the busiest first: routes are matched in order
        messages_router,
        events_router,
        contacts_router,
        conversations_router,
        apps_router,
        webhooks_router,
        templates_v1_router,
        capability_router,
        consents_router,
        project_settings_router,
    ):
        router.include_router(domain)
    return router


def create_app(settings: Settings | None = None, *, announce: bool = False) -> FastAPI:
    settings = settings or Settings()
    load = RequestLoad()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = connect(settings.resolved_database_url, pool_size=settings.database_pool_size)
        prepared = await prepare(db, settings, create_dev=announce)
        runtime = Runtime.create(settings, db, load)
        await follow_inbound_urls(db, runtime)
        app.state.db = db
        app.state.settings = settings
        app.state.runtime = runtime
        app.state.authenticator = Authenticator(
            db.read_sessions,
            prepared.signing_key,
            settings.token_ttl_seconds,
            settings.key_cache_seconds,
        )
        app.state.request_limiter = ProjectRequestLimiter(
            settings.project_request_rate,
            db.write_sessions if db.dialect == "postgresql" else None,
        )
        if settings.run_workers:
            await release_abandoned(db, worker_name())
        stop = asyncio.Event()
        breakers = rests.roles(runtime)
        await rests.share(db, breakers)  # before any call: a restart remembers the rests
        sharing = asyncio.create_task(rests.keep_sharing(db, breakers, stop))
        workers = (
            asyncio.create_task(worker_for(runtime).run(stop)) if settings.run_workers else None
        )
        checkpoints = asyncio.create_task(checkpoint_wal(db, stop))
        tune_garbage_collector()
        if announce:
            print_banner(settings, prepared.dev_credentials)
        try:
            yield
        finally:
            stop.set()
            if workers is not None:
                await workers
            await sharing
            await checkpoints
            await runtime.aclose()
            await db.dispose()

    app = FastAPI(
        title="chorus",
        summary="Conversation API, self-hosted",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    app.include_router(health.router)
    # FastAPI tries routes in order, one by one: the channels' webhooks (a handful of
    # routes, one request per report) go before the API's many.
    app.include_router(inbound_router)
    app.include_router(metrics.router)
    app.include_router(oauth.router)
    app.include_router(api_router(), prefix="/v1")
    app.include_router(templates_v2_router, prefix="/v2")
    app.include_router(callbacks_router, prefix="/chorus/v1")
    app.include_router(inbound_extension, prefix="/chorus/v1")
    if settings.simulator:
        app.include_router(simulator_router)
    install_console(app, settings)
    # Innermost: answers a request whose text cannot be stored before any route runs.
    app.add_middleware(StorableText, max_body_bytes=settings.max_request_bytes)
    app.add_middleware(AuthenticateFirst)  # before any body is read
    app.add_middleware(HttpMetrics)  # it reads the route the router chose
    app.add_middleware(CountApiRequests, load=load)
    app.add_middleware(WireCompatibility)
    return app


def tune_garbage_collector() -> None:
    """Everything built at start-up lives as long as the process: freeze it out of the
    collector's reach, and collect the young generation less often. Full collections over a
    large heap were the slow tail of request latency (p99), not the requests themselves."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def print_banner(settings: Settings, dev: Credentials | None) -> None:
    base_url = f"http://{settings.host}:{settings.port}"
    lines = [
        f"chorus is serving the Conversation API at {base_url}",
        f"Console: {base_url}/console/"
        + (" (local mode: opens signed in)" if settings.simulator else ""),
    ]
    if dev is not None:
        lines += [
            "A dev project was created. Its credentials are shown only this once:",
            f"  project_id: {dev.project_id}",
            f"  key_id:     {dev.key_id}",
            f"  key_secret: {dev.key_secret}",
        ]
    print("\n".join(lines), flush=True)
