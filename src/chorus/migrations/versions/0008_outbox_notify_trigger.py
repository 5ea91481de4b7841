"""PostgreSQL: new outbox jobs wake listening workers from a trigger

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 06:10:00

Until now every transaction that queued a job also ran `SELECT pg_notify(...)`: one more
statement, with a round trip, three times a message end to end. The trigger sends the same
notification from inside the server, delivered as before only when the transaction commits
(and once per transaction: PostgreSQL folds identical notifications). SQLite has no NOTIFY:
its workers are woken in-process.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# `chorus.outbox.signals.CHANNEL`, written out: a migration must not change with the code.
CHANNEL = "chorus_outbox"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION chorus_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER outbox_jobs_notify AFTER INSERT ON outbox_jobs "
        "FOR EACH STATEMENT EXECUTE PROCEDURE chorus_outbox_notify()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER outbox_jobs_notify ON outbox_jobs")
    op.execute("DROP FUNCTION chorus_outbox_notify()")
