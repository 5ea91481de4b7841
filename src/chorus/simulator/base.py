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
import re
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
    # WhatsApp, Messenger and VIBERBM: a user's message may quote the one it answers
    # (`add_reply_context`); the others carry no reply context.
    replies_in_context: ClassVar[bool] = False

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

    def quoted_message(self, message: ContactMessage) -> tuple[str, str] | None:
        """(field, chorus message id) of the message a handset's `message` quotes, for
        `add_reply_context`: its `reply_to`, when it has one."""
        if message.reply_to is None:
            return None
        return "reply_to.message_id", message.reply_to.message_id

    def add_reply_context(self, native: dict[str, Any], replied_native_id: str) -> None:
        """Make the webhook `native` (from `handset_message`) answer the message the
        channel knows as `replied_native_id`, as the channel says so (channels that
        `replies_in_context` only)."""
        raise NotImplementedError

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


# No native request nests a tenth as deep. The fakes store what they receive as JSON, and
# encoding a document hundreds of levels deep from inside a request exhausts the recursion
# limit that parsing it left just enough room for.
MAX_JSON_DEPTH = 100


def parse_json(raw: bytes | str) -> Any:
    """`json.loads` that fails only with ValueError (UnicodeDecodeError and JSONDecodeError
    are ValueErrors), so each caller answers its own 400: nesting deep enough to exhaust the
    recursion limit (`[[[[...` of 100 000 levels) raises RecursionError, a RuntimeError, and
    nesting past `MAX_JSON_DEPTH` is refused too."""
    try:
        document = json.loads(raw)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not _nested_within(document, MAX_JSON_DEPTH):
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return document


def _nested_within(document: Any, limit: int) -> bool:
    """Whether no array or object of `document` lies more than `limit` levels deep (walked
    without recursion, for the reason above)."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return False
        pending.extend((child, depth + 1) for child in children)
    return True


_NUMERIC_CODE = re.compile(r"[0-9]{1,9}")
MAX_NUMERIC_CODE = 999_999_999


def numeric_code(value: Any) -> int | None:
    """`value` as a numeric native error code — an integer, or a string of 1 to 9 ASCII
    digits — or None. Not `str.isdigit()`: it admits "²" (int() refuses it) and other
    scripts' digits (int() reads them as numbers), and int() refuses past 4300 digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_NUMERIC_CODE else None
    if isinstance(value, str) and _NUMERIC_CODE.fullmatch(value.strip()):
        return int(value.strip())
    return None


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
