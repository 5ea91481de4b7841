"""Liveness and readiness probes (DESIGN.md, "Interfaces that scripts rely on")."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from chorus.store import schema_is_current

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> JSONResponse:
    """The process answers; no database involved."""
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is the one this code expects."""
    engine = request.app.state.db.read_engine
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        current = await schema_is_current(engine)
    except Exception as exc:  # any failure to reach the database means "not ready"
        return JSONResponse({"status": "unavailable", "reason": str(exc)[:200]}, status_code=503)
    if not current:
        return JSONResponse(
            {"status": "unavailable", "reason": "migrations pending"}, status_code=503
        )
    return JSONResponse({"status": "ok"})
