"""Migrations match the models and go down and up cleanly, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from omni_mcp.db import migrate
from omni_mcp.db.engine import create_db_engine
from omni_mcp.db.metadata import target_metadata
from omni_mcp.settings import DatabaseSettings


def test_migrations_build_exactly_the_models_and_downgrade_cleanly(omni_database_url: str) -> None:
    engine = create_db_engine(DatabaseSettings(url=omni_database_url))
    migrate.upgrade(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), target_metadata) == []
    tables = set(inspect(engine).get_table_names())
    assert set(target_metadata.tables) <= tables

    script = ScriptDirectory.from_config(migrate.alembic_config(engine))
    revisions = [r.revision for r in script.walk_revisions()]
    for revision in revisions[1:]:  # step down one revision at a time, then all the way
        migrate.downgrade(engine, revision)
        assert migrate.current_revision(engine) == revision
    migrate.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    engine.dispose()


def test_an_empty_database_is_detected(omni_database_url: str) -> None:
    engine = create_engine(omni_database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    assert migrate.is_empty(engine)
    migrate.upgrade(engine, "0001")
    assert not migrate.is_empty(engine)
    assert migrate.current_revision(engine) == "0001"
    engine.dispose()
