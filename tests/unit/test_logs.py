"""Log settings and formats (`logs.py`): JSON lines, credential-free access lines."""

import json
import logging
import sys

import pytest

from chorus.config import Settings
from chorus.logs import JsonFormatter, RedactAccess, log_config, redact_query


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/healthz", "/healthz"),
        ("/v1/projects/p/messages?page_size=5", "/v1/projects/p/messages?page_size=5"),
        (
            "/console/api/projects/p/stream?access_token=eyJabc.def",
            "/console/api/projects/p/stream?access_token=[redacted]",
        ),
        (
            "/inbound/whatsapp/A?hub.mode=subscribe&hub.verify_token=s3cret&hub.challenge=42",
            "/inbound/whatsapp/A?hub.mode=subscribe&hub.verify_token=[redacted]&hub.challenge=42",
        ),
        (
            "/x?apiKey=1&Client_Secret=2&sig=3",
            "/x?apiKey=[redacted]&Client_Secret=[redacted]&sig=3",
        ),
        ("/x?signature=abc#frag", "/x?signature=[redacted]#frag"),
    ],
)
def test_credential_like_query_values_are_redacted(path: str, expected: str) -> None:
    assert redact_query(path) == expected


def record(
    name: str, message: str, args: tuple[object, ...] = (), **extra: object
) -> logging.LogRecord:
    made = logging.LogRecord(name, logging.INFO, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_a_json_line_has_time_level_logger_and_message() -> None:
    line = JsonFormatter().format(record("chorus.worker", "released %d jobs", (3,)))
    entry = json.loads(line)
    assert entry["level"] == "info" and entry["logger"] == "chorus.worker"
    assert entry["message"] == "released 3 jobs"
    assert entry["time"].endswith("Z")


def test_a_json_line_carries_the_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        failed = record("chorus.worker", "job failed", exc_info=sys.exc_info())
    entry = json.loads(JsonFormatter().format(failed))
    assert "ValueError: boom" in entry["exception"]
    assert "\n" not in JsonFormatter().format(failed)  # one line per record


def test_an_access_line_is_redacted_and_split_into_fields() -> None:
    access = record(
        "uvicorn.access",
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/s?access_token=t0k3n", "1.1", 200),
    )
    assert RedactAccess().filter(access)
    entry = json.loads(JsonFormatter().format(access))
    assert entry["path"] == "/s?access_token=[redacted]"
    assert (entry["method"], entry["status"], entry["client"]) == ("GET", 200, "127.0.0.1:5000")
    assert "t0k3n" not in json.dumps(entry)


def test_levels_and_the_access_log_follow_the_settings() -> None:
    quiet = log_config(Settings(log_level="WARNING"))
    assert quiet["loggers"]["chorus"]["level"] == "WARNING"
    assert quiet["loggers"]["uvicorn.access"]["handlers"] == []
    assert "format" in quiet["formatters"]["chorus"]
    loud = log_config(Settings(log_level="debug", log_format="JSON", access_log=True))
    assert loud["loggers"]["uvicorn"]["level"] == "DEBUG"
    assert loud["loggers"]["uvicorn.access"]["handlers"] == ["access"]
    assert loud["formatters"]["chorus"] == {"()": JsonFormatter}
