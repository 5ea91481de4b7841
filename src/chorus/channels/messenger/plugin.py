"""The Messenger channel plugin (CHANNELS.md part 2 §1): Send API bodies, the Graph API
connector with the 24-hour window, `X-Hub-Signature-256` verified webhooks, and typing
indicators as sender actions."""

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
from chorus.channels.messenger.connector import PSID, page_token, send_message, user_name
from chorus.channels.messenger.inbound import first_page, parse_webhook, short_envelope
from chorus.channels.messenger.transcode import transcode_message, transcode_sender_action
from chorus.channels.meta import subscription_challenge, verify_signature
from chorus.wire.enums import Channel
from chorus.wire.events import AppEvent
from chorus.wire.messages import AppMessage


class MessengerChannel(ChannelPlugin):
    channel: ClassVar[Channel] = Channel.MESSENGER
    sending_window: ClassVar[bool] = True
    production_base_url: ClassVar[str] = "https://graph.facebook.com/v21.0"

    def transcode(
        self,
        message: AppMessage,
        *,
        message_id: str,
        recipient: str | None = None,
        sender: str | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> Transcoded:
        return transcode_message(
            message, message_id=message_id, recipient=recipient, properties=properties
        )

    def transcode_event(self, event: AppEvent, *, event_id: str) -> Transcoded:
        """`composing_event` → `typing_on`, `composing_end_event` → `typing_off` (§1.7)."""
        transcoded = transcode_sender_action(event)
        if transcoded is None:
            return super().transcode_event(event, event_id=event_id)
        return transcoded

    def identity_is_valid(self, identity: str) -> bool:
        return bool(PSID.match(identity))

    async def send(self, http: httpx.AsyncClient, base_url: str, dispatch: Dispatch) -> Accepted:
        return await send_message(http, base_url, dispatch)

    async def profile_name(
        self, http: httpx.AsyncClient, base_url: str, credential: Mapping[str, Any], identity: str
    ) -> str | None:
        """Messenger webhooks carry no name: the Graph API's user profile has it."""
        return await user_name(http, base_url, credential, identity)

    async def capability(
        self, http: httpx.AsyncClient, base_url: str, query: CapabilityQuery
    ) -> Capability:
        """No public lookup (§1.8): a well-formed PSID of this app is FULL. (A contact with
        no MESSENGER identity for the app is answered by the capability service.)"""
        if not self.identity_is_valid(query.identity):
            return self.invalid_identity(query.identity)
        return Capability(CAPABILITY_FULL)

    def verify(
        self, request: NativeRequest, credential: Mapping[str, Any], *, simulator_on: bool
    ) -> None:
        verify_signature(request, credential, self.channel, simulator_on=simulator_on)

    def handshake(
        self, query: Mapping[str, str], credential: Mapping[str, Any], app_id: str
    ) -> tuple[int, str] | None:
        return subscription_challenge(query, credential, app_id)

    def learning_key(self, credential: Mapping[str, Any]) -> str | None:
        """The credential names no Page (§1.7): the Page learned from the first verified
        webhook belongs to the Page token. A user who moves the app to another Page gives it
        that Page's token, and expects its webhooks processed: the Page is learned again.
        The same token saved again (a new app secret) keeps it."""
        return page_token(credential) or ""

    def learnable_id(self, request: NativeRequest) -> str | None:
        return first_page(request)

    def parse_inbound(self, request: NativeRequest) -> list[InboundItem]:
        return parse_webhook(request)

    def match_reply(self, text: str, options: Sequence[ReplyOption]) -> ReplyOption | None:
        """A tapped button or quick reply carrying `{message_id}#{index}` names the option
        numbered `index` (the transcoder numbers them from 0, across cards)."""
        named = short_envelope(text)
        if named is None:
            return None
        return next((option for option in options if option.number == named[1]), None)

    def named_message(self, text: str) -> str | None:
        named = short_envelope(text)
        return named[0] if named is not None else None


PLUGIN = MessengerChannel()
