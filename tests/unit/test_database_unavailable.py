"""Which database errors mean "not now" (503, retried) or "changes at once" (409 ABORTED)
rather than "wrong" (`kit/db.py`)."""

import sqlite3

import pytest
import sqlalchemy.exc
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chorus.kit.db import conflicted, unavailable
from chorus.kit.errors import install_error_handlers


class PostgresError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"state {sqlstate}")
        self.sqlstate = sqlstate


def wrapped(
    original: Exception, kind: type = sqlalchemy.exc.DBAPIError, **fields: bool
) -> Exception:
    return kind("SELECT 1", {}, original, **fields)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        sqlalchemy.exc.TimeoutError("QueuePool limit reached"),
        wrapped(Exception("connection was closed"), connection_invalidated=True),
        wrapped(Exception("closed"), sqlalchemy.exc.InterfaceError),
        wrapped(sqlite3.OperationalError("database is locked"), sqlalchemy.exc.OperationalError),
        wrapped(sqlite3.OperationalError("disk I/O error"), sqlalchemy.exc.OperationalError),
        wrapped(PostgresError("08006")),  # connection failure
        wrapped(PostgresError("53300")),  # too many connections
        wrapped(PostgresError("57P01")),  # admin shutdown
    ],
)
def test_errors_of_a_database_that_is_away(error: Exception) -> None:
    assert unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a bug"),
        wrapped(sqlite3.OperationalError("no such table: things"), sqlalchemy.exc.OperationalError),
        wrapped(sqlite3.IntegrityError("UNIQUE constraint failed"), sqlalchemy.exc.IntegrityError),
        wrapped(PostgresError("23505"), sqlalchemy.exc.IntegrityError),  # unique violation
        wrapped(PostgresError("42P01")),  # undefined table
    ],
)
def test_errors_of_a_statement_are_not(error: Exception) -> None:
    assert not unavailable(error)


@pytest.mark.parametrize("state", ["40P01", "40001"])  # deadlock, serialization failure
def test_a_deadlock_is_a_conflict_answered_409_aborted(state: str) -> None:
    """Not "away" (503) and not a bug (500): one of two changes at once that PostgreSQL rolled
    back whole; the client may send it again."""
    error = wrapped(PostgresError(state))
    assert conflicted(error) and not unavailable(error)

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/deadlocked")
    async def deadlocked() -> None:
        raise error

    response = TestClient(app, raise_server_exceptions=False).get("/deadlocked")
    assert response.status_code == 409
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["status"] == "ABORTED"


def test_other_statement_errors_are_no_conflict() -> None:
    assert not conflicted(wrapped(PostgresError("23505"), sqlalchemy.exc.IntegrityError))
    assert not conflicted(ValueError("a bug"))
