"""`:inject-message` and `:inject-event` (API.md §5.6, §5.7): history imported into a
conversation, stored without channel delivery and without callbacks."""

from datetime import datetime, timedelta
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.clock import utcnow
from chorus.kit.errors import invalid
from chorus.kit.ids import new_id
from chorus.messages.schemas import Direction
from chorus.models import Conversation, ConversationEvent, Message
from chorus.wire.enums import APP_SCOPED_CHANNELS, ProcessingMode
from chorus.wire.events import AppEvent
from chorus.wire.identities import ChannelIdentity, normalise_identity
from chorus.wire.messages import AppMessage, ContactMessage

MAX_AGE = timedelta(days=30)


class InjectMessageRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    app_message: AppMessage | None = None
    contact_message: ContactMessage | None = None
    accept_time: datetime
    channel_identity: ChannelIdentity
    contact_id: str = Field(min_length=1)
    direction: Direction
    conversation_id: str | None = None
    sender_id: str | None = None
    processing_mode: ProcessingMode | None = None
    metadata: str | None = Field(default=None, max_length=1024)

    @model_validator(mode="after")
    def _one_message(self) -> Self:
        if (self.app_message is None) == (self.contact_message is None):
            raise ValueError("give exactly one of app_message or contact_message")
        return self

    def check_direction(self) -> None:
        """An app message goes to the contact, a contact message to the app."""
        expected = Direction.TO_CONTACT if self.app_message is not None else Direction.TO_APP
        if self.direction != expected:
            given = "app_message" if self.app_message is not None else "contact_message"
            raise invalid("direction", f"must be {expected.value} for an {given}")


class InjectEventRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    app_event: AppEvent
    accept_time: datetime
    conversation_id: str | None = None
    contact_id: str | None = None
    channel_identity: ChannelIdentity | None = None
    processing_mode: ProcessingMode | None = None


def _check_common(
    conversation: Conversation,
    accept_time: datetime,
    conversation_id: str | None,
    contact_id: str | None,
) -> datetime:
    if conversation_id is not None and conversation_id != conversation.id:
        raise invalid("conversation_id", "differs from the conversation in the path")
    if contact_id is not None and contact_id != conversation.contact_id:
        raise invalid("contact_id", "is not the conversation's contact")
    moment = accept_time if accept_time.tzinfo else accept_time.replace(tzinfo=utcnow().tzinfo)
    now = utcnow()
    if moment > now or moment < now - MAX_AGE:
        raise invalid("accept_time", "must be in the past and at most 30 days old")
    return moment


async def inject_message(
    session: AsyncSession, conversation: Conversation, body: InjectMessageRequest
) -> Message:
    body.check_direction()
    moment = _check_common(conversation, body.accept_time, body.conversation_id, body.contact_id)
    channel = body.channel_identity.channel.value
    message = Message(
        id=new_id(),
        project_id=conversation.project_id,
        app_id=conversation.app_id,
        contact_id=conversation.contact_id,
        conversation_id=conversation.id,
        direction=body.direction.value,
        processing_mode=(body.processing_mode or ProcessingMode.CONVERSATION).value,
        channel=channel,
        identity=normalise_identity(channel, body.channel_identity.identity),
        identity_app_id=(body.channel_identity.app_id or "")
        if body.channel_identity.channel in APP_SCOPED_CHANNELS
        else "",
        app_message=_dump(body.app_message),
        contact_message=_dump(body.contact_message),
        metadata_=body.metadata or "",
        accept_time=moment,
        sender_id=body.sender_id,
        injected=True,
        status="INJECTED",
        updated_at=utcnow(),
    )
    session.add(message)
    if conversation.last_received is None or moment > conversation.last_received:
        conversation.last_received = moment
        conversation.active_channel = channel
    return message


async def inject_event(
    session: AsyncSession, conversation: Conversation, body: InjectEventRequest
) -> ConversationEvent:
    moment = _check_common(conversation, body.accept_time, body.conversation_id, body.contact_id)
    identity = body.channel_identity
    event = ConversationEvent(
        id=new_id(),
        project_id=conversation.project_id,
        app_id=conversation.app_id,
        contact_id=conversation.contact_id,
        conversation_id=conversation.id,
        direction="TO_CONTACT",
        processing_mode=(body.processing_mode or ProcessingMode.CONVERSATION).value,
        channel=identity.channel.value if identity else None,
        identity=normalise_identity(identity.channel.value, identity.identity)
        if identity
        else None,
        identity_app_id=(identity.app_id or "") if identity else "",
        app_event=body.app_event.model_dump(mode="json", exclude_none=True),
        accept_time=moment,
        status="INJECTED",
    )
    session.add(event)
    return event


def _dump(model: BaseModel | None) -> dict[str, Any] | None:
    return None if model is None else model.model_dump(mode="json", exclude_none=True)
