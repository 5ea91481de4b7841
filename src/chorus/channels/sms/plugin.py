"""The SMS channel plugin (CHANNELS.md part 1 §1): plain-text transcoding, the XMS connector,
HTTP Basic verified callbacks, and typed replies naming a numbered option."""

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
from chorus.channels.sms.connector import MSISDN, send_batch
from chorus.channels.sms.inbound import parse_callback, verify_callback
from chorus.channels.sms.transcode import render_sms
from chorus.wire.enums import Channel
from chorus.wire.messages import AppMessage

_NUMBER = re.compile(r"^[0-9]+$")


class SmsChannel(ChannelPlugin):
    channel: ClassVar[Channel] = Channel.SMS
    production_base_url: ClassVar[str] = "https://us.sms.api.sinch.com"

    def transcode(
        self,
        message: AppMessage,
        *,
        message_id: str,
        recipient: str | None = None,
        sender: str | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> Transcoded:
        # SMS is text: the number and sender belong to the batch, not to the body.
        rendering = render_sms(message)
        return Transcoded(
            native=rendering.body,
            options=[
                ReplyOption(option.number, option.label, option.postback_data)
                for option in rendering.options
            ],
        )

    def identity_is_valid(self, identity: str) -> bool:
        return bool(MSISDN.match(identity))

    async def send(self, http: httpx.AsyncClient, base_url: str, dispatch: Dispatch) -> Accepted:
        return await send_batch(http, base_url, dispatch)

    async def capability(
        self, http: httpx.AsyncClient, base_url: str, query: CapabilityQuery
    ) -> Capability:
        """No network call (§1.8): a valid MSISDN is FULL, opted out by STOP or not —
        capability is about the channel, not consent."""
        if not self.identity_is_valid(query.identity):
            return self.invalid_identity(query.identity)
        return Capability(CAPABILITY_FULL)

    def verify(
        self, request: NativeRequest, credential: Mapping[str, Any], *, simulator_on: bool
    ) -> None:
        verify_callback(request, credential, simulator_on=simulator_on)

    def parse_inbound(self, request: NativeRequest) -> list[InboundItem]:
        return parse_callback(request)

    def match_reply(self, text: str, options: Sequence[ReplyOption]) -> ReplyOption | None:
        """A trimmed integer N names option N; otherwise a reply equal to an option's label
        (case-insensitive) names that option (§1.7)."""
        reply = text.strip()
        if not reply:
            return None
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


PLUGIN = SmsChannel()
