"""resting origins shared by processes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chorus.kit.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "resting_origins",
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=512), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("cool_down", sa.Float(), nullable=False),
        sa.Column("resting_until", chorus.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("role", "origin", name=op.f("pk_resting_origins")),
    )


def downgrade() -> None:
    op.drop_table("resting_origins")
