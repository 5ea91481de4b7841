"""send pipeline

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:50:31.688859
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chorus.kit.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "callback_deliveries",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("event_id", sa.String(length=26), nullable=False),
        sa.Column("project_id", sa.String(length=128), nullable=False),
        sa.Column("app_id", sa.String(length=26), nullable=False),
        sa.Column("webhook_id", sa.String(length=26), nullable=True),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("trigger", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_deliveries")),
    )
    with op.batch_alter_table("callback_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_callback_deliveries_event_id"), ["event_id"], unique=False
        )
        batch_op.create_index("ix_callback_deliveries_project", ["project_id", "id"], unique=False)
        batch_op.create_index("ix_callback_deliveries_webhook", ["webhook_id", "id"], unique=False)

    op.create_table(
        "inbound_requests",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("project_id", sa.String(length=128), nullable=True),
        sa.Column("app_id", sa.String(length=26), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_requests")),
    )
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_buckets")),
    )
    op.create_table(
        "sim_handsets",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("identity", sa.String(length=256), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "identity", name=op.f("pk_sim_handsets")),
    )
    op.create_table(
        "sim_inbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("identity", sa.String(length=256), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("native_id", sa.String(length=256), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sim_inbox")),
    )
    with op.batch_alter_table("sim_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_sim_inbox_handset", ["channel", "identity", "id"], unique=False)

    op.create_table(
        "callback_attempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("delivery_id", sa.String(length=26), nullable=False),
        sa.Column("attempted_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["callback_deliveries.id"],
            name=op.f("fk_callback_attempts_delivery_id_callback_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_attempts")),
    )
    with op.batch_alter_table("callback_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_callback_attempts_delivery_id"), ["delivery_id"], unique=False
        )

    op.create_table(
        "conversation_events",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("project_id", sa.String(length=128), nullable=False),
        sa.Column("app_id", sa.String(length=26), nullable=False),
        sa.Column("contact_id", sa.String(length=26), nullable=True),
        sa.Column("conversation_id", sa.String(length=26), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("processing_mode", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("identity", sa.String(length=256), nullable=True),
        sa.Column("identity_app_id", sa.String(length=26), nullable=False),
        sa.Column("app_event", sa.JSON(), nullable=True),
        sa.Column("contact_event", sa.JSON(), nullable=True),
        sa.Column("contact_message_event", sa.JSON(), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=False),
        sa.Column("accept_time", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("correlation_id", sa.String(length=128), nullable=True),
        sa.Column("callback_url", sa.Text(), nullable=True),
        sa.Column("send_options", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name=op.f("fk_conversation_events_app_id_apps"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_events_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_events")),
    )
    with op.batch_alter_table("conversation_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversation_events_conversation", ["conversation_id", "accept_time"], unique=False
        )
        batch_op.create_index(
            "ix_conversation_events_project_accept", ["project_id", "accept_time"], unique=False
        )

    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("project_id", sa.String(length=128), nullable=False),
        sa.Column("app_id", sa.String(length=26), nullable=False),
        sa.Column("contact_id", sa.String(length=26), nullable=True),
        sa.Column("conversation_id", sa.String(length=26), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("processing_mode", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("identity", sa.String(length=256), nullable=True),
        sa.Column("identity_app_id", sa.String(length=26), nullable=False),
        sa.Column("app_message", sa.JSON(), nullable=True),
        sa.Column("contact_message", sa.JSON(), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=False),
        sa.Column("accept_time", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sender_id", sa.String(length=256), nullable=True),
        sa.Column("injected", sa.Boolean(), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("correlation_id", sa.String(length=128), nullable=True),
        sa.Column("callback_url", sa.Text(), nullable=True),
        sa.Column("send_options", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.JSON(), nullable=True),
        sa.Column("candidates", sa.JSON(), nullable=True),
        sa.Column("candidate_index", sa.Integer(), nullable=False),
        sa.Column("reply_options", sa.JSON(), nullable=True),
        sa.Column("retry_since", chorus.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expire_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_messages_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_contact_accept", ["contact_id", "accept_time"], unique=False
        )
        batch_op.create_index(
            "ix_messages_conversation_accept", ["conversation_id", "accept_time"], unique=False
        )
        batch_op.create_index("ix_messages_expiry", ["app_id", "accept_time"], unique=False)
        batch_op.create_index("ix_messages_identity", ["project_id", "identity"], unique=False)
        batch_op.create_index(
            "ix_messages_project_accept",
            ["project_id", "processing_mode", "accept_time"],
            unique=False,
        )

    op.create_table(
        "channel_message_refs",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("native_id", sa.String(length=256), nullable=False),
        sa.Column("message_id", sa.String(length=26), nullable=False),
        sa.Column("candidate_index", sa.Integer(), nullable=False),
        sa.Column("created_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_channel_message_refs_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel", "native_id", name=op.f("pk_channel_message_refs")),
    )
    op.create_table(
        "message_statuses",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("message_id", sa.String(length=26), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("identity", sa.String(length=256), nullable=True),
        sa.Column("reason", sa.JSON(), nullable=True),
        sa.Column("at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_statuses_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_statuses")),
    )
    with op.batch_alter_table("message_statuses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_statuses_message_id"), ["message_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("message_statuses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_statuses_message_id"))

    op.drop_table("message_statuses")
    op.drop_table("channel_message_refs")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_project_accept")
        batch_op.drop_index("ix_messages_identity")
        batch_op.drop_index("ix_messages_expiry")
        batch_op.drop_index("ix_messages_conversation_accept")
        batch_op.drop_index("ix_messages_contact_accept")

    op.drop_table("messages")
    with op.batch_alter_table("conversation_events", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_events_project_accept")
        batch_op.drop_index("ix_conversation_events_conversation")

    op.drop_table("conversation_events")
    with op.batch_alter_table("callback_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callback_attempts_delivery_id"))

    op.drop_table("callback_attempts")
    with op.batch_alter_table("sim_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_sim_inbox_handset")

    op.drop_table("sim_inbox")
    op.drop_table("sim_handsets")
    op.drop_table("rate_buckets")
    op.drop_table("inbound_requests")
    with op.batch_alter_table("callback_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_deliveries_webhook")
        batch_op.drop_index("ix_callback_deliveries_project")
        batch_op.drop_index(batch_op.f("ix_callback_deliveries_event_id"))

    op.drop_table("callback_deliveries")
