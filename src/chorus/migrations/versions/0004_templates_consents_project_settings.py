"""templates, consents, project settings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 15:15:57.793919
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chorus.kit.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_audit_records",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("project_id", sa.String(length=128), nullable=False),
        sa.Column("app_id", sa.String(length=26), nullable=False),
        sa.Column("identity", sa.String(length=256), nullable=False),
        sa.Column("list_type", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("operation", sa.String(length=24), nullable=False),
        sa.Column("recorded_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_audit_records")),
    )
    with op.batch_alter_table("consent_audit_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consent_audit_identity", ["app_id", "identity", "id"], unique=False
        )

    op.create_table(
        "consent_entries",
        sa.Column("app_id", sa.String(length=26), nullable=False),
        sa.Column("list_type", sa.String(length=32), nullable=False),
        sa.Column("identity", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=128), nullable=False),
        sa.Column("added_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "list_type", "identity", name=op.f("pk_consent_entries")),
    )
    with op.batch_alter_table("consent_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consent_entries_list", ["app_id", "list_type", "added_at"], unique=False
        )

    op.create_table(
        "opt_outs",
        sa.Column("app_id", sa.String(length=26), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("identity", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=128), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "channel", "identity", name=op.f("pk_opt_outs")),
    )
    op.create_table(
        "project_settings",
        sa.Column("project_id", sa.String(length=128), nullable=False),
        sa.Column("contact_settings", sa.JSON(), nullable=False),
        sa.Column("create_time", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("update_time", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_project_settings")),
    )
    op.create_table(
        "sim_templates",
        sa.Column("account", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", "name", "language", name=op.f("pk_sim_templates")),
    )
    op.create_table(
        "templates",
        sa.Column("project_id", sa.String(length=128), nullable=False),
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("api_version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("create_time", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("update_time", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_templates")),
    )


def downgrade() -> None:
    op.drop_table("templates")
    op.drop_table("sim_templates")
    op.drop_table("project_settings")
    op.drop_table("opt_outs")
    with op.batch_alter_table("consent_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_entries_list")

    op.drop_table("consent_entries")
    with op.batch_alter_table("consent_audit_records", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_audit_identity")

    op.drop_table("consent_audit_records")
