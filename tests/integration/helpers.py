"""Small helpers shared by the integration tests."""

import uuid
from typing import Any

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
