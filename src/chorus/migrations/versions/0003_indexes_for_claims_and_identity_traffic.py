"""indexes for claims and identity traffic

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 14:19:15.650306
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_jobs_ready", "outbox_jobs", ["status", sa.text("priority DESC"), "id"]
    )
    op.create_index("ix_outbox_jobs_leases", "outbox_jobs", ["status", "lease_until"])
    op.drop_index("ix_outbox_jobs_claim", table_name="outbox_jobs")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_app_identity",
            ["app_id", "identity", "channel", "direction", "accept_time"],
            unique=False,
        )


def downgrade() -> None:
    op.create_index("ix_outbox_jobs_claim", "outbox_jobs", ["status", "run_after"])
    op.drop_index("ix_outbox_jobs_leases", table_name="outbox_jobs")
    op.drop_index("ix_outbox_jobs_ready", table_name="outbox_jobs")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_app_identity")
