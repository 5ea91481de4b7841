"""The VIBERBM channel plugin (CHANNELS.md part 2 §2): Viber Business Messages through the
chorus-owned native API, `X-Chorus-Signature` verified callbacks, and typed replies naming a
numbered option of a degraded rendering."""

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import httpx

from chorus.channels.base import (
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
from chorus.channels.sms.connector import MSISDN
from chorus.channels.sms.plugin import PLUGIN as SMS
from chorus.channels.viberbm.connector import send_message
from chorus.channels.viberbm.inbound import parse_callback, verify_callback
from chorus.channels.viberbm.transcode import transcode_viberbm
from chorus.wire.enums import Channel
from chorus.wire.messages import AppMessage


class ViberBmChannel(ChannelPlugin):
    channel: ClassVar[Channel] = Channel.VIBERBM
    sending_window: ClassVar[bool] = True
    # No public host (Decision 8): CHORUS_VIBERBM_BASE_URL must name the provider adapter.
    production_base_url: ClassVar[str] = ""

    def transcode(
        self,
        message: AppMessage,
        *,
        message_id: str,
        recipient: str | None = None,
        sender: str | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> Transcoded:
        # No channel properties (§2.5); the sender is the credential's service.
        return transcode_viberbm(message, message_id=message_id, recipient=recipient)

    def identity_is_valid(self, identity: str) -> bool:
        return bool(MSISDN.match(identity))

    async def send(self, http: httpx.AsyncClient, base_url: str, dispatch: Dispatch) -> Accepted:
        return await send_message(http, base_url, dispatch)

    async def capability(
        self, http: httpx.AsyncClient, base_url: str, query: CapabilityQuery
    ) -> Capability:
        """As SMS (§2.8): whether the number is a Viber user shows only at send time."""
        return await SMS.capability(http, base_url, query)

    def verify(
        self, request: NativeRequest, credential: Mapping[str, Any], *, simulator_on: bool
    ) -> None:
        verify_callback(request, credential, simulator_on=simulator_on)

    def parse_inbound(self, request: NativeRequest) -> list[InboundItem]:
        return parse_callback(request)

    def match_reply(self, text: str, options: Sequence[ReplyOption]) -> ReplyOption | None:
        """As SMS (part 1 §1.7): a number names that option, else an option's label."""
        return SMS.match_reply(text, options)


PLUGIN = ViberBmChannel()
