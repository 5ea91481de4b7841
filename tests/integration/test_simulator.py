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
from tests.integration.helpers import assert_error, recording_webhook

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


# --- every simulated channel -------------------------------------------------------------------


def viber_user() -> str:
    """A fresh Viber user id (no "/", so it fits the control API's path)."""
    return "".join(random.choices("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789+", k=22)) + "=="


def new_psid() -> str:
    return str(random.randrange(10**15, 10**16))


def new_identity(channel: str) -> str:
    return {"messenger": new_psid, "viber": viber_user}.get(channel, new_msisdn)()


@dataclass
class ChannelApp:
    """An app holding one credential of `channel`, and how to call that channel's fake."""

    id: str
    channel: str
    claimed: str  # the plan, phone-number id, agent or service the credential names
    token: str

    def send_url(self, server: Server, identity: str) -> str:
        base = f"{server.url}/simulator/{self.channel}"
        return {
            "sms": f"{base}/xms/v1/{self.claimed}/batches",
            "whatsapp": f"{base}/v21.0/{self.claimed}/messages",
            "rcs": f"{base}/v1/phones/+{identity}/agentMessages?messageId=m1&agentId="
            + self.claimed,
            "messenger": f"{base}/me/messages",
            "viberbm": f"{base}/viberbm/v1/services/{self.claimed}/messages",
            "viber": f"{base}/pa/send_message",
        }[self.channel]

    def headers(self) -> dict[str, str]:
        if self.channel == "viber":
            return {"x-viber-auth-token": self.token}
        return {"authorization": f"Bearer {self.token}"}


def channel_app(api: httpx.Client, channel: str) -> ChannelApp:
    claimed, token = f"{random.randrange(10**12, 10**13)}", uuid.uuid4().hex
    credential: dict[str, Any] = {"channel": channel.upper(), "callback_secret": "secret"}
    if channel in ("messenger", "viber"):
        credential["static_token"] = {"token": token}
    else:
        credential["static_bearer"] = {"claimed_identity": claimed, "token": token}
    response = api.post("/apps", json={"display_name": "sim", "channel_credentials": [credential]})
    assert response.status_code == 200, response.text
    app_id = response.json()["id"]
    recording_webhook(api, app_id)
    return ChannelApp(app_id, channel, claimed, token)


def send_to(api: httpx.Client, app: ChannelApp, identity: str, **options: Any) -> str:
    identified = {"channel": app.channel.upper(), "identity": identity, "app_id": app.id}
    response = api.post(
        "/messages:send",
        json={
            "app_id": app.id,
            "recipient": {"identified_by": {"channel_identities": [identified]}},
            "message": {"text_message": {"text": "hello"}},
            **options,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()["message_id"]


def failed_report(server: Server, app_id: str, message_id: str) -> dict[str, Any]:
    def failed() -> dict[str, Any] | None:
        return next(
            (
                c["message_delivery_report"]
                for c in server.recorded_callbacks(app_id)
                if c["trigger"] == "MESSAGE_DELIVERY"
                and c["message_delivery_report"]["message_id"] == message_id
                and c["message_delivery_report"]["status"] in ("FAILED", "DELIVERED")
            ),
            None,
        )

    report = wait_until(failed, what=f"the end of {message_id}")
    assert report["status"] == "FAILED", report
    return report


NON_ASCII_DIGITS = [
    pytest.param("\u00b2", id="superscript-two"),  # str.isdigit(), but int() refuses it
    pytest.param("\u0664\u0660\u0664", id="arabic-indic-404"),  # int() reads it as 404
    pytest.param("9" * 5000, id="5000-digits"),  # past int()'s 4300-digit limit
]


@pytest.mark.parametrize("value", NON_ASCII_DIGITS)
@pytest.mark.parametrize("channel", ["sms", "whatsapp", "rcs", "messenger", "viber"])
def test_fail_next_takes_only_ascii_digits(server: Server, channel: str, value: str) -> None:
    values = [value] if channel != "messenger" else [value, f"551/{value}"]
    with control(server) as client:
        for sent in values:
            response = client.patch(
                f"/handsets/{channel}/{new_identity(channel)}", json={"fail_next": sent}
            )
            assert_error(response, 400, "INVALID_ARGUMENT", field="fail_next")


DEEP_JSON = b"[" * 100_000 + b"]" * 100_000


def test_the_control_api_answers_deeply_nested_json_with_400(server: Server) -> None:
    with control(server) as client:
        for method, path in (
            ("PATCH", f"/handsets/sms/{new_msisdn()}"),
            ("POST", f"/handsets/sms/{new_msisdn()}/messages"),
        ):
            error = assert_error(client.request(method, path, content=DEEP_JSON), 400)
            assert "JSON" in error["message"]


def native_send(channel: str, identity: str, extra: str) -> bytes:
    """A send each fake accepts (and stores), with `extra` as the value of one more key."""
    body = {
        "sms": {"to": [identity], "body": "x"},
        "whatsapp": {"messaging_product": "whatsapp", "to": identity, "text": {"body": "x"}},
        "rcs": {"contentMessage": {"text": "x"}},
        "messenger": {
            "recipient": {"id": identity},
            "messaging_type": "RESPONSE",
            "message": {"text": "x"},
        },
        "viberbm": {"receiver": identity, "type": "text", "text": "x"},
        "viber": {"receiver": identity, "sender": {"name": "Acme"}, "type": "text", "text": "x"},
    }[channel]
    return json.dumps(body)[:-1].encode() + b', "extra": ' + extra.encode() + b"}"


def is_native_bad_json(channel: str, response: httpx.Response) -> bool:
    """Whether the answer is the fake's own "malformed request" answer."""
    if channel == "viber":  # Viber answers every call with 200 and a status
        return response.status_code == 200 and response.json()["status"] == 3  # badData
    if response.status_code != 400:
        return False
    body = response.json()
    if channel == "sms":
        return body["code"] == "syntax_invalid_json"
    return body["error"]["code"] in (100, 400, "INVALID_REQUEST")


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "rcs", "messenger", "viberbm", "viber"])
def test_each_fake_answers_deeply_nested_json_with_its_own_400(
    server: Server, api: httpx.Client, channel: str
) -> None:
    """Past the recursion limit parsing fails; a little below it parsing succeeds but storing
    the request fails (somewhere from 900 levels, depending on the stack): neither is a 500."""
    app = channel_app(api, channel)
    identity = new_identity(channel)
    for depth in (*range(850, 1001, 3), 100_000):
        response = httpx.post(
            app.send_url(server, identity).replace("messageId=m1", f"messageId=m{depth}"),
            content=native_send(channel, identity, "[" * depth + "]" * depth),
            headers={**app.headers(), "content-type": "application/json"},
            timeout=30,
        )
        assert is_native_bad_json(channel, response), (depth, response.text)


def test_viber_set_webhook_answers_deeply_nested_json_with_bad_data(
    server: Server, api: httpx.Client
) -> None:
    app = channel_app(api, "viber")
    response = httpx.post(
        f"{server.url}/simulator/viber/pa/set_webhook", content=DEEP_JSON, headers=app.headers()
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == 3


def test_rcs_agent_events_answer_deeply_nested_json_with_400(
    server: Server, api: httpx.Client
) -> None:
    app = channel_app(api, "rcs")
    response = httpx.post(
        f"{server.url}/simulator/rcs/v1/phones/+{new_msisdn()}/agentEvents",
        params={"eventId": "e1", "agentId": app.claimed},
        content=DEEP_JSON,
        headers=app.headers(),
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    ("channel", "identity"),
    [
        ("messenger", "not-a-psid"),
        ("messenger", "12ab"),
        ("viber", "%20"),
        ("viber", "x/y/z"),
        ("viber", "short"),
        ("viber", "bad id with spaces!"),
    ],
)
def test_identities_the_channel_cannot_have_are_refused(
    server: Server, api: httpx.Client, channel: str, identity: str
) -> None:
    app = channel_app(api, channel)
    with control(server) as client:
        patched = client.patch(f"/handsets/{channel}/{identity}", json={"auto_read": False})
        assert_error(patched, 400, "INVALID_ARGUMENT", field="identity")
        sent = client.post(
            f"/handsets/{channel}/{identity}/messages",
            json={"app_id": app.id, "text_message": {"text": "hi"}},
        )
        assert_error(sent, 400, "INVALID_ARGUMENT", field="identity")


def test_an_sms_handset_without_capability_reports_402_not_routable(
    server: Server, api: httpx.Client, receiver: Receiver
) -> None:
    app = sms_app(api)
    number = new_msisdn()
    patch_handset(server, number, {"capability": "NO_CAPABILITY", "fail_next": 406})
    created = post_batch(server, app, batch_for(number, receiver)).json()
    report = receiver.report(created["id"]).body
    assert (report["code"], report["status"]) == (402, "Failed")
    assert handset(server, number)["settings"]["fail_next"] == 406  # kept, as when unreachable


@pytest.mark.parametrize(
    ("channel", "reason", "channel_code"),
    [
        ("sms", "RECIPIENT_NOT_REACHABLE", None),  # DLR 402, message unroutable (§1.7)
        ("messenger", "RECIPIENT_INVALID_CHANNEL_IDENTITY", "100/2018001"),  # no such user
        ("viber", "RECIPIENT_NOT_REACHABLE", "5"),  # receiverNotRegistered (§3.3)
    ],
)
def test_a_handset_without_capability_fails_natively_with_the_mapped_reason(
    server: Server, api: httpx.Client, channel: str, reason: str, channel_code: str | None
) -> None:
    app = channel_app(api, channel)
    identity = new_identity(channel)
    with control(server) as client:
        if channel == "messenger":  # the business cannot write first
            wrote = client.post(
                f"/handsets/messenger/{identity}/messages",
                json={"app_id": app.id, "text_message": {"text": "hi"}},
            )
            assert wrote.json()["status_code"] == 200, wrote.text
        patched = client.patch(
            f"/handsets/{channel}/{identity}", json={"capability": "NO_CAPABILITY"}
        )
        assert patched.status_code == 200, patched.text
    message_id = send_to(api, app, identity)
    report = failed_report(server, app.id, message_id)
    assert report["reason"]["code"] == reason
    if channel_code is not None:
        assert report["reason"]["channel_code"] == channel_code
    received = [e for e in handset(server, identity, channel)["inbox"] if e["direction"] != "sent"]
    assert [e["status"] for e in received] == (["Failed"] if channel == "sms" else [])


def test_messenger_knows_no_psid_whose_handset_never_wrote(
    server: Server, api: httpx.Client
) -> None:
    """A handset made by a PATCH has no PSID yet: the Send API answers "no matching user",
    not "outside the window", even for a tagged message, and has no profile of it."""
    app = channel_app(api, "messenger")
    psid = new_psid()
    patch = httpx.patch(f"{server.url}/simulator/v1/handsets/messenger/{psid}", json={})
    assert patch.status_code == 200, patch.text
    text = {"recipient": {"id": psid}, "message": {"text": "hi"}}
    for body in (
        {**text, "messaging_type": "RESPONSE"},
        {**text, "messaging_type": "MESSAGE_TAG", "tag": "POST_PURCHASE_UPDATE"},
    ):
        response = httpx.post(app.send_url(server, psid), json=body, headers=app.headers())
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert (error["code"], error["error_subcode"]) == (100, 2018001)
    profile = httpx.get(f"{server.url}/simulator/messenger/{psid}", headers=app.headers())
    assert profile.status_code == 400, profile.text

    tagged = send_to(
        api, app, psid, channel_properties={"MESSENGER_MESSAGE_TAG": "POST_PURCHASE_UPDATE"}
    )
    report = failed_report(server, app.id, tagged)
    assert report["reason"]["code"] == "RECIPIENT_INVALID_CHANNEL_IDENTITY"
    assert report["reason"]["channel_code"] == "100/2018001"


def template_body(**fields: Any) -> dict[str, Any]:
    return {
        "phone_number_id": f"{random.randrange(10**12, 10**13)}",
        "name": f"order_{uuid.uuid4().hex[:6]}",
        "language": "en_US",
        **fields,
    }


def test_a_template_is_registered_whatever_the_content_type(server: Server) -> None:
    body = template_body(parameters={"body": 1}, text="Hi {{1}}")
    with control(server) as client:
        response = client.post(
            "/whatsapp/templates",
            content=json.dumps(body),
            headers={"content-type": "application/x-www-form-urlencoded"},  # what curl -d sends
        )
        assert response.status_code == 200, response.text
        assert response.json()["parameters"] == {"body": 1}
        listed = client.get(
            "/whatsapp/templates", params={"phone_number_id": body["phone_number_id"]}
        )
        assert [t["name"] for t in listed.json()["templates"]] == [body["name"]]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"parameter": {"body": 1}}, "parameter"),  # misspelt: would approve one taking none
        ({"name": "orders/update"}, "name"),  # could never be deleted by its path
        ({"language": "en/US"}, "language"),
        ({"phone_number_id": "1/2"}, "phone_number_id"),
    ],
)
def test_template_registrations_are_refused_with_unknown_keys_or_a_slash(
    server: Server, fields: dict[str, Any], field: str
) -> None:
    with control(server) as client:
        response = client.post("/whatsapp/templates", json=template_body(**fields))
    assert_error(response, 400, "INVALID_ARGUMENT", field=field)


def test_a_handset_message_with_an_unknown_key_is_refused(
    server: Server, api: httpx.Client
) -> None:
    app = sms_app(api)
    with control(server) as client:
        response = client.post(
            f"/handsets/sms/{new_msisdn()}/messages",
            json={"app_id": app.id, "text_message": {"text": "hi"}, "txet_message": {}},
        )
    assert_error(response, 400, "INVALID_ARGUMENT", field="txet_message")


def test_listing_handsets_of_a_channel_not_simulated_is_404_as_on_its_path(
    server: Server,
) -> None:
    with control(server) as client:
        listed = assert_error(client.get("/handsets", params={"channel": "mms"}), 404)
        path = assert_error(client.get("/handsets/mms/46700000001"), 404)
    assert "not simulated" in listed["message"]
    assert listed["message"] == path["message"]


def test_a_handset_cannot_write_to_an_app_without_the_channels_credential(
    server: Server, api: httpx.Client
) -> None:
    app = sms_app(api)
    with control(server) as client:
        response = client.post(
            f"/handsets/whatsapp/{new_msisdn()}/messages",
            json={"app_id": app.id, "text_message": {"text": "hi"}},
        )
    assert_error(response, 400, "INVALID_ARGUMENT", field="app_id")


def wait_for_delivery(server: Server, app_id: str, message_id: str) -> None:
    """Until chorus reports DELIVERED: it then holds the channel's id of the message."""
    wait_until(
        lambda: any(
            c["trigger"] == "MESSAGE_DELIVERY"
            and c["message_delivery_report"]["message_id"] == message_id
            and c["message_delivery_report"]["status"] == "DELIVERED"
            for c in server.recorded_callbacks(app_id)
        ),
        what=f"DELIVERED for {message_id}",
    )


def reply_context(channel: str, native: dict[str, Any]) -> Any:
    """Where each channel's webhook names the message a user's message answers."""
    if channel == "whatsapp":
        return native["entry"][0]["changes"][0]["value"]["messages"][0]["context"]["id"]
    if channel == "messenger":
        return native["entry"][0]["messaging"][0]["message"]["reply_to"]["mid"]
    return native["reply_to"]


@pytest.mark.parametrize("channel", ["whatsapp", "messenger", "viberbm"])
def test_a_handset_reply_quotes_the_native_id_of_the_message_it_answers(
    server: Server, api: httpx.Client, channel: str
) -> None:
    app = channel_app(api, channel)
    identity = new_identity(channel)
    path = f"/handsets/{channel}/{identity}"
    with control(server) as client:
        # WhatsApp and Messenger answer a person who wrote first.
        wrote = client.post(
            f"{path}/messages", json={"app_id": app.id, "text_message": {"text": "hi"}}
        )
        assert wrote.json()["status_code"] == 200, wrote.text
        message_id = send_to(api, app, identity)
        wait_for_delivery(server, app.id, message_id)
        (received,) = [e for e in client.get(path).json()["inbox"] if e["direction"] == "received"]

        reply = client.post(
            f"{path}/messages",
            json={
                "app_id": app.id,
                "text_message": {"text": "yes"},
                "reply_to": {"message_id": message_id},
            },
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["status_code"] == 200, reply.text
        assert reply_context(channel, reply.json()["native"]) == received["native_id"]

        unknown = client.post(
            f"{path}/messages",
            json={
                "app_id": app.id,
                "text_message": {"text": "yes"},
                "reply_to": {"message_id": "01NOSUCHMESSAGE00000000000"},
            },
        )
        assert_error(unknown, 400, "INVALID_ARGUMENT", field="reply_to.message_id")
    # chorus maps the native context back to its message (CHANNELS.md WhatsApp §2.7,
    # Messenger §1.7, VIBERBM §2.7).
    inbound = wait_until(
        lambda: [
            c["message"]
            for c in server.recorded_callbacks(app.id)
            if c["trigger"] == "MESSAGE_INBOUND" and c["message"]["contact_message"].get("reply_to")
        ],
        what="the reply on MESSAGE_INBOUND",
    )
    assert inbound[0]["contact_message"]["reply_to"] == {"message_id": message_id}


@pytest.mark.parametrize("channel", ["sms", "rcs", "viber"])
def test_a_handset_reply_to_is_refused_where_the_channel_has_no_reply_context(
    server: Server, api: httpx.Client, channel: str
) -> None:
    app = channel_app(api, channel)
    with control(server) as client:
        response = client.post(
            f"/handsets/{channel}/{new_identity(channel)}/messages",
            json={
                "app_id": app.id,
                "text_message": {"text": "yes"},
                "reply_to": {"message_id": "01HX5Y0Q7V3C9G2ZB1M4RT6K8N"},
            },
        )
    assert_error(response, 400, "INVALID_ARGUMENT", field="reply_to")
