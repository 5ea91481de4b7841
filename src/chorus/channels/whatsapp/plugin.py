"""The WhatsApp channel plugin (CHANNELS.md part 1 §2): Cloud API transcoding and connector,
X-Hub-Signature-256 verified webhooks, and replies naming an option of the last message."""

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import httpx

from chorus.channels.base import (
    CAPABILITY_FULL,
    CAPABILITY_UNKNOWN,
    NO_CAPABILITY,
    Accepted,
    Capability,
    CapabilityQuery,
    ChannelPlugin,
    Dispatch,
    InboundItem,
    NativeRequest,
    ReplyOption,
    Transcoded,
    capability_reason,
)
from chorus.channels.meta import subscription_challenge, verify_signature
from chorus.channels.whatsapp.connector import MSISDN, fetch_media, send_message
from chorus.channels.whatsapp.inbound import parse_webhook
from chorus.channels.whatsapp.transcode import transcode_whatsapp
from chorus.wire.enums import Channel
from chorus.wire.messages import AppMessage, ReasonCode

# The Cloud API's "message undeliverable" (the number is not on WhatsApp).
NOT_ON_WHATSAPP = "131026"
_NUMBER = re.compile(r"^[0-9]+$")
_DEFAULT_CHOICE_ID = re.compile(r"^[0-9A-Z]{26}_(.*)$", re.DOTALL)


class WhatsAppChannel(ChannelPlugin):
    channel: ClassVar[Channel] = Channel.WHATSAPP
    sending_window: ClassVar[bool] = True
    production_base_url: ClassVar[str] = "https://graph.facebook.com"
    channel_templates: ClassVar[bool] = True

    def transcode(
        self,
        message: AppMessage,
        *,
        message_id: str,
        recipient: str | None = None,
        sender: str | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> Transcoded:
        # WhatsApp defines no channel properties (§2.5); the sender is the credential's number.
        return transcode_whatsapp(message, message_id=message_id, recipient=recipient)

    def identity_is_valid(self, identity: str) -> bool:
        return bool(MSISDN.match(identity))

    def channel_template(self, transcoded: Transcoded) -> tuple[str, str] | None:
        native = transcoded.native
        if not isinstance(native, dict) or native.get("type") != "template":
            return None
        template = native.get("template") or {}
        return str(template.get("name", "")), str((template.get("language") or {}).get("code", ""))

    async def capability(
        self, http: httpx.AsyncClient, base_url: str, query: CapabilityQuery
    ) -> Capability:
        """The Cloud API has no lookup (§2.8): FULL once the identity wrote or a message
        reached it, NO_CAPABILITY when the latest evidence is a send failed with 131026
        (not a WhatsApp user), else UNKNOWN."""
        if not self.identity_is_valid(query.identity):
            return self.invalid_identity(query.identity)
        if query.last_failure_code == NOT_ON_WHATSAPP and (
            query.last_reached_at is None
            or (query.last_failure_at is not None and query.last_failure_at > query.last_reached_at)
        ):
            return Capability(
                NO_CAPABILITY,
                reason=capability_reason(
                    ReasonCode.RECIPIENT_NOT_REACHABLE,
                    "the last message to this number failed: it is not a WhatsApp user",
                    NOT_ON_WHATSAPP,
                ),
            )
        if query.last_reached_at is not None or query.seen_inbound:
            return Capability(CAPABILITY_FULL)
        return Capability(CAPABILITY_UNKNOWN)

    async def send(self, http: httpx.AsyncClient, base_url: str, dispatch: Dispatch) -> Accepted:
        return await send_message(http, base_url, dispatch)

    def verify(
        self, request: NativeRequest, credential: Mapping[str, Any], *, simulator_on: bool
    ) -> None:
        verify_signature(request, credential, self.channel, simulator_on=simulator_on)

    def parse_inbound(self, request: NativeRequest) -> list[InboundItem]:
        business = (request.credential.get("static_bearer") or {}).get("claimed_identity")
        return parse_webhook(request, phone_number_id=business or None)

    async def media(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        credential: Mapping[str, Any],
        media_id: str,
    ) -> tuple[str, bytes] | None:
        return await fetch_media(http, base_url, credential, media_id)

    def handshake(
        self, query: Mapping[str, str], credential: Mapping[str, Any], app_id: str
    ) -> tuple[int, str] | None:
        return subscription_challenge(query, credential, app_id)

    def match_reply(self, text: str, options: Sequence[ReplyOption]) -> ReplyOption | None:
        """The option a reply names: a tapped button or row reports its native id (the
        option's postback_data, or `{message_id}_{label}`); a typed reply names an option by
        its number (numbered renderings, §2.4) or its label (case-insensitive)."""
        reply = text.strip()
        if not reply:
            return None
        for option in options:
            if option.postback_data is not None and option.postback_data == text:
                return option
        default = _DEFAULT_CHOICE_ID.match(text)
        if default is not None:
            for option in options:
                if option.postback_data is None and option.label == default.group(1):
                    return option
        if _NUMBER.match(reply):
            number = int(reply)
            for option in options:
                if option.number == number:
                    return option
        folded = reply.casefold()
        for option in options:
            if option.label.strip().casefold() == folded:
                return option
        return None


PLUGIN = WhatsAppChannel()
