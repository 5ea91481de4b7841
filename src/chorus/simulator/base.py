"""What the simulator needs from each simulated channel (its fake lives in
`chorus.simulator.<channel>`, found by `chorus.simulator.registry`).

A simulated channel serves a fake of the channel's public API (`router`, mounted under
`/simulator`), builds what a handset sends (`handset_message`), and authenticates the
native webhooks it posts to chorus the way the real channel does (`webhook_headers`).
Native webhooks caused by the fake (delivery reports, read receipts) are posted durably by
the generic job `simulator.send_report` (`queue_webhook`).
"""

import base64
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.models import App
from chorus.outbox.service import Priority, enqueue
from chorus.wire.enums import Channel
from chorus.wire.messages import ContactMessage

SEND_REPORT = "simulator.send_report"


@dataclass(frozen=True)
class HandsetMessage:
    """A native inbound webhook a handset causes."""

    native: dict[str, Any]  # the webhook body
    native_id: str
    text: str  # what the person typed or sent, as they see it


class SimulatedChannel(ABC):
    channel: ClassVar[Channel]
    router: ClassVar[APIRouter]
    # Messenger and Instagram: the business cannot write first, so a delivery to an unknown
    # handset gets the channel's error instead of creating the handset.
    handsets_write_first: ClassVar[bool] = True
    # Viber Bot and VIBERBM: changing a handset's `subscribed` setting posts the channel's
    # subscription callback to an app (`subscription_callback`).
    reports_subscription: ClassVar[bool] = False

    @abstractmethod
    def handset_message(self, app: App, identity: str, message: ContactMessage) -> HandsetMessage:
        """The native webhook for a contact message from handset `identity` to `app`
        (raise kit.errors.invalid for content this channel's users cannot send)."""

    @abstractmethod
    def webhook_headers(
        self, app: App | None, body: bytes, context: dict[str, Any]
    ) -> dict[str, str]:
        """Headers authenticating a native webhook `body` as the channel does (signature,
        Basic auth…), from the app's credential as it is now. `context` is what the fake
        stored with the webhook (e.g. which credential it concerns)."""

    def valid_identity(self, identity: str) -> bool:
        return bool(identity)

    def check_fail_next(self, value: Any) -> Any:
        """`value` as one of this channel's native error codes (what `fail_next` makes the
        next delivery report), or None when it is not one."""
        return value if isinstance(value, int | str) and not isinstance(value, bool) else None

    def subscription_callback(
        self, app: App, identity: str, subscribed: bool
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The native callback (and its `context` for `webhook_headers`) that handset
        `identity` causes to `app` when its `subscribed` setting changes, or None when the
        channel has no such callback or `app` holds no credential of the channel."""
        return None

    def inbound_path(self, app_id: str) -> str:
        return f"/inbound/{self.channel.value.lower()}/{app_id}"


def encode(native: dict[str, Any]) -> bytes:
    return json.dumps(native, separators=(",", ":"), ensure_ascii=False).encode()


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def queue_webhook(
    session: AsyncSession,
    app: App,
    channel: Channel,
    url: str,
    native: dict[str, Any],
    *,
    dedup_key: str,
    context: dict[str, Any] | None = None,
    ordering_key: str | None = None,
    inbox_entry: int | None = None,
) -> None:
    """Post `native` to `url` later, durably, authenticated as `channel` does. Webhooks
    sharing an `ordering_key` (one message's delivered and read) are posted in order. The
    handset's `inbox_entry` for what the webhook tells, if any, gets chorus's answer as its
    status."""
    await enqueue(
        session,
        SEND_REPORT,
        project_id=app.project_id,
        app_id=app.id,
        payload={
            "channel": channel.value,
            "url": url,
            "body": encode(native).decode(),
            "context": context or {},
            **({"inbox_entry": inbox_entry} if inbox_entry is not None else {}),
        },
        dedup_key=dedup_key,
        ordering_key=ordering_key,
        priority=Priority.FOLLOW_UP,
    )
