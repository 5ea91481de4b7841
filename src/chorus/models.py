"""The tables. All SQL lives in the domain repositories; these are the rows.

Relationships are not declared on purpose: every query is explicit in a repository.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from chorus.kit.clock import utcnow
from chorus.kit.db import Base, UTCDateTime
from chorus.kit.ids import new_id

ID = String(26)


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
    caused it (DESIGN.md, "Outbox"). `kind` names the handler; `payload` is its input."""

    __tablename__ = "outbox_jobs"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[str] = mapped_column(String(128))
    app_id: Mapped[str | None] = mapped_column(String(26), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedup_key: Mapped[str] = mapped_column(String(256), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_outbox_jobs_claim", "status", "run_after"),)
