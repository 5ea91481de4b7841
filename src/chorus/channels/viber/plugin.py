"""The VIBER (Viber Bot) channel plugin (CHANNELS.md part 2 §3): rich transcoding with
keyboards and rich media, the Viber REST Bot API connector, and signed callbacks.

Viber has no typing indicators: app events are refused (the base class's default)."""

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import httpx

from chorus.channels.base import (
    CAPABILITY_FULL,
    Accepted,
    Capability,
    CapabilityQuery,
    ChannelPlugin,
    Dispatch,
    InboundItem,
    NativeRequest,
    ReplyOption,
    Transcoded,
)
from chorus.channels.viber.connector import USER_ID, auth_token, send_message, set_webhook
from chorus.channels.viber.inbound import parse_callback, verify_callback
from chorus.channels.viber.transcode import transcode_viber
from chorus.wire.enums import Channel
from chorus.wire.messages import AppMessage, ReasonCode

_SHORT_ENVELOPE = re.compile(r"^([0-9A-Z]{26})#([0-9]+)$")


class ViberChannel(ChannelPlugin):
    channel: ClassVar[Channel] = Channel.VIBER
    production_base_url: ClassVar[str] = "https://chatapi.viber.com"

    def transcode(
        self,
        message: AppMessage,
        *,
        message_id: str,
        recipient: str | None = None,
        sender: str | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> Transcoded:
        return transcode_viber(
            message,
            message_id=message_id,
            recipient=recipient,
            sender=sender,
            properties=properties,
        )

    def identity_is_valid(self, identity: str) -> bool:
        return bool(USER_ID.match(identity))

    async def send(self, http: httpx.AsyncClient, base_url: str, dispatch: Dispatch) -> Accepted:
        return await send_message(http, base_url, dispatch)

    async def capability(
        self, http: httpx.AsyncClient, base_url: str, query: CapabilityQuery
    ) -> Capability:
        """No network call (§3.8; `get_user_details` is rate-limited): a well-formed id is
        FULL unless chorus's last subscription record for it is `unsubscribed`."""
        if not self.identity_is_valid(query.identity):
            return self.invalid_identity(query.identity)
        if query.opted_out:
            return Capability.none(
                ReasonCode.RECIPIENT_NOT_OPTED_IN, "the user unsubscribed from the bot"
            )
        return Capability(CAPABILITY_FULL)

    def verify(
        self, request: NativeRequest, credential: Mapping[str, Any], *, simulator_on: bool
    ) -> None:
        verify_callback(request, credential, simulator_on=simulator_on)

    def registers_webhook(self, old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
        """A bot's webhook is set through the API with its token (§3.2): again whenever the
        token changes."""
        return old is None or auth_token(old) != auth_token(new)

    async def register_webhook(
        self, http: httpx.AsyncClient, base_url: str, credential: Mapping[str, Any], url: str
    ) -> None:
        await set_webhook(http, base_url, credential, url)

    def parse_inbound(self, request: NativeRequest) -> list[InboundItem]:
        return parse_callback(request)

    def match_reply(self, text: str, options: Sequence[ReplyOption]) -> ReplyOption | None:
        """A tapped reply button without postback_data echoes `{message_id}#{index}`: the
        option numbered index + 1 of the message (§3.4, part 2 "Postback envelope")."""
        matched = _SHORT_ENVELOPE.match(text.strip())
        if matched is None:
            return None
        number = int(matched.group(2)) + 1
        return next((option for option in options if option.number == number), None)

    def named_message(self, text: str) -> str | None:
        matched = _SHORT_ENVELOPE.match(text.strip())
        return matched.group(1) if matched is not None else None


PLUGIN = ViberChannel()
