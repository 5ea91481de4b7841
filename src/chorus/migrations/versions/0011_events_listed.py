"""events of DISPATCH apps that keep none are not listed; events found by contact

Revision ID: 0011_events_listed
Revises: 0010_learned_channel_ids
Create Date: 2026-11-28 00:10:00

As for messages (`messages.listed`): a DISPATCH-mode event of an app whose
`dispatch_retention_policy.ttl_days` is 0 exists only while it is delivered, and is never
listed or read back. Events stored before were listed. The index serves the events list's
`contact_id` filter and a contact's deletion (its events outside any conversation go too).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_events_listed"
down_revision: str | None = "0010_learned_channel_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversation_events") as batch:
        batch.add_column(
            sa.Column("listed", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_index(
        "ix_conversation_events_contact", "conversation_events", ["contact_id", "accept_time"]
    )


def downgrade() -> None:
    op.drop_index("ix_conversation_events_contact", table_name="conversation_events")
    with op.batch_alter_table("conversation_events") as batch:
        batch.drop_column("listed")
