"""What a fallback does to a message's retry window and ttl (API.md Part B §3.7), through
`messages.status.fail` on a real SQLite store."""

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from chorus.kit.clock import utcnow
from chorus.kit.db import connect
from chorus.messages import status
from chorus.models import App, Message
from chorus.store import migrate
from chorus.wire.messages import ReasonCode

CANDIDATES = [
    {"channel": "RCS", "identity": "46700000001", "app_id": ""},
    {"channel": "SMS", "identity": "46700000001", "app_id": ""},
]


def fail_first_channel(path: Path, **fields: Any) -> Message:
    """A message on its first of two channels, with `fields`, after that channel failed."""

    async def run() -> Message:
        db = connect(f"sqlite+aiosqlite:///{path}")
        try:
            await migrate(db.write_engine)
            async with db.write_sessions() as session:
                session.add(
                    App(
                        id="a",
                        project_id="p",
                        display_name="app",
                        retention_policy={},
                        dispatch_retention_policy={},
                        smart_conversation={},
                        rate_limits={},
                    )
                )
                message = Message(
                    id="m",
                    project_id="p",
                    app_id="a",
                    direction="TO_CONTACT",
                    processing_mode="CONVERSATION",
                    accept_time=utcnow(),
                    candidates=CANDIDATES,
                    candidate_index=0,
                    status="QUEUED",
                    **fields,
                )
                session.add(message)
                await session.flush()
                failure = status.reason(ReasonCode.CHANNEL_FAILURE, "RCS kept failing")
                await status.fail(session, message, failure)
                await session.commit()
                return message
        finally:
            await db.dispose()

    return asyncio.run(run())


def test_the_next_channel_starts_its_own_retry_window(tmp_path: Path) -> None:
    """The first channel spent its window on transient failures: the next one must still be
    retried (it inherited the spent window, so its first transient failure was its last)."""
    message = fail_first_channel(tmp_path / "chorus.db", retry_since=utcnow() - timedelta(hours=2))
    assert (message.status, message.candidate_index) == ("SWITCHING_CHANNEL", 1)
    assert message.retry_since is None


def test_no_fallback_once_the_ttl_has_elapsed(tmp_path: Path) -> None:
    message = fail_first_channel(tmp_path / "chorus.db", expire_at=utcnow() - timedelta(seconds=1))
    assert (message.status, message.candidate_index) == ("FAILED", 0)
    assert message.reason is not None and message.reason["code"] == "MESSAGE_EXPIRED"
