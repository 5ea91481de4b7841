"""apps and webhooks record when they last changed

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chorus.kit.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("apps", "webhooks"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("updated_at", chorus.kit.db.UTCDateTime(timezone=True), nullable=True)
            )


def downgrade() -> None:
    for table in ("apps", "webhooks"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("updated_at")
