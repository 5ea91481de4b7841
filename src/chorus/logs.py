"""The process's logs: chorus's and uvicorn's loggers in one format on stderr.

- `CHORUS_LOG_LEVEL` (`warning`): `info` adds the server's start and stop lines;
- `CHORUS_LOG_FORMAT` (`text`): `json` writes one object per line (`time`, `level`, `logger`,
  `message`, and `exception` with the traceback), for log collectors;
- `CHORUS_ACCESS_LOG` (false): a line per HTTP request (`client`, `method`, `path`, `status`
  in JSON). Query parameters that carry credentials (the console's `access_token`, a
  channel's `hub.verify_token`, anything named like a token, key, secret or signature) are
  written `[redacted]`.
"""

import json
import logging
import logging.config
import re
from datetime import UTC, datetime
from typing import Any

from chorus.config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"
_SECRET_PARAMETER = re.compile(
    r"([?&][^=&#]*(?:token|secret|key|signature|password)[^=&#]*=)[^&#]*", re.IGNORECASE
)


def redact_query(path: str) -> str:
    """The path with the values of credential-like query parameters replaced."""
    return _SECRET_PARAMETER.sub(rf"\1{REDACTED}", path)


class RedactAccess(logging.Filter):
    """uvicorn's access records carry (client, method, path, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            record.args = (client, method, redact_query(str(path)), version, status)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            client, method, path, _, status = record.args
            entry.update(client=client, method=method, path=path, status=status)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def log_config(settings: Settings) -> dict[str, Any]:
    """A `logging.config.dictConfig` schema; uvicorn takes it as its `log_config`."""
    level = settings.log_level.upper()
    formatter: dict[str, Any] = (
        {"()": JsonFormatter} if settings.log_format == "json" else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"chorus": formatter},
        "filters": {"redact": {"()": RedactAccess}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "chorus",
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "chorus",
                "filters": ["redact"],
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            "chorus": {"level": level, "handlers": ["stderr"], "propagate": False},
            "uvicorn": {"level": level, "handlers": ["stderr"], "propagate": False},
            "uvicorn.access": {
                "level": "INFO" if settings.access_log else "CRITICAL",
                "handlers": ["access"] if settings.access_log else [],
                "propagate": False,
            },
        },
    }


def configure(settings: Settings) -> None:
    logging.config.dictConfig(log_config(settings))


def _utc(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    return moment.replace("+00:00", "Z")
