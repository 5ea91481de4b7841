"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 12:33:14.537579
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chorus.kit.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "apps",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("project_id", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("channel_credentials", sa.JSON(), nullable=False),
        sa.Column("conversation_metadata_report_view", sa.String(length=16), nullable=False),
        sa.Column("retention_policy", sa.JSON(), nullable=False),
        sa.Column("dispatch_retention_policy", sa.JSON(), nullable=False),
        sa.Column("processing_mode", sa.String(length=16), nullable=False),
        sa.Column("smart_conversation", sa.JSON(), nullable=False),
        sa.Column("callback_settings", sa.JSON(), nullable=True),
        sa.Column("delivery_report_based_fallback", sa.JSON(), nullable=True),
        sa.Column("message_retry_settings", sa.JSON(), nullable=True),
        sa.Column("rate_limits", sa.JSON(), nullable=False),
        sa.Column("created_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apps")),
    )
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_apps_project_id"), ["project_id"], unique=False)

    op.create_table(
        "channel_profiles",
        sa.Column("project_id", sa.String(length=128), nullable=False),
        sa.Column("app_id", sa.String(length=26), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("identity", sa.String(length=256), nullable=False),
        sa.Column("profile_name", sa.String(length=256), nullable=False),
        sa.Column("updated_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "project_id", "app_id", "channel", "identity", name=op.f("pk_channel_profiles")
        ),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("project_id", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("external_id", sa.String(length=128), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("channel_priority", sa.JSON(), nullable=False),
        sa.Column("created_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contacts_project_id_external_id", ["project_id", "external_id"], unique=False
        )
        batch_op.create_index("ix_contacts_project_id_id", ["project_id", "id"], unique=False)

    op.create_table(
        "outbox_jobs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=128), nullable=False),
        sa.Column("app_id", sa.String(length=26), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedup_key", sa.String(length=256), nullable=False),
        sa.Column("ordering_key", sa.String(length=256), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", chorus.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_jobs")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_outbox_jobs_dedup_key")),
    )
    with op.batch_alter_table("outbox_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_jobs_claim", ["status", "run_after"], unique=False)
        batch_op.create_index("ix_outbox_jobs_ordering", ["ordering_key", "id"], unique=False)
        batch_op.create_index("ix_outbox_jobs_app_kind", ["app_id", "kind", "status"], unique=False)

    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("created_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secrets")),
    )
    op.create_table(
        "access_keys",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("project_id", sa.String(length=128), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_access_keys_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_keys")),
    )
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_keys_project_id"), ["project_id"], unique=False)

    op.create_table(
        "contact_identities",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=128), nullable=False),
        sa.Column("contact_id", sa.String(length=26), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("identity", sa.String(length=256), nullable=False),
        sa.Column("app_id", sa.String(length=26), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_identities_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_identities")),
    )
    with op.batch_alter_table("contact_identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_identities_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            "ix_contact_identities_identity", ["project_id", "identity"], unique=False
        )
        batch_op.create_index(
            "ix_contact_identities_lookup", ["project_id", "channel", "identity"], unique=False
        )

    op.create_table(
        "conversations",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("project_id", sa.String(length=128), nullable=False),
        sa.Column("app_id", sa.String(length=26), nullable=False),
        sa.Column("contact_id", sa.String(length=26), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("active_channel", sa.String(length=32), nullable=True),
        sa.Column("last_received", chorus.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column("metadata_json", sa.JSON(), nullable=True),
        sa.Column("correlation_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_conversations_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_conversations_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversations_project_id_app_id", ["project_id", "app_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_conversations_project_id_contact_id",
            ["project_id", "contact_id", "id"],
            unique=False,
        )
        batch_op.create_index(
            "uq_conversations_active_pair",
            ["app_id", "contact_id"],
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )

    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("project_id", sa.String(length=128), nullable=False),
        sa.Column("app_id", sa.String(length=26), nullable=False),
        sa.Column("target", sa.String(length=742), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("triggers", sa.JSON(), nullable=False),
        sa.Column("client_credentials", sa.JSON(), nullable=True),
        sa.Column("created_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_webhooks_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhooks_app_id"), ["app_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_webhooks_project_id"), ["project_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhooks_project_id"))
        batch_op.drop_index(batch_op.f("ix_webhooks_app_id"))

    op.drop_table("webhooks")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_conversations_active_pair",
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )
        batch_op.drop_index("ix_conversations_project_id_contact_id")
        batch_op.drop_index("ix_conversations_project_id_app_id")

    op.drop_table("conversations")
    with op.batch_alter_table("contact_identities", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_identities_lookup")
        batch_op.drop_index("ix_contact_identities_identity")
        batch_op.drop_index(batch_op.f("ix_contact_identities_contact_id"))

    op.drop_table("contact_identities")
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_keys_project_id"))

    op.drop_table("access_keys")
    op.drop_table("server_secrets")
    op.drop_table("projects")
    with op.batch_alter_table("outbox_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_jobs_claim")
        batch_op.drop_index("ix_outbox_jobs_ordering")
        batch_op.drop_index("ix_outbox_jobs_app_kind")

    op.drop_table("outbox_jobs")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_project_id_id")
        batch_op.drop_index("ix_contacts_project_id_external_id")

    op.drop_table("contacts")
    op.drop_table("channel_profiles")
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apps_project_id"))

    op.drop_table("apps")
