"""events of DISPATCH apps that keep none are not listed

Revision ID: 0011_events_listed
Revises: 0010_learned_channel_ids
Create Date: 2026-11-28 00:10:00

As for messages (`messages.listed`): a DISPATCH-mode event of an app whose
`dispatch_retention_policy.ttl_days` is 0 exists only while it is delivered, and is never
listed or read back. Events stored before were listed.
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


def downgrade() -> None:
    with op.batch_alter_table("conversation_events") as batch:
        batch.drop_column("listed")
