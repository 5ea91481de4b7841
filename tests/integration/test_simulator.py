"""The simulator over HTTP: the fake of the SMS REST API (XMS), its durable delivery reports,
simulated handsets and the control API (DESIGN.md "Simulator", CHANNELS.md part 1 §1)."""

import base64
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import httpx
import pytest

from tests.conftest import Server
from tests.integration.helpers import assert_error

T = TypeVar("T")


def wait_until(condition: Callable[[], T], *, timeout: float = 30.0, what: str = "") -> T:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        time.sleep(0.05)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any

    def basic_auth(self) -> tuple[str, str] | None:
        scheme, _, encoded = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        user, _, password = base64.b64decode(encoded).decode().partition(":")
        return user, password


@dataclass
class Receiver:
    """A local HTTP endpoint standing in for chorus's inbound URL."""

    url: str
    requests: list[Received] = field(default_factory=list)
    failures_left: int = 0  # answer 500 to this many requests first

    def reports_for(self, batch_id: str) -> list[Received]:
        return [r for r in list(self.requests) if r.body.get("batch_id") == batch_id]

    def report(self, batch_id: str) -> Received:
        return wait_until(
            lambda: next(iter(self.reports_for(batch_id)), None), what=f"the DLR of {batch_id}"
        )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    lock = threading.Lock()
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"null")
            target = state["receiver"]
            with lock:
                failing = target.failures_left > 0
                if failing:
                    target.failures_left -= 1
                target.requests.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
            self.send_response(500 if failing else 200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *_: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = Receiver(f"http://127.0.0.1:{httpd.server_port}/inbound/sms/X")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["receiver"]
    finally:
        httpd.shutdown()
        httpd.server_close()


@dataclass
class SmsApp:
    id: str
    plan: str
    token: str
    secret: str


def sms_app(api: httpx.Client, *, secret: str = "", plan: str | None = None) -> SmsApp:
    plan = plan or f"plan{uuid.uuid4().hex[:10]}"
    token = uuid.uuid4().hex
    credential: dict[str, Any] = {
        "channel": "SMS",
        "static_bearer": {"claimed_identity": plan, "token": token},
    }
    if secret:
        credential["callback_secret"] = secret
    response = api.post("/apps", json={"display_name": "sim", "channel_credentials": [credential]})
    assert response.status_code == 200, response.text
    return SmsApp(response.json()["id"], plan, token, secret)


def new_msisdn() -> str:
    return f"4670{random.randrange(10**7):07d}"


def post_batch(
    server: Server, app: SmsApp, batch: Any, *, token: str | None = None
) -> httpx.Response:
    """POST a batch to the simulated XMS; `token=""` sends no Authorization header."""
    content = batch if isinstance(batch, bytes) else json.dumps(batch).encode()
    headers = {"content-type": "application/json"}
    if token != "":
        headers["authorization"] = f"Bearer {token if token is not None else app.token}"
    return httpx.post(
        f"{server.url}/simulator/sms/xms/v1/{app.plan}/batches",
        content=content,
        headers=headers,
        timeout=30,
    )


def batch_for(to: str, receiver: Receiver, **fields: Any) -> dict[str, Any]:
    return {
        "to": [to],
        "body": "Hello from chorus",
        "type": "mt_text",
        "delivery_report": "per_recipient",
        "callback_url": receiver.url,
        "client_reference": f"msg-{uuid.uuid4().hex[:8]}",
        **fields,
    }


def control(server: Server) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/simulator/v1", timeout=30)


def handset(server: Server, identity: str, channel: str = "sms") -> dict[str, Any]:
    with control(server) as client:
        response = client.get(f"/handsets/{channel}/{identity}")
    assert response.status_code == 200, response.text
    return response.json()


def patch_handset(server: Server, identity: str, settings: dict[str, Any]) -> dict[str, Any]:
    with control(server) as client:
        response = client.patch(f"/handsets/sms/{identity}", json=settings)
    assert response.status_code == 200, response.text
    return response.json()


# --- the XMS fake ------------------------------------------------------------------------------


def test_a_batch_is_created_delivered_to_the_handset_and_reported(
    server: Server, api: httpx.Client, receiver: Receiver
) -> None:
    app = sms_app(api, secret="dlr-secret")
    number = new_msisdn()
    batch = batch_for(f"+{number}", receiver, **{"from": "Acme"})
    response = post_batch(server, app, batch)

    assert response.status_code == 201, response.text
    created = response.json()
    assert isinstance(created["id"], str) and created["id"]
    assert created["to"] == [number]
    for key in ("from", "body", "type", "delivery_report", "callback_url", "client_reference"):
        assert created[key] == batch[key]
    assert created["canceled"] is False
    assert created["created_at"].endswith("Z") and created["modified_at"].endswith("Z")

    phone = handset(server, number)
    assert phone["channel"] == "SMS" and phone["identity"] == number
    assert phone["settings"]["reachable"] is True and phone["settings"]["fail_next"] is None
    (entry,) = phone["inbox"]
    assert entry["direction"] == "received"
    assert entry["text"] == "Hello from chorus"
    assert entry["native_id"] == created["id"]
    assert entry["status"] == "Delivered"
    assert entry["request"]["body"] == "Hello from chorus"

    report = receiver.report(created["id"])
    assert report.path == "/inbound/sms/X"
    assert report.basic_auth() == (app.plan, "dlr-secret")
    assert report.body["type"] == "recipient_delivery_report_sms"
    assert report.body["recipient"] == number
    assert (report.body["code"], report.body["status"]) == (0, "Delivered")
    assert report.body["client_reference"] == batch["client_reference"]
    assert report.body["at"].endswith("Z") and report.body["operator_status_at"].endswith("Z")


def test_reports_carry_no_authorization_when_the_app_has_no_callback_secret(
    server: Server, api: httpx.Client, receiver: Receiver
) -> None:
    app = sms_app(api)
    created = post_batch(server, app, batch_for(new_msisdn(), receiver)).json()
    assert "authorization" not in receiver.report(created["id"]).headers


def test_a_refused_report_is_retried(server: Server, api: httpx.Client, receiver: Receiver) -> None:
    receiver.failures_left = 1
    app = sms_app(api, secret="x")
    created = post_batch(server, app, batch_for(new_msisdn(), receiver)).json()
    reports = wait_until(
        lambda: (
            len(receiver.reports_for(created["id"])) >= 2 and receiver.reports_for(created["id"])
        ),
        what="the retried DLR",
    )
    assert reports[0].body == reports[1].body


def test_a_bad_token_is_401_and_an_unknown_plan_404(server: Server, api: httpx.Client) -> None:
    app = sms_app(api)
    batch = {"to": [new_msisdn()], "body": "x"}
    for token in ("wrong", ""):
        response = post_batch(server, app, batch, token=token)
        assert response.status_code == 401, response.text
        assert set(response.json()) == {"code", "text"}
    unknown = SmsApp("none", f"plan{uuid.uuid4().hex}", "t", "")
    response = post_batch(server, unknown, batch)
    assert response.status_code == 404
    assert set(response.json()) == {"code", "text"}


def test_apps_sharing_a_plan_are_told_apart_by_their_token(
    server: Server, api: httpx.Client, receiver: Receiver
) -> None:
    first = sms_app(api, secret="first")
    second = sms_app(api, secret="second", plan=first.plan)
    created = post_batch(server, second, batch_for(new_msisdn(), receiver)).json()
    assert created["id"]
    # The report is authenticated for the app whose callback URL it goes to, else the sender.
    assert receiver.report(created["id"]).basic_auth() in {
        (first.plan, "second"),
        (first.plan, "first"),
    }


@pytest.mark.parametrize(
    ("batch", "code"),
    [
        (b"{not json", "syntax_invalid_json"),
        (b"[]", "syntax_invalid_json"),
        ({"body": "x"}, "syntax_constraint_violation"),
        ({"to": [], "body": "x"}, "syntax_constraint_violation"),
        ({"to": ["12"], "body": "x"}, "syntax_invalid_parameter_format"),
        ({"to": "46700000001", "body": "x"}, "syntax_constraint_violation"),
        ({"to": ["46700000001"]}, "syntax_constraint_violation"),
        ({"to": ["46700000001"], "body": 5}, "syntax_constraint_violation"),
        ({"to": ["46700000001"], "body": "x" * 2001}, "syntax_constraint_violation"),
        ({"to": ["46700000001"], "body": "x", "type": "mt_fancy"}, None),
        ({"to": ["46700000001"], "body": "x", "delivery_report": "always"}, None),
        ({"to": ["46700000001"], "body": "x", "max_number_of_message_parts": 0}, None),
    ],
)
def test_malformed_batches_are_400(
    server: Server, api: httpx.Client, batch: Any, code: str | None
) -> None:
    app = sms_app(api)
    response = post_batch(server, app, batch)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"].startswith("syntax_") and error["text"]
    if code is not None:
        assert error["code"] == code


def test_an_invalid_recipient_names_the_to_parameter(server: Server, api: httpx.Client) -> None:
    response = post_batch(server, sms_app(api), {"to": ["0123"], "body": "x"})
    assert response.json()["code"] == "syntax_invalid_parameter_format"
    assert "'to'" in response.json()["text"]


def test_a_body_of_2000_characters_is_accepted(
    server: Server, api: httpx.Client, receiver: Receiver
) -> None:
    response = post_batch(server, sms_app(api), batch_for(new_msisdn(), receiver, body="y" * 2000))
    assert response.status_code == 201, response.text


# --- handset settings decide the report --------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [(406, "Expired"), (402, "Failed"), (411, "Aborted"), (60, "Rejected")],
)
def test_fail_next_reports_its_code_once(
    server: Server, api: httpx.Client, receiver: Receiver, code: int, status: str
) -> None:
    app = sms_app(api, secret="s")
    number = new_msisdn()
    assert patch_handset(server, number, {"fail_next": code})["settings"]["fail_next"] == code

    failed = post_batch(server, app, batch_for(number, receiver)).json()
    report = receiver.report(failed["id"]).body
    assert (report["code"], report["status"]) == (code, status)
    assert report["status_message"]
    assert handset(server, number)["settings"]["fail_next"] is None

    delivered = post_batch(server, app, batch_for(number, receiver)).json()
    report = receiver.report(delivered["id"]).body
    assert (report["code"], report["status"]) == (0, "Delivered")
    statuses = [entry["status"] for entry in handset(server, number)["inbox"]]
    assert statuses == [status, "Delivered"]


def test_an_unreachable_handset_reports_402_and_keeps_fail_next(
    server: Server, api: httpx.Client, receiver: Receiver
) -> None:
    app = sms_app(api)
    number = new_msisdn()
    patch_handset(server, number, {"reachable": False, "fail_next": 406})
    created = post_batch(server, app, batch_for(number, receiver)).json()
    report = receiver.report(created["id"]).body
    assert (report["code"], report["status"]) == (402, "Failed")
    assert handset(server, number)["settings"]["fail_next"] == 406

    patch_handset(server, number, {"reachable": True})
    created = post_batch(server, app, batch_for(number, receiver)).json()
    assert receiver.report(created["id"]).body["code"] == 406


def test_more_parts_than_the_batch_allows_aborts_with_411(
    server: Server, api: httpx.Client, receiver: Receiver
) -> None:
    app = sms_app(api)
    batch = batch_for(new_msisdn(), receiver, body="z" * 161, max_number_of_message_parts=1)
    created = post_batch(server, app, batch).json()
    report = receiver.report(created["id"]).body
    assert (report["code"], report["status"]) == (411, "Aborted")


def test_without_auto_deliver_the_message_stays_dispatched(
    server: Server, api: httpx.Client, receiver: Receiver
) -> None:
    app = sms_app(api)
    number = new_msisdn()
    patch_handset(server, number, {"auto_deliver": False, "auto_read": False})
    post_batch(server, app, batch_for(number, receiver))
    assert [entry["status"] for entry in handset(server, number)["inbox"]] == ["Dispatched"]


# --- the control API ---------------------------------------------------------------------------


def test_handsets_are_listed_once_used(server: Server, api: httpx.Client) -> None:
    number = new_msisdn()
    patch_handset(server, number, {"capability": "NO_CAPABILITY"})
    with control(server) as client:
        for query in ({}, {"channel": "sms"}, {"channel": "SMS"}):
            listed = client.get("/handsets", params=query).json()["handsets"]
            mine = [h for h in listed if h["identity"] == number]
            assert len(mine) == 1
            assert mine[0]["channel"] == "SMS"
            assert mine[0]["settings"]["capability"] == "NO_CAPABILITY"
        assert client.get("/handsets", params={"channel": "kakaotalk"}).json()["handsets"] == []
        assert_error(client.get("/handsets", params={"channel": "pigeon"}), 400)


def test_an_unknown_handset_is_404_and_unsimulated_channels_are_named(
    server: Server,
) -> None:
    with control(server) as client:
        assert_error(client.get(f"/handsets/sms/{new_msisdn()}"), 404, "NOT_FOUND")
        error = assert_error(client.get("/handsets/kakaotalk/46700000001"), 404)
        assert "not simulated" in error["message"]
        assert_error(client.patch("/handsets/pigeon/46700000001", json={}), 404)
        assert_error(client.get("/handsets/sms/0123"), 400, field="identity")


def test_identities_are_normalised_and_channels_case_insensitive(server: Server) -> None:
    number = new_msisdn()
    patch_handset(server, f"+{number}", {"auto_read": False})
    phone = handset(server, number, channel="SMS")
    assert phone["identity"] == number
    assert phone["settings"]["auto_read"] is False


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"loud": True}, "loud"),
        ({"reachable": "no"}, "reachable"),
        ({"auto_deliver": 1}, "auto_deliver"),
        ({"subscribed": None}, "subscribed"),
        ({"capability": "SOMETIMES"}, "capability"),
        ({"fail_next": "soon"}, "fail_next"),
        ({"fail_next": True}, "fail_next"),
        ({"wa_id": "46701234567"}, "wa_id"),  # an SMS handset has none
        ([], "body"),
    ],
)
def test_settings_are_type_checked(server: Server, settings: Any, field: str) -> None:
    with control(server) as client:
        response = client.patch(f"/handsets/sms/{new_msisdn()}", json=settings)
    assert_error(response, 400, "INVALID_ARGUMENT", field=field)


@pytest.mark.parametrize("value", ["twelve", 4670, "+12"])
def test_a_whatsapp_wa_id_is_an_msisdn(server: Server, value: Any) -> None:
    with control(server) as client:
        response = client.patch(f"/handsets/whatsapp/{new_msisdn()}", json={"wa_id": value})
    assert_error(response, 400, "INVALID_ARGUMENT", field="wa_id")


def test_settings_persist_and_fail_next_can_be_cleared(server: Server) -> None:
    number = new_msisdn()
    patch_handset(server, number, {"fail_next": "406", "auto_deliver": False})
    assert handset(server, number)["settings"]["fail_next"] == 406
    settings = patch_handset(server, number, {"fail_next": None})["settings"]
    assert settings["fail_next"] is None and settings["auto_deliver"] is False


def test_a_handset_reply_is_posted_to_chorus_as_mo_text(server: Server, api: httpx.Client) -> None:
    app = sms_app(api, secret="mo-secret")
    number_plan = sms_app(api, plan=f"4{random.randrange(10**10):010d}")
    number = new_msisdn()
    with control(server) as client:
        response = client.post(
            f"/handsets/sms/+{number}/messages",
            json={"app_id": app.id, "text_message": {"text": "hi there"}},
        )
        assert response.status_code == 200, response.text
        answer = response.json()
        native = answer["native"]
        assert native["type"] == "mo_text"
        assert native["from"] == number
        assert native["to"] == "12345"  # the plan id is not a number: the simulated short code
        assert native["body"] == "hi there"
        assert native["id"] and native["operator_id"]
        assert native["sent_at"].endswith("Z") and native["received_at"].endswith("Z")
        assert isinstance(answer["status_code"], int)

        media = client.post(
            f"/handsets/sms/{number}/messages",
            json={
                "app_id": number_plan.id,
                "media_message": {"url": "https://cdn.example.com/cat.jpg"},
            },
        ).json()["native"]
        assert media["body"] == "https://cdn.example.com/cat.jpg"
        assert media["to"] == number_plan.plan

    inbox = handset(server, number)["inbox"]
    assert [(e["direction"], e["text"]) for e in inbox] == [
        ("sent", "hi there"),
        ("sent", "https://cdn.example.com/cat.jpg"),
    ]
    assert inbox[0]["request"] == native
    assert inbox[0]["native_id"] == native["id"]
    assert inbox[0]["status"] == str(answer["status_code"])


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"text_message": {"text": "x"}}, 400, "app_id"),
        ({"app_id": "APP"}, 400, None),
        ({"app_id": "APP", "text_message": {}}, 400, "text_message.text"),
        (
            {
                "app_id": "APP",
                "location_message": {"title": "t", "coordinates": {"latitude": 1, "longitude": 2}},
            },
            400,
            "location_message",
        ),
        (
            {"app_id": "APP", "choice_response_message": {"message_id": "m", "postback_data": "p"}},
            400,
            "choice_response_message",
        ),
    ],
)
def test_handset_messages_are_validated(
    server: Server, api: httpx.Client, body: dict[str, Any], code: int, field: str | None
) -> None:
    app = sms_app(api)
    payload = {**body, "app_id": app.id} if "app_id" in body else body
    with control(server) as client:
        response = client.post(f"/handsets/sms/{new_msisdn()}/messages", json=payload)
    assert_error(response, code, field=field)


def test_a_handset_cannot_write_to_an_unknown_app(server: Server) -> None:
    with control(server) as client:
        response = client.post(
            f"/handsets/sms/{new_msisdn()}/messages",
            json={"app_id": "01NOSUCHAPP0000000000000000", "text_message": {"text": "x"}},
        )
    assert_error(response, 404, "NOT_FOUND")


def test_concurrent_first_deliveries_create_one_handset(
    server: Server, api: httpx.Client, receiver: Receiver
) -> None:
    app = sms_app(api)
    number = new_msisdn()
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(
            pool.map(lambda _: post_batch(server, app, batch_for(number, receiver)), range(8))
        )
    assert [r.status_code for r in responses] == [201] * 8
    assert len(handset(server, number)["inbox"]) == 8
    with control(server) as client:
        listed = client.get("/handsets", params={"channel": "sms"}).json()["handsets"]
    assert [h["identity"] for h in listed].count(number) == 1


def test_a_message_sent_through_the_api_reaches_the_handset(
    server: Server, api: httpx.Client
) -> None:
    app = sms_app(api, secret="e2e")
    number = new_msisdn()
    response = api.post(
        "/messages:send",
        json={
            "app_id": app.id,
            "recipient": {
                "identified_by": {
                    "channel_identities": [{"channel": "SMS", "identity": f"+{number}"}]
                }
            },
            "message": {"text_message": {"text": "Your code is 1234"}},
            "channel_properties": {"SMS_SENDER": "Acme"},
        },
    )
    assert response.status_code == 200, response.text
    message_id = response.json()["message_id"]

    def delivered() -> list[dict[str, Any]]:
        with control(server) as client:
            found = client.get(f"/handsets/sms/{number}")
        return found.json()["inbox"] if found.status_code == 200 else []

    (entry,) = wait_until(delivered, what="the message on the handset")
    assert entry["text"] == "Your code is 1234"
    request = entry["request"]
    assert request["client_reference"] == message_id
    assert request["from"] == "Acme"
    assert request["delivery_report"] == "per_recipient"
    assert request["callback_url"].endswith(f"/inbound/sms/{app.id}")
