"""The RCS channel plugin (CHANNELS.md part 1 §3): RBM AgentMessages with suggestions and rich
cards, the RBM connector, `X-Goog-Signature` verified webhooks, and typing indicators."""

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import httpx

from chorus.channels.base import (
    Accepted,
    Capability,
    CapabilityQuery,
    ChannelFailure,
    ChannelPlugin,
    Dispatch,
    InboundItem,
    NativeRequest,
    ReplyOption,
    Transcoded,
)
from chorus.channels.rcs.connector import (
    MSISDN,
    lookup_capability,
    revoke_message,
    send_agent_message,
)
from chorus.channels.rcs.inbound import parse_webhook, verify_webhook
from chorus.channels.rcs.transcode import transcode_rcs
from chorus.wire.enums import Channel
from chorus.wire.events import AppEvent
from chorus.wire.messages import AppMessage, ReasonCode


class RcsChannel(ChannelPlugin):
    channel: ClassVar[Channel] = Channel.RCS
    production_base_url: ClassVar[str] = "https://rcsbusinessmessaging.googleapis.com"

    def transcode(
        self,
        message: AppMessage,
        *,
        message_id: str,
        recipient: str | None = None,
        sender: str | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> Transcoded:
        # The phone number and agent go in the URL, not the body; RCS has no properties.
        return transcode_rcs(message, message_id=message_id)

    def transcode_event(self, event: AppEvent, *, event_id: str) -> Transcoded:
        """A composing event is RBM's `IS_TYPING` agent event; RBM has no other app event."""
        if event.kind == "composing_event":
            return Transcoded(native={"eventType": "IS_TYPING"})
        raise ChannelFailure(ReasonCode.UNSUPPORTED_OPERATION, f"RCS cannot carry a {event.kind}")

    def identity_is_valid(self, identity: str) -> bool:
        return bool(MSISDN.match(identity))

    async def send(self, http: httpx.AsyncClient, base_url: str, dispatch: Dispatch) -> Accepted:
        return await send_agent_message(http, base_url, dispatch)

    async def revoke(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        credential: Mapping[str, Any],
        identity: str,
        native_id: str,
    ) -> bool:
        return await revoke_message(http, base_url, credential, identity, native_id)

    async def capability(
        self, http: httpx.AsyncClient, base_url: str, query: CapabilityQuery
    ) -> Capability:
        """RBM's capability check of the phone (§3.8)."""
        if not self.identity_is_valid(query.identity):
            return self.invalid_identity(query.identity)
        return await lookup_capability(http, base_url, query)

    def verify(
        self, request: NativeRequest, credential: Mapping[str, Any], *, simulator_on: bool
    ) -> None:
        verify_webhook(request, credential, simulator_on=simulator_on)

    def parse_inbound(self, request: NativeRequest) -> list[InboundItem]:
        return parse_webhook(request)

    def match_reply(self, text: str, options: Sequence[ReplyOption]) -> ReplyOption | None:
        """A tapped suggestion whose postback carries no message id: the option of the
        latest message offering that postback (§3.7)."""
        return next((o for o in options if o.postback_data and o.postback_data == text), None)


PLUGIN = RcsChannel()
