"""The channel plugin interface (DESIGN.md, "Channels").

A channel is a package implementing `ChannelPlugin`: transcode a generic message into the
channel's native payload, send it through the channel's public API, verify and parse the
channel's native webhooks. The pipeline and the simulator know channels only through this
interface and the registry (`chorus.channels.registry`).
"""

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import httpx

from chorus.kit.counters import CHANNEL_SENDS
from chorus.wire.enums import Channel
from chorus.wire.events import AppEvent
from chorus.wire.messages import AppMessage, ReasonCode

# --- outbound ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyOption:
    """A numbered option of a text rendering (SMS), so that a typed reply can be mapped
    back to the choice it names."""

    number: int
    label: str
    postback_data: str | None


@dataclass(frozen=True)
class Transcoded:
    native: Any  # what the connector sends: a JSON-able dict, or text for SMS
    options: Sequence[ReplyOption] = ()

    @property
    def wire(self) -> str:
        """The string `messages:transcode` returns for this channel."""
        if isinstance(self.native, str):
            return self.native
        return json.dumps(self.native, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Dispatch:
    """One message on its way to one identity on this channel."""

    project_id: str
    app_id: str
    message_id: str
    identity: str
    credential: Mapping[str, Any]  # the app's stored channel_credentials element
    transcoded: Transcoded
    properties: Mapping[str, str]  # the send request's channel_properties
    inbound_url: str  # where the channel calls back for this app
    ttl_seconds: float | None = None
    kind: str = "message"  # or "event" (typing indicators and the like)
    # For channels with a customer-service window (CHANNELS.md Decision 4): when the
    # identity last wrote to this app on this channel, and whether the window is enforced.
    last_inbound_at: datetime | None = None
    enforce_windows: bool = True
    # The send's message_content_type (CONTENT_MARKETING, CONTENT_NOTIFICATION, …).
    message_content_type: str | None = None
    # The app's display name (a default sender name where the channel shows one).
    app_display_name: str = ""
    # Seconds the channel should keep trying to deliver (RCS `ttl`); chorus revokes the
    # message if it is undelivered by then (`ChannelPlugin.revoke`). None: no limit.
    delivery_timeout: float | None = None


@dataclass(frozen=True)
class Accepted:
    native_id: str
    # A message the channel took in several parts: the ids of the later parts, so their
    # reports find the message too.
    extra_native_ids: tuple[str, ...] = ()
    # The channel's own form of the recipient when it differs from the identity used
    # (WhatsApp's wa_id): the contact gains it as another identity on the channel.
    canonical_identity: str | None = None


class ChannelFailure(Exception):
    """The channel refused or failed a send. `transient` failures are retried."""

    def __init__(
        self,
        code: ReasonCode,
        description: str,
        *,
        channel_code: str | None = None,
        transient: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code.value}: {description}")
        self.code = code
        self.description = description
        self.channel_code = channel_code
        self.transient = transient
        self.retry_after = retry_after

    def reason(self) -> dict[str, Any]:
        reason: dict[str, Any] = {
            "code": self.code.value,
            "description": self.description,
            "sub_code": "UNSPECIFIED_SUB_CODE",
        }
        if self.channel_code is not None:
            reason["channel_code"] = self.channel_code
        return reason


async def send_in_parts(
    parts: Sequence[Any], send_one: Callable[[Any], Awaitable[str]]
) -> Accepted:
    """Send a message's native parts in order (CHANNELS.md, "Parts"): every part's native id
    is kept, so a report about any part finds the message; a failure after the first part
    went out is permanent, since a retry would send the accepted parts again."""
    native_ids: list[str] = []
    for number, part in enumerate(parts, start=1):
        try:
            native_ids.append(await send_one(part))
        except ChannelFailure as failure:
            if native_ids:
                failure.transient = False
                failure.description = f"part {number} of {len(parts)}: {failure.description}"
            raise
    return Accepted(native_id=native_ids[0], extra_native_ids=tuple(native_ids[1:]))


# --- inbound ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NativeRequest:
    """A native webhook as it reached `/inbound/{channel}/{app_id}`."""

    app_id: str
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)
    # The app's credential for this channel (which business number, page, bot it is).
    credential: Mapping[str, Any] = field(default_factory=dict)
    # The app's own id on the channel that its credential does not name, as learned from
    # the first verified webhook (Messenger's Page id; `ChannelPlugin.learnable_id`). None
    # until learned, and for channels that learn nothing.
    learned_id: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class InboundMessage:
    identity: str
    contact_message: dict[str, Any]  # ContactMessage wire form
    native_id: str
    sender_id: str | None = None  # the app-side address the contact wrote to
    at: datetime | None = None
    metadata: str = ""  # channel-specific metadata, e.g. SMS operator info
    reply_text: str | None = None  # the plain text, when a typed reply may name an option
    # The channel's id of the message this one answers (becomes `reply_to`, and names the
    # app message of a choice response).
    context_native_id: str | None = None
    # The contact's name as the channel shows it (WhatsApp profile, Viber sender): a new
    # contact's display name, and what `contacts:getChannelProfile` answers.
    profile_name: str | None = None
    # The contact message instead, when `context_native_id` names no message chorus stored
    # (a WhatsApp tapped reply answering a message that is not ours is a fallback_message).
    unresolved_context: dict[str, Any] | None = None


@dataclass(frozen=True)
class InboundEvent:
    identity: str
    contact_event: dict[str, Any] | None = None
    contact_message_event: dict[str, Any] | None = None
    at: datetime | None = None
    # The channel's own id of this event (RBM `eventId`; Viber's event, message_token and
    # user id), on events, reports, unmapped traffic and consent changes alike: the channel
    # delivering an id again is a duplicate, recorded and otherwise dropped
    # (`inbound.service.first_delivery`). Not part of what the item says (`compare=False`).
    event_id: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class StatusReport:
    """The channel's news about something chorus sent."""

    status: str  # DELIVERED | READ | FAILED, or "" for reports that change nothing
    native_id: str | None = None
    message_id: str | None = None  # when the channel echoes chorus's id (SMS client_reference)
    identity: str | None = None
    reason: dict[str, Any] | None = None
    at: datetime | None = None
    event_id: str | None = field(default=None, compare=False)  # as InboundEvent's


@dataclass(frozen=True)
class Unmapped:
    """Native traffic chorus cannot map: reported as an UNSUPPORTED callback."""

    payload: str
    identity: str | None = None
    description: str = ""
    # The identity becomes a contact's if none holds it (Viber's conversation_started: a
    # person opened the chat, and can be written to from now on).
    learns_identity: bool = False
    event_id: str | None = field(default=None, compare=False)  # as InboundEvent's


@dataclass(frozen=True)
class Ignored:
    """Native traffic for another business (another phone number id, another agent) that
    reached this app's URL: recorded as ignored, nothing else (no callback, no retry asked)."""

    description: str


@dataclass(frozen=True)
class HandshakeAnswer:
    """The channel is checking the endpoint (RBM's webhook set-up): answer `body` as text."""

    body: str


@dataclass(frozen=True)
class ConsentChange:
    """The user opted in to or out of the app on the channel (VIBERBM `opt_in`/`opt_out`,
    Viber `subscribed`/`unsubscribed`): an OPT_IN / OPT_OUT notification and a consent list
    change (CHANNELS.md Decision 6)."""

    identity: str
    opted_in: bool
    list_type: str = "OPT_OUT_ALL"
    at: datetime | None = None
    # The change introduces the identity (Viber `subscribed`): its contact is found or
    # created in CONVERSATION mode, as for a message.
    learns_identity: bool = False
    event_id: str | None = field(default=None, compare=False)  # as InboundEvent's


@dataclass(frozen=True)
class ChannelEvent:
    """News about the app's account on the channel rather than about a contact (WhatsApp's
    phone number quality change): a CHANNEL_EVENT callback (API.md §8.2)."""

    event_type: str
    additional_data: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None


InboundItem = (
    InboundMessage
    | InboundEvent
    | StatusReport
    | Unmapped
    | Ignored
    | HandshakeAnswer
    | ConsentChange
    | ChannelEvent
)


def objects(value: Any) -> list[dict[str, Any]]:
    """The objects of a JSON array in a channel's webhook: nothing when it is not an array,
    and none of its other elements (a webhook of another shape maps to less, never fails)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def coordinates(latitude: Any, longitude: Any) -> dict[str, float] | None:
    """A location's coordinates as the API stores them, or None when the channel's are not
    numbers on the globe (a string, null, a boolean, `1e999`): no location, then."""
    values = []
    for value, bound in ((latitude, 90.0), (longitude, 180.0)):
        if isinstance(value, bool):
            return None
        try:
            degrees = float(value)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(degrees) or abs(degrees) > bound:
            return None
        values.append(degrees)
    return {"latitude": values[0], "longitude": values[1]}


class InboundRejected(Exception):
    """Verification failed: answer `status` and record the request, never process it."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


# --- capability -------------------------------------------------------------------------

CAPABILITY_FULL = "CAPABILITY_FULL"
CAPABILITY_PARTIAL = "CAPABILITY_PARTIAL"
CAPABILITY_UNKNOWN = "CAPABILITY_UNKNOWN"
NO_CAPABILITY = "NO_CAPABILITY"


@dataclass(frozen=True)
class CapabilityQuery:
    """One identity to look up on this channel, with what chorus has seen of it for the app
    (channels without a lookup answer from that; API.md Part B §6.1)."""

    app_id: str
    identity: str
    credential: Mapping[str, Any]
    # The identity has written to the app on this channel.
    seen_inbound: bool = False
    # When the identity last wrote, or a DELIVERED/READ report about it arrived.
    last_reached_at: datetime | None = None
    # The most recent failed send to the identity on this channel: its native code and when.
    last_failure_code: str | None = None
    last_failure_at: datetime | None = None
    # chorus's last consent record for the identity on this channel is an opt-out
    # (Viber `unsubscribed`, a STOP keyword, optouts:register).
    opted_out: bool = False


@dataclass(frozen=True)
class Capability:
    status: str  # a capability_status value
    channel_capabilities: tuple[str, ...] = ()
    reason: dict[str, Any] | None = None

    @classmethod
    def none(cls, code: ReasonCode, description: str) -> "Capability":
        return cls(NO_CAPABILITY, reason=capability_reason(code, description))


def capability_reason(
    code: ReasonCode, description: str, channel_code: str | None = None
) -> dict[str, Any]:
    reason: dict[str, Any] = {
        "code": code.value,
        "description": description,
        "sub_code": "UNSPECIFIED_SUB_CODE",
    }
    if channel_code is not None:
        reason["channel_code"] = channel_code
    return reason


# --- the plugin -------------------------------------------------------------------------


class ChannelPlugin(ABC):
    channel: ClassVar[Channel]
    # The base URL of the channel's production API; the simulator's is used in local mode.
    production_base_url: ClassVar[str]
    # Whether the channel has native templates: then `template_message.channel_template[ch]`
    # reaches `transcode` (already resolved by the template component), else never.
    channel_templates: ClassVar[bool] = False
    # Whether sends depend on when the contact last wrote (a customer-service window or a
    # session): then dispatch looks up `Dispatch.last_inbound_at`, else it stays None.
    sending_window: ClassVar[bool] = False

    @abstractmethod
    def transcode(
        self,
        message: AppMessage,
        *,
        message_id: str,
        recipient: str | None = None,
        sender: str | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> Transcoded:
        """The native payload for a generic message (no I/O; also serves messages:transcode).
        `recipient` / `sender` go where the channel's payload has them (the connector fills
        in the real ones when sending); `properties` are the send's channel_properties."""

    def transcode_event(self, event: AppEvent, *, event_id: str) -> Transcoded:
        """The native payload of an app event; channels without such events refuse."""
        raise ChannelFailure(
            ReasonCode.UNSUPPORTED_OPERATION,
            f"{self.channel.value} cannot carry a {event.kind}",
        )

    def identity_is_valid(self, identity: str) -> bool:
        return bool(identity)

    def channel_template(self, transcoded: Transcoded) -> tuple[str, str] | None:
        """The channel's own template, (name, language), that a payload names, if any."""
        return None

    @abstractmethod
    async def send(self, http: httpx.AsyncClient, base_url: str, dispatch: Dispatch) -> Accepted:
        """Hand the message to the channel; raise ChannelFailure when it refuses."""

    @abstractmethod
    def verify(
        self, request: NativeRequest, credential: Mapping[str, Any], *, simulator_on: bool
    ) -> None:
        """Raise InboundRejected unless the request really comes from the channel."""

    @abstractmethod
    def parse_inbound(self, request: NativeRequest) -> list[InboundItem]:
        """Map a verified native webhook to contact messages, events and reports."""

    def handshake(
        self, query: Mapping[str, str], credential: Mapping[str, Any], app_id: str
    ) -> tuple[int, str] | None:
        """The answer to a channel's `GET` subscription check of the inbound URL (status,
        plain-text body), or None when the channel has none."""
        return None

    async def media(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        credential: Mapping[str, Any],
        media_id: str,
    ) -> tuple[str, bytes] | None:
        """(content type, bytes) of an inbound media id, for channels whose inbound media
        are fetched with the app's token (chorus serves them at
        `/inbound/{channel}/{app_id}/media/{media_id}`); None when unknown."""
        return None

    def match_reply(self, text: str, options: Sequence[ReplyOption]) -> ReplyOption | None:
        """The option a typed reply names, for channels that render choices as text."""
        return None

    def named_message(self, text: str) -> str | None:
        """The id of the app message a reply names itself (a short postback envelope,
        `{message_id}#{index}`), whose options `match_reply` reads; None when it names none
        (then the identity's latest message is the one answered)."""
        return None

    def learning_key(self, credential: Mapping[str, Any]) -> str | None:
        """For channels whose credential does not name the business its webhooks are for
        (Messenger: the Page), the part of the credential an id learned from a webhook
        belongs to (the Page token): saved with another one, the credential learns its id
        again. None: the channel learns nothing (the default)."""
        return None

    def learnable_id(self, request: NativeRequest) -> str | None:
        """The business id a verified webhook is for, for channels with a `learning_key`:
        the first one is kept for the app and comes back as `NativeRequest.learned_id`
        with every later webhook. None when the webhook names none."""
        return None

    async def revoke(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        credential: Mapping[str, Any],
        identity: str,
        native_id: str,
    ) -> bool:
        """Take back a message the channel has not delivered: True when revoked, False when
        it was delivered meanwhile. Raise ChannelFailure when the channel does not answer.
        Only channels with a `<channel>_delivery_timeout` setting are asked."""
        raise NotImplementedError

    async def profile_name(
        self, http: httpx.AsyncClient, base_url: str, credential: Mapping[str, Any], identity: str
    ) -> str | None:
        """The user's name asked of the channel, for channels whose webhooks do not carry it
        (`contacts:getChannelProfile`); None when the channel has no such lookup or does not
        know the user. Raise ChannelFailure when the channel does not answer."""
        return None

    def registers_webhook(self, old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
        """Whether saving credential `new` (in place of `old`; None when the app had none of
        this channel) must register chorus's inbound URL with the channel
        (`register_webhook`). Most channels are pointed at chorus by their user, in the
        channel's own console: never."""
        return False

    async def register_webhook(
        self, http: httpx.AsyncClient, base_url: str, credential: Mapping[str, Any], url: str
    ) -> None:
        """Register `url` as where the channel posts its webhooks for `credential`; raise
        ChannelFailure when the channel refuses."""
        raise NotImplementedError

    async def capability(
        self, http: httpx.AsyncClient, base_url: str, query: CapabilityQuery
    ) -> Capability:
        """What the channel knows of the identity (`capability:query`). By default no
        network call: a malformed identity has NO_CAPABILITY, anything else is UNKNOWN."""
        if not self.identity_is_valid(query.identity):
            return self.invalid_identity(query.identity)
        return Capability(CAPABILITY_UNKNOWN)

    def invalid_identity(self, identity: str) -> Capability:
        return Capability.none(
            ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY,
            f"{identity!r} is not a valid {self.channel.value} identity",
        )


def json_object(response: httpx.Response) -> dict[str, Any]:
    """A channel API's answer as a JSON object; empty when it is not one (an error page,
    a proxy's HTML, an array)."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def attempt_send(
    plugin: ChannelPlugin, http: httpx.AsyncClient, base_url: str, dispatch: Dispatch
) -> Accepted | ChannelFailure:
    """One send through the plugin: the channel's acceptance, or its failure as a value;
    counted by outcome (`kit/counters.py`)."""
    try:
        outcome: Accepted | ChannelFailure = await plugin.send(http, base_url, dispatch)
    except ChannelFailure as failure:
        outcome = failure
    if isinstance(outcome, Accepted):
        label = "accepted"
    else:
        label = "transient_failure" if outcome.transient else "permanent_failure"
    CHANNEL_SENDS.labels(plugin.channel.value, label).inc()
    return outcome
