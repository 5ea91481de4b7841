"""the channel events processed for each app, by the channel's id, to drop repeated deliveries

Revision ID: 0009_seen_inbound_events
Revises: 0008
Create Date: 2026-11-28 09:00:00

RBM retries an event it has no answer to for up to 7 days (CHANNELS.md part 1 §3.7), Viber
repeats callbacks (part 2 §3.7): the ids are kept a little longer than that, then swept.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chorus.kit.db

revision: str = "0009_seen_inbound_events"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seen_inbound_events",
        sa.Column("app_id", sa.String(length=26), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=256), nullable=False),
        sa.Column("seen_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "app_id", "channel", "event_id", name=op.f("pk_seen_inbound_events")
        ),
    )
    with op.batch_alter_table("seen_inbound_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_seen_inbound_events_seen_at"), ["seen_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("seen_inbound_events")
