"""The migrations build exactly the schema the models describe: a model changed without its
migration (or the reverse) fails here, not on somebody's database."""

import asyncio
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import chorus.models  # noqa: F401  (the models register their tables)
from chorus.kit.db import Base, connect
from chorus.store import migrate


def differences(path: Path) -> list[Any]:
    async def run() -> list[Any]:
        db = connect(f"sqlite+aiosqlite:///{path}")
        try:
            await migrate(db.write_engine)
            async with db.write_engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
                )
        finally:
            await db.dispose()

    return asyncio.run(run())


def test_the_migrated_schema_is_the_models_schema(tmp_path: Path) -> None:
    found = differences(tmp_path / "chorus.db")
    # Alembic cannot compare an index on an expression (`priority DESC`): it reports the
    # index as removed and added again under the same name. Only those pairs are forgiven.
    names = [(kind, diff.name) for kind, diff in (d for d in found if isinstance(d, tuple))]
    expression_indexes = {
        name for kind, name in names if kind == "add_index" and ("remove_index", name) in names
    }
    real = [
        d
        for d in found
        if not (
            isinstance(d, tuple)
            and d[0] in ("add_index", "remove_index")
            and d[1].name in expression_indexes
        )
    ]
    assert real == []
