"""Migrations and database settings on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

import voxhub.db.models  # noqa: F401  (every table on the metadata)
from voxhub.db.base import Base
from voxhub.db.migrate import alembic_config, upgrade_to_head
from voxhub.db.session import create_engine


async def test_migrations_create_every_table_and_are_idempotent(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    await upgrade_to_head(engine)
    async with engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        version = (await conn.execute(text("select version_num from alembic_version"))).scalar()
        # The migrations build exactly what the models describe: nothing missing, nothing extra.
        drift = await conn.run_sync(
            lambda c: compare_metadata(
                MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
            )
        )
    await engine.dispose()
    assert set(Base.metadata.tables) <= tables
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert drift == []


async def test_sqlite_runs_with_wal_full_sync_and_foreign_keys(tmp_path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    async with engine.connect() as conn:
        pragmas = {
            name: (await conn.execute(text(f"PRAGMA {name}"))).scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    await engine.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 5000,
    }
