"""Small helpers shared by the integration tests."""

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx


def assert_error(
    response: httpx.Response, code: int, status: str | None = None, *, field: str | None = None
) -> dict[str, Any]:
    """The response is an error envelope with this code (and status, and a violation on
    this field when given)."""
    assert response.status_code == code, f"{response.status_code}: {response.text}"
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert isinstance(error["details"], list)
    if status is not None:
        assert error["status"] == status, error
    if field is not None:
        fields = [
            v["field"] for detail in error["details"] for v in detail.get("field_violations", [])
        ]
        assert field in fields, f"no violation on {field}: {error}"
    return error


def new_app(api: httpx.Client, **fields: Any) -> str:
    body = {
        "display_name": f"app-{uuid.uuid4().hex[:6]}",
        "channel_credentials": [
            {"channel": "SMS", "static_bearer": {"claimed_identity": "46700000000", "token": "t"}}
        ],
        **fields,
    }
    response = api.post("/apps", json=body)
    assert response.status_code == 200, response.text
    return response.json()["id"]


T = TypeVar("T")


def wait_for(condition: Callable[[], T], *, seconds: float = 30, what: str = "condition") -> T:
    """Poll until `condition()` is truthy (and return it), or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


ALL_TRIGGERS = [
    "MESSAGE_DELIVERY",
    "MESSAGE_SUBMIT",
    "MESSAGE_INBOUND",
    "EVENT_DELIVERY",
    "EVENT_INBOUND",
    "CONVERSATION_START",
    "CONVERSATION_STOP",
    "CONVERSATION_DELETE",
    "CONTACT_CREATE",
    "CONTACT_DELETE",
    "CONTACT_MERGE",
    "CONTACT_UPDATE",
    "CONTACT_IDENTITIES_DUPLICATION",
    "UNSUPPORTED",
    "CHANNEL_EVENT",
]


def recording_webhook(api: httpx.Client, app_id: str, triggers: list[str] | None = None) -> str:
    """A DISMISS webhook on `triggers` (default: every trigger): chorus records each callback
    without sending it (read them with `server.recorded_callbacks(app_id)`)."""
    response = api.post(
        "/webhooks",
        json={
            "app_id": app_id,
            "target": "http://127.0.0.1:9/unused",
            "target_type": "DISMISS",
            "triggers": triggers or ALL_TRIGGERS,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()["id"]
