"""the app's own id on a channel, learned from its first verified webhook

Revision ID: 0010_learned_channel_ids
Revises: 0009_seen_inbound_events
Create Date: 2026-11-28 09:00:00

Messenger's credential (a Page token) does not name its Page: chorus keeps the Page id of the
first verified webhook, per app and channel, and ignores other Pages' events from then on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chorus.kit.db

revision: str = "0010_learned_channel_ids"
down_revision: str | None = "0009_seen_inbound_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learned_channel_ids",
        sa.Column("app_id", sa.String(length=26), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("native_id", sa.String(length=256), nullable=False),
        sa.Column("credential_digest", sa.String(length=64), nullable=False),
        sa.Column("learned_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name=op.f("fk_learned_channel_ids_app_id_apps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("app_id", "channel", name=op.f("pk_learned_channel_ids")),
    )


def downgrade() -> None:
    op.drop_table("learned_channel_ids")
