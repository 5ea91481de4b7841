"""The tables. All SQL lives in the domain repositories; these are the rows.

Relationships are not declared on purpose: every query is explicit in a repository.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from chorus.kit.clock import utcnow
from chorus.kit.db import Base, UTCDateTime
from chorus.kit.ids import new_id

ID = String(26)
# 64-bit integers on PostgreSQL; SQLite only auto-increments an INTEGER primary key.
BigID = BigInteger().with_variant(Integer, "sqlite")


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccessKey(Base):
    __tablename__ = "access_keys"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    # SHA-256 of the secret: secrets are long random strings, so a fast hash is enough and
    # keeps HTTP Basic auth cheap on every request.
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServerSecret(Base):
    """Process-shared secrets (the token signing key), created once per database."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class RestingOrigin(Base):
    """A server chorus calls that stopped answering and rests (`kit/breaker.py`), shared by
    every process on the database and kept across restarts (`rests.py`)."""

    __tablename__ = "resting_origins"

    role: Mapped[str] = mapped_column(String(32), primary_key=True)  # channel_api | webhook_…
    origin: Mapped[str] = mapped_column(String(512), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    cool_down: Mapped[float] = mapped_column(Float)  # seconds, doubling per failed probe
    resting_until: Mapped[datetime] = mapped_column(UTCDateTime)


class App(Base):
    __tablename__ = "apps"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(128), index=True)
    display_name: Mapped[str] = mapped_column(String(128))
    channel_credentials: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    conversation_metadata_report_view: Mapped[str] = mapped_column(String(16), default="NONE")
    retention_policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    dispatch_retention_policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    processing_mode: Mapped[str] = mapped_column(String(16), default="CONVERSATION")
    smart_conversation: Mapped[dict[str, Any]] = mapped_column(JSON)
    callback_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    delivery_report_based_fallback: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, nullable=True
    )
    message_retry_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    rate_limits: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Moves on every change (the console's live stream watches it); None before 0007.
    updated_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True, default=utcnow, onupdate=utcnow
    )


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(128), index=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    target: Mapped[str] = mapped_column(String(742))
    target_type: Mapped[str] = mapped_column(String(16), default="HTTP")
    secret: Mapped[str] = mapped_column(Text, default="")
    triggers: Mapped[list[str]] = mapped_column(JSON, default=list)
    client_credentials: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True, default=utcnow, onupdate=utcnow
    )


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(128), default="Unknown")
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    metadata_: Mapped[str | None] = mapped_column("metadata", Text, nullable=True)
    language: Mapped[str] = mapped_column(String(16), default="UNSPECIFIED")
    channel_priority: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_contacts_project_id_id", "project_id", "id"),
        Index("ix_contacts_project_id_external_id", "project_id", "external_id"),
    )


class ContactIdentity(Base):
    """One channel identity of a contact. `app_id` is "" for channels whose identities are
    not app-scoped, so the identity key `(channel, identity, app_id)` has no NULLs."""

    __tablename__ = "contact_identities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(128))
    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(32))
    identity: Mapped[str] = mapped_column(String(256))
    app_id: Mapped[str] = mapped_column(String(26), default="")
    position: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_contact_identities_lookup", "project_id", "channel", "identity"),
        Index("ix_contact_identities_identity", "project_id", "identity"),
    )


class ChannelProfile(Base):
    """A user's profile name as a channel reported it (filled by channel connectors)."""

    __tablename__ = "channel_profiles"

    project_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    app_id: Mapped[str] = mapped_column(String(26), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    identity: Mapped[str] = mapped_column(String(256), primary_key=True)
    profile_name: Mapped[str] = mapped_column(String(256))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LearnedChannelId(Base):
    """The app's own id on a channel whose credential does not name it, learned from the
    first verified webhook (Messenger's Page id, CHANNELS.md part 2 §1.7;
    `inbound/learned.py`). `credential_digest` is the SHA-256 of the credential part the id
    belongs to (the Page token): a credential saved with another one learns it again."""

    __tablename__ = "learned_channel_ids"

    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    native_id: Mapped[str] = mapped_column(String(256))
    credential_digest: Mapped[str] = mapped_column(String(64))
    learned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(128))
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    active_channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_received: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    metadata_: Mapped[str | None] = mapped_column("metadata", Text, nullable=True)
    metadata_json: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    correlation_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_conversations_project_id_app_id", "project_id", "app_id", "id"),
        Index("ix_conversations_project_id_contact_id", "project_id", "contact_id", "id"),
        # At most one active conversation per (app, contact): the database enforces it.
        Index(
            "uq_conversations_active_pair",
            "app_id",
            "contact_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )


class OutboxJob(Base):
    """A unit of asynchronous work, committed in the same transaction as the state that
    caused it (DESIGN.md, "Outbox"). `kind` names the handler; `payload` is its input.

    Jobs with the same `ordering_key` run one at a time, in id order (callbacks about one
    message reach a webhook in the order they happened). The integer id grows with every
    insert, so it orders jobs by creation."""

    __tablename__ = "outbox_jobs"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[str] = mapped_column(String(128))
    app_id: Mapped[str | None] = mapped_column(String(26), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedup_key: Mapped[str] = mapped_column(String(256), unique=True)
    ordering_key: Mapped[str | None] = mapped_column(String(256), nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # Claiming reads pending jobs in priority, then id, order: an index in that order.
        Index("ix_outbox_jobs_ready", "status", text("priority DESC"), "id"),
        Index("ix_outbox_jobs_leases", "status", "lease_until"),
        Index("ix_outbox_jobs_ordering", "ordering_key", "id"),
        Index("ix_outbox_jobs_app_kind", "app_id", "kind", "status"),
    )


class Message(Base):
    """A conversation message, either direction. Outbound ones carry what dispatch needs:
    the send options, the resolved candidates and which one is being tried."""

    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(128))
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    contact_id: Mapped[str | None] = mapped_column(String(26), nullable=True)
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), nullable=True
    )
    direction: Mapped[str] = mapped_column(String(16))
    processing_mode: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    identity: Mapped[str | None] = mapped_column(String(256), nullable=True)
    identity_app_id: Mapped[str] = mapped_column(String(26), default="")
    app_message: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    contact_message: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    metadata_: Mapped[str] = mapped_column("metadata", Text, default="")
    accept_time: Mapped[datetime] = mapped_column(UTCDateTime)
    sender_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    injected: Mapped[bool] = mapped_column(Boolean, default=False)
    # False for DISPATCH-mode messages of apps that keep none (dispatch ttl 0): they exist
    # only while their delivery is under way and are never listed.
    listed: Mapped[bool] = mapped_column(Boolean, default=True)
    correlation_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    callback_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    send_options: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(32), default="QUEUED")
    reason: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    candidates: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    candidate_index: Mapped[int] = mapped_column(Integer, default=0)
    # The numbered options of a text rendering (SMS), so a typed reply maps to a choice.
    reply_options: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    # When transient failures on the current candidate started (the retry window).
    retry_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expire_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_messages_project_accept", "project_id", "processing_mode", "accept_time"),
        Index("ix_messages_conversation_accept", "conversation_id", "accept_time"),
        Index("ix_messages_contact_accept", "contact_id", "accept_time"),
        Index("ix_messages_identity", "project_id", "identity"),
        # An identity's traffic with one app on one channel: sending windows, typed replies
        # to a choice, watermark reports.
        Index(
            "ix_messages_app_identity", "app_id", "identity", "channel", "direction", "accept_time"
        ),
        Index("ix_messages_expiry", "app_id", "accept_time"),
    )


class MessageStatus(Base):
    """Every status a message passed through, with the channel and reason: its history."""

    __tablename__ = "message_statuses"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    identity: Mapped[str | None] = mapped_column(String(256), nullable=True)
    reason: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelMessageRef(Base):
    """A channel's own id for something chorus sent, so its reports find the message."""

    __tablename__ = "channel_message_refs"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    native_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    candidate_index: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationEvent(Base):
    __tablename__ = "conversation_events"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(128))
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    contact_id: Mapped[str | None] = mapped_column(String(26), nullable=True)
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), nullable=True
    )
    direction: Mapped[str] = mapped_column(String(16))
    processing_mode: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    identity: Mapped[str | None] = mapped_column(String(256), nullable=True)
    identity_app_id: Mapped[str] = mapped_column(String(26), default="")
    app_event: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    contact_event: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    contact_message_event: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    metadata_: Mapped[str] = mapped_column("metadata", Text, default="")
    accept_time: Mapped[datetime] = mapped_column(UTCDateTime)
    # As `Message.listed`: False for DISPATCH-mode events of apps that keep none.
    listed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    correlation_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    callback_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    send_options: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(32), default="QUEUED")
    reason: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (
        Index("ix_conversation_events_project_accept", "project_id", "accept_time"),
        Index("ix_conversation_events_conversation", "conversation_id", "accept_time"),
        Index("ix_conversation_events_contact", "contact_id", "accept_time"),
    )


class EventStatus(Base):
    """Every status an app event passed through, with the channel and reason: its history
    (as `MessageStatus` for messages)."""

    __tablename__ = "event_statuses"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(
        ForeignKey("conversation_events.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallbackDelivery(Base):
    """One callback to one target: the exact body, and where delivery stands."""

    __tablename__ = "callback_deliveries"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(26), index=True)  # x-chorus-event-id
    project_id: Mapped[str] = mapped_column(String(128))
    app_id: Mapped[str] = mapped_column(String(26))
    webhook_id: Mapped[str | None] = mapped_column(String(26), nullable=True)
    target: Mapped[str] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_callback_deliveries_webhook", "webhook_id", "id"),
        Index("ix_callback_deliveries_project", "project_id", "id"),
    )


class CallbackAttempt(Base):
    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("callback_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)


class RateBucket(Base):
    """A token bucket shared by every process on the database (rate limits)."""

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InboundRequest(Base):
    """A native channel request chorus refused or could not map, kept for inspection."""

    __tablename__ = "inbound_requests"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    project_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    app_id: Mapped[str] = mapped_column(String(26))
    channel: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))  # rejected|unmapped|ignored|duplicate
    detail: Mapped[str] = mapped_column(Text, default="")
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    body: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SeenInboundEvent(Base):
    """A channel event processed for an app, by the channel's own id of it (RBM `eventId`;
    Viber's event, message_token and user id), so that the channel delivering it again
    changes nothing. Kept while the channel may still retry (`retention.py`)."""

    __tablename__ = "seen_inbound_events"

    app_id: Mapped[str] = mapped_column(String(26), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SimulatedHandset(Base):
    """A handset of the built-in channel simulator (its settings)."""

    __tablename__ = "sim_handsets"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    identity: Mapped[str] = mapped_column(String(256), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SimulatedMessage(Base):
    """What a simulated handset received (or sent): the native request, in arrival order."""

    __tablename__ = "sim_inbox"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    identity: Mapped[str] = mapped_column(String(256))
    direction: Mapped[str] = mapped_column(String(16))  # received | sent
    native_id: Mapped[str] = mapped_column(String(256))
    text: Mapped[str] = mapped_column(Text, default="")
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(32), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_sim_inbox_handset", "channel", "identity", "id"),)


class Template(Base):
    """A stored template (v1 or v2). The whole template — translations, and for v2 every
    translation version ever stored — is one JSON document: templates are small, read
    whole, and written whole."""

    __tablename__ = "templates"

    project_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    api_version: Mapped[int] = mapped_column(Integer)  # 1 | 2
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    update_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectSettings(Base):
    """The optional settings document of a project (API.md Part A §6.1)."""

    __tablename__ = "project_settings"

    project_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    contact_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    update_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OptOut(Base):
    """An identity opted out of an app on one channel: sends there fail with
    RECIPIENT_NOT_OPTED_IN. Opting in deletes the row."""

    __tablename__ = "opt_outs"

    app_id: Mapped[str] = mapped_column(String(26), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    identity: Mapped[str] = mapped_column(String(256), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(128))
    origin: Mapped[str] = mapped_column(String(16))  # ORIGIN_API | ORIGIN_MO
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentEntry(Base):
    """An identity on one of an app's consent lists (OPT_OUT_ALL, OPT_OUT_MARKETING,
    OPT_OUT_NOTIFICATION)."""

    __tablename__ = "consent_entries"
    __table_args__ = (Index("ix_consent_entries_list", "app_id", "list_type", "added_at"),)

    app_id: Mapped[str] = mapped_column(String(26), primary_key=True)
    list_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    identity: Mapped[str] = mapped_column(String(256), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(128))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentAuditRecord(Base):
    """Every change to a consent list, oldest first per identity."""

    __tablename__ = "consent_audit_records"
    __table_args__ = (Index("ix_consent_audit_identity", "app_id", "identity", "id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(128))
    app_id: Mapped[str] = mapped_column(String(26))
    identity: Mapped[str] = mapped_column(String(256))
    list_type: Mapped[str] = mapped_column(String(32))
    origin: Mapped[str] = mapped_column(String(16))  # ORIGIN_API | ORIGIN_MO
    operation: Mapped[str] = mapped_column(String(24))  # OPERATION_INSERT | _UPDATE | _DELETE
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SimulatedTemplate(Base):
    """A WhatsApp message template approved on a simulated business account: the
    simulator refuses template sends that name none (error 132001), as the Cloud API does."""

    __tablename__ = "sim_templates"

    account: Mapped[str] = mapped_column(String(128), primary_key=True)  # phone_number_id
    name: Mapped[str] = mapped_column(String(512), primary_key=True)
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    # Parameter counts per component, e.g. {"header": 1, "body": 2, "button[0]": 1}.
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
