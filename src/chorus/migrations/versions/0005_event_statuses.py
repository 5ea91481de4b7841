"""event status history

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 01:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chorus.kit.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_statuses",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=26), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.JSON(), nullable=True),
        sa.Column("at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["conversation_events.id"],
            name=op.f("fk_event_statuses_event_id_conversation_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_statuses")),
    )
    with op.batch_alter_table("event_statuses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_statuses_event_id"), ["event_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_statuses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_statuses_event_id"))

    op.drop_table("event_statuses")
