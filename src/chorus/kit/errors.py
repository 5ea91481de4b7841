"""The one error type of the API and the handlers that render the error envelope.

Every non-2xx answer is `{"error": {"code", "message", "status", "details"}}` (API.md §1.4).
"""

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from chorus.kit.db import ERRORS_TO_SORT, conflicted, describe_unavailable, unavailable

log = logging.getLogger("chorus.errors")
DATABASE_RETRY_AFTER = 2  # seconds, in the Retry-After of a 503 while the database is away

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",  # the method is not one the resource has (grpc-gateway's mapping)
    409: "ALREADY_EXISTS",
    413: "INVALID_ARGUMENT",
    415: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
}

# Past this length an identifier the caller gave is shortened where an error repeats it: ids
# are 26 characters (ULIDs) or a name; a path segment of kilobytes need not come back twice.
ECHOED_ID_CHARS = 128

BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
RESOURCE_INFO_TYPE = "type.googleapis.com/google.rpc.ResourceInfo"


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


@dataclass
class ApiError(Exception):
    """An error answer: HTTP code, canonical status name, a message a person can act on."""

    code: int
    message: str
    status: str = ""
    violations: Sequence[FieldViolation] = ()
    details: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.status = self.status or STATUS_NAMES.get(self.code, "UNKNOWN")

    def envelope(self) -> dict[str, Any]:
        details = list(self.details)
        if self.violations:
            details.insert(
                0,
                {
                    "@type": BAD_REQUEST_TYPE,
                    "field_violations": [
                        {"field": v.field, "description": v.description} for v in self.violations
                    ],
                },
            )
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "status": self.status,
                "details": details,
            }
        }

    def response(self) -> JSONResponse:
        return JSONResponse(self.envelope(), status_code=self.code, headers=self.headers)


def try_again(code: int, message: str, seconds: float, *, status: str = "") -> ApiError:
    """An answer that asks the client to come back: `RetryInfo` in the details (API.md §1.4)
    and `Retry-After` (whole seconds, at least 1) for HTTP clients."""
    delay = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return ApiError(
        code,
        message,
        status=status,
        details=[{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retry_delay": f"{delay}s"}],
        headers={"Retry-After": str(max(1, math.ceil(seconds)))},
    )


def invalid(field_path: str, description: str) -> ApiError:
    """400 INVALID_ARGUMENT naming one field."""
    return ApiError(
        400,
        f"Invalid argument: {field_path}: {description}",
        violations=[FieldViolation(field_path, description)],
    )


def invalid_fields(violations: Sequence[FieldViolation]) -> ApiError:
    summary = "; ".join(f"{v.field}: {v.description}" for v in violations)
    return ApiError(400, f"Invalid argument: {summary}", violations=violations)


def failed_precondition(message: str) -> ApiError:
    return ApiError(400, message, status="FAILED_PRECONDITION")


def echoed(resource_id: str) -> str:
    """An identifier as an error message repeats it: shortened past `ECHOED_ID_CHARS`."""
    if len(resource_id) <= ECHOED_ID_CHARS:
        return resource_id
    return f"{resource_id[:ECHOED_ID_CHARS]}… ({len(resource_id)} characters)"


def not_found(resource_type: str, resource_id: str) -> ApiError:
    resource_id = echoed(resource_id)
    return ApiError(
        404,
        f"{resource_type} {resource_id} not found",
        details=[
            {
                "@type": RESOURCE_INFO_TYPE,
                "resource_type": resource_type,
                "resource_name": resource_id,
                "owner": "",
                "description": "not found in this project",
            }
        ],
    )


def already_exists(message: str, resource_type: str, resource_id: str) -> ApiError:
    resource_id = echoed(resource_id)
    return ApiError(
        409,
        message,
        details=[
            {
                "@type": RESOURCE_INFO_TYPE,
                "resource_type": resource_type,
                "resource_name": resource_id,
                "owner": "",
                "description": message,
            }
        ],
    )


def field_path(loc: Sequence[str | int]) -> str:
    """`("body", "channel_identities", 0, "identity")` → `channel_identities[0].identity`."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    path = ""
    for part in parts:
        if part == "[key]":  # pydantic's marker for a bad dict key; the key itself says it
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        elif not path:
            path = str(part)
        else:
            path += f".{part}"
    return path or "body"


def describe_validation_error(error: dict[str, Any]) -> FieldViolation:
    kind = error.get("type", "")
    path = field_path(error.get("loc", ()))
    if kind == "json_invalid":
        return FieldViolation("body", "is not valid JSON")
    if kind == "missing":
        return FieldViolation(path, "is required")
    if kind in ("model_type", "model_attributes_type", "dict_type") and path == "body":
        if isinstance(error.get("input"), str | bytes):  # not read as JSON at all
            return FieldViolation(
                "body", "must be a JSON object sent with Content-Type: application/json"
            )
        return FieldViolation("body", "must be a JSON object")
    message = error.get("msg", "is invalid")
    # pydantic prefixes custom errors with "Value error, "; the field name says enough.
    return FieldViolation(path, message.removeprefix("Value error, "))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        violations = [describe_validation_error(e) for e in exc.errors()]
        if any(v.field == "body" and v.description == "is not valid JSON" for v in violations):
            return ApiError(
                400, "Malformed JSON in request body", violations=violations[:1]
            ).response()
        return invalid_fields(violations).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = {404: "Not found", 405: "Method not allowed"}.get(
            exc.status_code, str(exc.detail)
        )
        # FastAPI's own 400s are about the body it could not read (nested past its parser's
        # depth, say): say so where the field would be named.
        violations = (
            [FieldViolation("body", "could not be parsed")] if exc.status_code == 400 else []
        )
        return ApiError(
            exc.status_code, message, violations=violations, headers=dict(exc.headers or {})
        ).response()

    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        if unavailable(exc):
            # The database went away (or is locked past waiting): nothing was accepted, and
            # the client may try again. A line in the log, not a traceback per request.
            log.warning("answered 503, the database is unavailable: %s", describe_unavailable(exc))
            return try_again(
                503, "The database is unavailable; try again shortly", DATABASE_RETRY_AFTER
            ).response()
        if conflicted(exc):
            # Changes at once that PostgreSQL could not order (a deadlock): this one was
            # rolled back whole, and may simply be sent again.
            log.warning("answered 409 ABORTED: %s", describe_unavailable(exc))
            return try_again(
                409,
                "A concurrent change conflicted with this request; nothing was changed, try again",
                1,
                status="ABORTED",
            ).response()
        log.exception("unhandled error", exc_info=exc)
        return ApiError(500, "Internal error").response()

    # Database errors are sorted here rather than by the catch-all, which Starlette answers
    # from its outermost layer and then closes the client's connection.
    for kind in (*ERRORS_TO_SORT, Exception):
        app.add_exception_handler(kind, _unexpected)
