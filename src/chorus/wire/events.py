"""Event payloads of the wire contract (API.md Part B §4.1 and §4.4).

`AppEvent` is what an app sends with `events:send` (and what `inject-event` stores);
`ContactEvent` and `ContactMessageEvent` are what contacts cause on their channels. Each is a
oneof: exactly one key, where an empty object such as `"composing_event": {}` counts as present.
"""

from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field

from chorus.wire.messages import Agent, OneOfModel, WireModel


class _EventOneOf(OneOfModel):
    @property
    def kind(self) -> str:
        """The event key present, e.g. `"composing_event"`."""
        return self.chosen_key

    @property
    def body(self) -> WireModel:
        """The event model held under `kind`."""
        return self.chosen


class ComposingEvent(WireModel):
    """Typing indicator on. Carries no fields."""


class ComposingEndEvent(WireModel):
    """Typing indicator off. Carries no fields."""


class ConversationDeletedEvent(WireModel):
    """The contact deleted the conversation on the channel. Carries no fields."""


class CommentReplyEvent(WireModel):
    text: str = Field(min_length=1)


class AgentJoinedEvent(WireModel):
    agent: Agent


class AgentLeftEvent(WireModel):
    agent: Agent


class GenericEvent(WireModel):
    payload: dict[str, Any]


class AppEvent(_EventOneOf):
    """An event from the app to a contact (§4.1)."""

    ONE_OF: ClassVar[tuple[str, ...]] = (
        "composing_event",
        "composing_end_event",
        "comment_reply_event",
        "agent_joined_event",
        "agent_left_event",
        "generic_event",
    )

    composing_event: ComposingEvent | None = None
    composing_end_event: ComposingEndEvent | None = None
    comment_reply_event: CommentReplyEvent | None = None
    agent_joined_event: AgentJoinedEvent | None = None
    agent_left_event: AgentLeftEvent | None = None
    generic_event: GenericEvent | None = None


class CommentType(StrEnum):
    FEED = "FEED"
    LIVE = "LIVE"


class CommentEvent(WireModel):
    """A comment on a post (Instagram)."""

    id: str | None = None
    text: str | None = None
    comment_type: CommentType | None = None
    commented_on: str | None = None
    user: str | None = None


class ContactEvent(_EventOneOf):
    """An event caused by a contact (§4.4)."""

    ONE_OF: ClassVar[tuple[str, ...]] = (
        "composing_event",
        "composing_end_event",
        "conversation_deleted_event",
        "comment_event",
        "generic_event",
    )

    composing_event: ComposingEvent | None = None
    composing_end_event: ComposingEndEvent | None = None
    conversation_deleted_event: ConversationDeletedEvent | None = None
    comment_event: CommentEvent | None = None
    generic_event: GenericEvent | None = None


class PaymentStatus(StrEnum):
    PAYMENT_STATUS_UNKNOWN = "PAYMENT_STATUS_UNKNOWN"
    PAYMENT_STATUS_NEW = "PAYMENT_STATUS_NEW"
    PAYMENT_STATUS_PENDING = "PAYMENT_STATUS_PENDING"
    PAYMENT_STATUS_CAPTURED = "PAYMENT_STATUS_CAPTURED"
    PAYMENT_STATUS_CANCELED = "PAYMENT_STATUS_CANCELED"
    PAYMENT_STATUS_FAILED = "PAYMENT_STATUS_FAILED"


class PaymentTransactionStatus(StrEnum):
    PAYMENT_STATUS_TRANSACTION_UNKNOWN = "PAYMENT_STATUS_TRANSACTION_UNKNOWN"
    PAYMENT_STATUS_TRANSACTION_PENDING = "PAYMENT_STATUS_TRANSACTION_PENDING"
    PAYMENT_STATUS_TRANSACTION_FAILED = "PAYMENT_STATUS_TRANSACTION_FAILED"
    PAYMENT_STATUS_TRANSACTION_SUCCESS = "PAYMENT_STATUS_TRANSACTION_SUCCESS"
    PAYMENT_STATUS_TRANSACTION_CANCELED = "PAYMENT_STATUS_TRANSACTION_CANCELED"


class PaymentStatusUpdateEvent(WireModel):
    reference_id: str | None = None
    payment_status: PaymentStatus | None = None
    payment_transaction_status: PaymentTransactionStatus | None = None
    payment_transaction_id: str | None = None


class ShortlinkActivatedEventType(StrEnum):
    OPEN_THREAD = "OPEN_THREAD"


class ShortlinkActivatedEvent(WireModel):
    payload: str | None = None
    title: str | None = None
    ref: str | None = None
    source: str = "SHORTLINK"
    type: ShortlinkActivatedEventType | None = None
    existing_thread: bool | None = None


class ReactionAction(StrEnum):
    REACTION_ACTION_UNKNOWN = "REACTION_ACTION_UNKNOWN"
    REACTION_ACTION_REACT = "REACTION_ACTION_REACT"
    REACTION_ACTION_UNREACT = "REACTION_ACTION_UNREACT"


class ReactionEvent(WireModel):
    emoji: str
    action: ReactionAction
    message_id: str
    reaction_category: str | None = None


class ContactMessageEvent(_EventOneOf):
    """An inbound event about a message (beta, §4.4)."""

    ONE_OF: ClassVar[tuple[str, ...]] = (
        "payment_status_update_event",
        "shortlink_activated_event",
        "reaction_event",
    )

    payment_status_update_event: PaymentStatusUpdateEvent | None = None
    shortlink_activated_event: ShortlinkActivatedEvent | None = None
    reaction_event: ReactionEvent | None = None
