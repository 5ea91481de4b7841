"""Bad input gets a clear error, never a 500: every operation of the server's own OpenAPI
document, called with bodies built from its schemas and then broken (a value of another JSON
type, a key dropped or added, malformed JSON), with odd path segments and query values.

Every answer must be below 500, and on the API's own paths a 4xx must be the error envelope
with its code. Seeded, so a failure names a request that fails again. A server of its own:
the calls create apps, contacts and webhooks."""

import json
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import BACKENDS
from tests.integration.pipeline_helpers import DedicatedServer, dedicated_server
from tests.mutations import mutate

CALLS = 2500
ENVELOPED = ("/v1/", "/v2/", "/chorus/v1/", "/simulator/v1/")
ODD_SEGMENTS = ["x", "ü", "a" * 300, "..", "%2F", "%00", " "]
ODD_QUERY = ["", "x", "-1", "0", "99999999999", "ü", "a" * 2000, "2026-01-01T00:00:00Z", "true"]


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest) -> Iterator[DedicatedServer]:
    with dedicated_server(request.param, CHORUS_PROJECT_REQUEST_RATE="100000") as dedicated:
        yield dedicated


class Calls:
    """Requests built from the OpenAPI document, around real resources."""

    def __init__(self, client: httpx.Client, project_id: str, rng: random.Random) -> None:
        self.client, self.project_id, self.rng = client, project_id, rng
        self.spec = client.get("/openapi.json").json()
        self.schemas = self.spec["components"]["schemas"]
        self.ids = self._resources()

    def _resources(self) -> dict[str, str]:
        api = f"/v1/projects/{self.project_id}"
        sms = {"channel": "SMS", "static_bearer": {"claimed_identity": "plan", "token": "t"}}
        app = self.client.post(
            f"{api}/apps", json={"display_name": "bad input", "channel_credentials": [sms]}
        ).json()["id"]
        identity = {"channel": "SMS", "identity": "46700000001"}
        contact = self.client.post(f"{api}/contacts", json={"channel_identities": [identity]})
        webhook = self.client.post(
            f"{api}/webhooks",
            json={"app_id": app, "target": "http://127.0.0.1:9/h", "triggers": ["MESSAGE_INBOUND"]},
        )
        return {
            "project_id": self.project_id,
            "app_id": app,
            "contact_id": contact.json()["id"],
            "destination_id": contact.json()["id"],
            "webhook_id": webhook.json()["id"],
            "channel": "SMS",
            "identity": "46700000001",
        }

    def operations(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [
            (path, method, operation)
            for path, item in self.spec["paths"].items()
            for method, operation in item.items()
            # Deletes and merges would take the resources the other calls use.
            if method != "delete" and not path.endswith(":merge")
        ]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def example(self, schema: dict[str, Any], name: str = "", depth: int = 0) -> Any:
        """A value of the schema's shape (not always valid: enough to reach the checks)."""
        schema = self.resolve(schema)
        rng = self.rng
        if depth > 6:
            return None
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [o for o in schema[key] if self.resolve(o).get("type") != "null"]
                return self.example(rng.choice(options or schema[key]), name, depth + 1)
        if "allOf" in schema:
            return self.example(schema["allOf"][0], name, depth + 1)
        if "enum" in schema:
            return rng.choice(schema["enum"])
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            required = set(schema.get("required", []))
            return {
                key: self.example(sub, key, depth + 1)
                for key, sub in schema.get("properties", {}).items()
                if key in required or rng.random() < 0.35
            }
        if kind == "array":
            return [self.example(schema.get("items", {}), name, depth + 1) for _ in range(2)]
        if kind == "string":
            return self.ids.get(name) or rng.choice(["x", "46700000003", "https://e.example/a"])
        if kind in ("integer", "number"):
            return rng.choice([0, 1, 100])
        if kind == "boolean":
            return rng.choice([True, False])
        return rng.choice(["x", 1, None, {}])

    def request(self, path: str, operation: dict[str, Any]) -> dict[str, Any]:
        url = path
        for name in [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]:
            value = self.ids.get(name, "x")
            if self.rng.random() < 0.15:
                value = self.rng.choice(ODD_SEGMENTS)
            url = url.replace("{" + name + "}", value)
        params = {
            p["name"]: self.rng.choice(ODD_QUERY)
            for p in operation.get("parameters", [])
            if p["in"] == "query" and self.rng.random() < 0.5
        }
        call: dict[str, Any] = {"url": url, "params": params}
        body = operation.get("requestBody")
        if body:
            schema = next(iter(body["content"].values())).get("schema", {})
            value = self.example(schema)
            if self.rng.random() < 0.6:
                value = mutate(value, self.rng)
            content = json.dumps(value).encode()
            if self.rng.random() < 0.03:
                content = self.rng.choice([b"{", b"\xff\xfe", b"[]", b"null"])
            call["content"] = content
            call["headers"] = {"content-type": "application/json"}
        return call


def test_no_operation_answers_a_5xx_and_every_4xx_is_the_error_envelope(
    server: DedicatedServer,
) -> None:
    failures: list[str] = []
    key = server.credentials
    with httpx.Client(base_url=server.url, auth=(key.key_id, key.key_secret), timeout=30) as client:
        calls = Calls(client, key.project_id, random.Random("bad-input"))
        operations = calls.operations()
        for _ in range(CALLS):
            path, method, operation = calls.rng.choice(operations)
            call = calls.request(path, operation)
            response = client.request(method.upper(), **call)
            what = f"{method.upper()} {call['url'][:120]} {call.get('content', b'')[:300]!r}"
            if response.status_code >= 500:
                failures.append(f"{response.status_code} for {what}: {response.text[:200]}")
            elif response.status_code >= 400 and path.startswith(ENVELOPED):
                error = response.json().get("error") if response.text.startswith("{") else None
                if not (error and error["code"] == response.status_code and error["message"]):
                    failures.append(f"no error envelope for {what}: {response.text[:200]}")
    assert not failures, "\n".join(failures[:10])
