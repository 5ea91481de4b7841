"""At `chorus serve`'s start on SQLite, jobs held by processes of this host that are gone are
released at once; those of live processes (a `chorus worker` beside it) are not."""

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select, update

from chorus.kit.db import connect
from chorus.models import OutboxJob
from chorus.outbox.service import enqueue
from chorus.outbox.worker import release_abandoned, worker_name
from chorus.store import migrate


def test_only_the_jobs_of_processes_that_are_gone_are_released(tmp_path: Path) -> None:
    host = socket.gethostname()
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    holders = {
        "dead": f"{host}:{ended.stdout.strip()}",
        "earlier-life": worker_name(),  # this pid's name, from before this start
        "live": f"{host}:{live.pid}",
        "other-host": f"elsewhere.example:{os.getpid()}",
    }

    async def run() -> dict[str, str]:
        db = connect(f"sqlite+aiosqlite:///{tmp_path / 'chorus.db'}")
        try:
            await migrate(db.write_engine)
            async with db.write_sessions() as session:
                for kind, holder in holders.items():
                    await enqueue(session, kind, project_id="p", payload={})
                    await session.execute(
                        update(OutboxJob)
                        .where(OutboxJob.kind == kind)
                        .values(status="running", locked_by=holder)
                    )
                await session.commit()
            await release_abandoned(db, worker_name())
            async with db.read_sessions() as session:
                rows = await session.execute(select(OutboxJob.kind, OutboxJob.status))
                return {kind: status for kind, status in rows}
        finally:
            await db.dispose()

    try:
        statuses = asyncio.run(run())
    finally:
        live.kill()
        live.wait()
    assert statuses == {
        "dead": "pending",
        "earlier-life": "pending",
        "live": "running",
        "other-host": "running",
    }
