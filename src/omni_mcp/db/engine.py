"""Create the SQLAlchemy engine for the configured URL (SQLite file by default, or PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import create_engine

from omni_mcp.settings import DatabaseSettings


def create_db_engine(settings: DatabaseSettings) -> Engine:
    url = make_url(settings.resolved_url())
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")  # psycopg 3, not the psycopg2 default
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            from pathlib import Path

            from omni_mcp.private_files import create_private_file, ensure_private_folder

            # Our default data folder when neither the URL nor the folder was chosen by the user.
            ours = settings.url is None and settings.data_dir is None
            ensure_private_folder(Path(url.database).parent, ours=ours)
            create_private_file(Path(url.database))  # 0600 before SQLite creates it 0644
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def describe_url(engine: Engine) -> str:
    """The database location, safe to print (no password)."""
    return engine.url.render_as_string(hide_password=True)
