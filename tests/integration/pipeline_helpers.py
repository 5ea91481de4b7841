"""Helpers for the end-to-end tests of the send pipeline (API.md Part B §2–§4, §8): SMS apps
whose sends reach the built-in simulator, a webhook receiver that keeps what each app's
webhook got, the simulator's control API, and the eight generic message types with the text
an SMS handset shows for each (CHANNELS.md part 1 §1.4)."""

import random
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sinch.domains.conversation.sinch_events.v1.conversation_sinch_event import (
    ConversationSinchEvent,
)

from tests.callbacks.receiver import Received, Receiver
from tests.conftest import Credentials, Server, fresh_database, start_server, stop_server
from tests.integration.helpers import ALL_TRIGGERS, wait_for

SECRET = "pipeline-secret"


def msisdn() -> str:
    """A fresh Swedish mobile number, digits only."""
    return f"4670{random.randrange(10**7):07d}"


def sms_credential() -> dict[str, Any]:
    """An SMS credential with its own service plan, so handsets see which app wrote."""
    return {
        "channel": "SMS",
        "static_bearer": {"claimed_identity": f"plan{uuid.uuid4().hex[:10]}", "token": "tok"},
    }


def whatsapp_credential() -> dict[str, Any]:
    return {"channel": "WHATSAPP", "static_bearer": {"claimed_identity": "4670999", "token": "w"}}


def rcs_credential() -> dict[str, Any]:
    return {"channel": "RCS", "static_bearer": {"claimed_identity": "agent", "token": "r"}}


# A channel chorus has no connector for (nor plans one in this scope): a dispatch on it fails
# at once with UNSUPPORTED_OPERATION, the tests' way to make a first channel fail. (WhatsApp
# played that part until its connector arrived.)
NO_CONNECTOR = "KAKAOTALK"


def kakaotalk_credential() -> dict[str, Any]:
    return {
        "channel": "KAKAOTALK",
        "kakaotalk_credentials": {
            "kakaotalk_plus_friend_id": "@chorus",
            "kakaotalk_sender_key": "k",
        },
    }


def sms_app(api: httpx.Client, *channels: str, **fields: Any) -> str:
    """An app with credentials for `channels` (default: SMS only), in that order."""
    makers = {
        "SMS": sms_credential,
        "WHATSAPP": whatsapp_credential,
        "RCS": rcs_credential,
        "KAKAOTALK": kakaotalk_credential,
    }
    body = {
        "display_name": f"pipeline-{uuid.uuid4().hex[:6]}",
        "channel_credentials": [makers[c]() for c in channels or ("SMS",)],
        **fields,
    }
    response = api.post("/apps", json=body)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def to_sms(number: str) -> dict[str, Any]:
    return {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": number}]}}


def send(
    api: httpx.Client,
    app_id: str,
    message: dict[str, Any],
    recipient: dict[str, Any],
    **options: Any,
) -> str:
    """`messages:send`, expected to be accepted; the message id."""
    body = {"app_id": app_id, "recipient": recipient, "message": message, **options}
    response = api.post("/messages:send", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"message_id", "accepted_time"}, answer
    return answer["message_id"]


# ---------------------------------------------------------------- webhooks


class Hook:
    """One receiver for a test; each app's webhook posts to its own path."""

    def __init__(self, receiver: Receiver, api: httpx.Client) -> None:
        self.receiver = receiver
        self.api = api

    def attach(
        self,
        app_id: str,
        triggers: list[str] | None = None,
        secret: str | None = SECRET,
    ) -> str:
        body: dict[str, Any] = {
            "app_id": app_id,
            "target": self.receiver.url(f"/{app_id}"),
            "triggers": triggers or ALL_TRIGGERS,
        }
        if secret:
            body["secret"] = secret
        response = self.api.post("/webhooks", json=body)
        assert response.status_code == 200, response.text
        return response.json()["id"]

    def received(self, app_id: str) -> list[Received]:
        return self.receiver.received(f"/{app_id}")

    def bodies(self, app_id: str, key: str | None = None) -> list[dict[str, Any]]:
        """Callback bodies the app's webhook got, in arrival order (those carrying `key`)."""
        bodies = [r.json() for r in self.received(app_id)]
        return [b for b in bodies if key is None or key in b]

    def about(self, app_id: str, message_id: str) -> list[Received]:
        """MESSAGE_SUBMIT and MESSAGE_DELIVERY callbacks about one message, in arrival order."""
        return [r for r in self.received(app_id) if report_of(r.json(), message_id)]

    def history(self, app_id: str, message_id: str) -> list[str]:
        """`SUBMIT` and the delivery statuses of one message, in arrival order."""
        return [step(r.json()) for r in self.about(app_id, message_id)]

    def wait_for_status(
        self, app_id: str, message_id: str, status: str, seconds: float = 30
    ) -> dict[str, Any]:
        """The first delivery report of `message_id` with `status` (its whole body)."""

        def found() -> dict[str, Any] | None:
            for received in self.about(app_id, message_id):
                body = received.json()
                report = body.get("message_delivery_report")
                if report and report["status"] == status:
                    return body
            return None

        return wait_for(
            found,
            seconds=seconds,
            what=f"{status} for {message_id}; so far {self.history(app_id, message_id)}",
        )

    def wait_for_inbound(
        self, app_id: str, condition: Any = lambda message: True, seconds: float = 30
    ) -> dict[str, Any]:
        """The first MESSAGE_INBOUND body whose `message` satisfies `condition`."""

        def found() -> dict[str, Any] | None:
            return next(
                (b for b in self.bodies(app_id, "message") if condition(b["message"])), None
            )

        return wait_for(found, seconds=seconds, what=f"an inbound message for {app_id}")


def report_of(body: dict[str, Any], message_id: str) -> dict[str, Any] | None:
    for key in ("message_delivery_report", "message_submit_notification"):
        if body.get(key, {}).get("message_id") == message_id:
            return body[key]
    return None


def step(body: dict[str, Any]) -> str:
    if "message_submit_notification" in body:
        return "SUBMIT"
    return body["message_delivery_report"]["status"]


def signed_for_python_sdk(received: Received, secret: str = SECRET) -> bool:
    """Whether the official Python SDK's validator accepts the callback (raw body)."""
    return ConversationSinchEvent(secret).validate_authentication_header(
        received.headers, received.body
    )


# ---------------------------------------------------------------- the simulator


@contextmanager
def simulator(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/simulator/v1", timeout=30) as client:
        yield client


def handset(server: Server, number: str) -> dict[str, Any] | None:
    with simulator(server) as client:
        response = client.get(f"/handsets/sms/{number}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response.json()


def set_handset(server: Server, number: str, **settings: Any) -> None:
    with simulator(server) as client:
        response = client.patch(f"/handsets/sms/{number}", json=settings)
    assert response.status_code == 200, response.text


def received_texts(server: Server, number: str) -> list[str]:
    """What the handset shows, message by message (what chorus sent it)."""
    found = handset(server, number)
    inbox = found["inbox"] if found else []
    return [entry["text"] for entry in inbox if entry["direction"] == "received"]


def wait_for_text(server: Server, number: str, count: int = 1) -> list[str]:
    return wait_for(
        lambda: (texts := received_texts(server, number)) and len(texts) >= count and texts,
        what=f"{count} message(s) on handset {number}",
    )


def handset_writes(server: Server, number: str, app_id: str, text: str) -> dict[str, Any]:
    """The handset sends `text` to the app; the native mo_text must be accepted by chorus."""
    with simulator(server) as client:
        response = client.post(
            f"/handsets/sms/{number}/messages",
            json={"app_id": app_id, "text_message": {"text": text}},
        )
    assert response.status_code == 200, response.text
    assert response.json()["status_code"] == 200, response.text
    return response.json()["native"]


# ---------------------------------------------------------------- generic messages

CHOICE = {
    "text_message": {"text": "Do you want the newsletter?"},
    "choices": [
        {"text_message": {"text": "Yes"}, "postback_data": "newsletter_yes"},
        {"text_message": {"text": "No"}, "postback_data": "newsletter_no"},
        {"url_message": {"title": "Shop", "url": "https://shop.example.com"}},
        {"call_message": {"title": "Call us", "phone_number": "46732000000"}},
    ],
}

CARD = {
    "title": "Spring sale",
    "description": "All shoes 20% off",
    "media_message": {"url": "https://cdn.example.com/shoes.jpg"},
    "height": "MEDIUM",
    "choices": [
        {"text_message": {"text": "Remind me"}, "postback_data": "remind"},
        {"url_message": {"title": "Open", "url": "https://shop.example.com/sale"}},
    ],
}

# kind → (the generic message's content, the text an SMS handset shows)
GENERIC_MESSAGES: dict[str, tuple[dict[str, Any], str]] = {
    "text_message": ({"text": "Your code is 1234"}, "Your code is 1234"),
    "media_message": (
        {
            "url": "https://cdn.example.com/shoes.jpg",
            "thumbnail_url": "https://cdn.example.com/t.jpg",
        },
        "https://cdn.example.com/shoes.jpg",
    ),
    "choice_message": (
        CHOICE,
        "Do you want the newsletter?\n1. Yes\n2. No\n3. Shop: https://shop.example.com\n"
        "4. Call us: +46732000000",
    ),
    "card_message": (
        CARD,
        "Spring sale\nAll shoes 20% off\nhttps://cdn.example.com/shoes.jpg\n1. Remind me\n"
        "2. Open: https://shop.example.com/sale",
    ),
    "carousel_message": (
        {
            "cards": [
                {
                    "title": "Red boots",
                    "description": "EUR 89",
                    "choices": [{"text_message": {"text": "Buy red"}, "postback_data": "red"}],
                },
                {"title": "Blue boots", "choices": [{"text_message": {"text": "Buy blue"}}]},
            ],
            "choices": [{"text_message": {"text": "Show more"}, "postback_data": "more"}],
        },
        "Red boots\nEUR 89\n1. Buy red\n\nBlue boots\n2. Buy blue\n\n3. Show more",
    ),
    "location_message": (
        {
            "coordinates": {"latitude": 59.3293, "longitude": 18.0686},
            "title": "Our office",
            "label": "Acme HQ",
        },
        "Our office\nAcme HQ\nhttps://maps.google.com/?q=59.3293,18.0686",
    ),
    "contact_info_message": (
        {
            "name": {"full_name": "Ada Lovelace"},
            "phone_numbers": [{"phone_number": "+46700000001", "type": "WORK"}],
            "email_addresses": [{"email_address": "ada@example.com", "type": "HOME"}],
            "birthday": "1815-12-10",
        },
        "Ada Lovelace\nTel (WORK): +46700000001\nEmail (HOME): ada@example.com\n"
        "Birthday: 1815-12-10",
    ),
    "list_message": (
        {
            "title": "Pick a size",
            "description": "Boots",
            "sections": [
                {
                    "title": "Small",
                    "items": [
                        {"choice": {"title": "38", "description": "narrow", "postback_data": "s38"}}
                    ],
                },
                {"title": "Large", "items": [{"choice": {"title": "44", "postback_data": "l44"}}]},
            ],
        },
        "Pick a size\nBoots\nSmall\n1. 38 – narrow\nLarge\n2. 44",
    ),
}


# ---------------------------------------------------------------- dedicated servers


class DedicatedServer:
    """A chorus server of its own (fresh database) for settings the shared one must not
    have; it can be restarted on the same database with other settings."""

    def __init__(self, backend: str, settings: dict[str, str]) -> None:
        self.backend = backend
        self.credentials = Credentials(
            f"proj-{uuid.uuid4().hex[:8]}", f"key-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        )
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"chorus-pipeline-{backend}-"))
        self.database_url = ""
        self.sync_url = ""  # synchronous SQLAlchemy URL, for inspecting what the server stored
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.settings = settings

    def start(self, **settings: str) -> None:
        env = {
            "CHORUS_BOOTSTRAP_PROJECT_ID": self.credentials.project_id,
            "CHORUS_BOOTSTRAP_KEY_ID": self.credentials.key_id,
            "CHORUS_BOOTSTRAP_KEY_SECRET": self.credentials.key_secret,
            **self.settings,
            **settings,
        }
        self.process, self.url, _ = start_server(self.database_url, self.data_dir, env)

    def stop(self) -> None:
        if self.process is not None:
            stop_server(self.process)
            self.process = None

    def api(self) -> httpx.Client:
        creds = self.credentials
        return httpx.Client(
            base_url=f"{self.url}/v1/projects/{creds.project_id}",
            auth=(creds.key_id, creds.key_secret),
            timeout=30,
        )


@contextmanager
def dedicated_server(backend: str, **settings: str) -> Iterator[DedicatedServer]:
    server = DedicatedServer(backend, settings)
    with fresh_database(backend, server.data_dir) as (database_url, sync_url):
        server.database_url, server.sync_url = database_url, sync_url
        server.start()
        try:
            yield server
        finally:
            server.stop()
    shutil.rmtree(server.data_dir, ignore_errors=True)
