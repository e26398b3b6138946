"""The SQLite change watcher against a real database file: it reports what other connections committed,
by organization, and not what this process committed itself (that was invalidated at once)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine

from omni_mcp.config.invalidation import ChangeBroadcast
from omni_mcp.config.sqlite_watch import ALL_ORGANIZATIONS, SqliteChangeWatcher
from omni_mcp.db import migrate
from omni_mcp.db.engine import create_db_engine
from omni_mcp.security.secrets import SecretBox
from omni_mcp.settings import DatabaseSettings
from omni_mcp.tenancy.service import TenancyService


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    """Two engines on one file: this process's and another process's (the CLI)."""
    settings = DatabaseSettings(url=f"sqlite:///{tmp_path / 'watched.db'}")
    ours, theirs = create_db_engine(settings), create_db_engine(settings)
    migrate.upgrade(ours)
    yield ours, theirs
    ours.dispose()
    theirs.dispose()


def tenancy(engine: Engine, broadcast: ChangeBroadcast | None = None) -> TenancyService:
    box = SecretBox([Fernet.generate_key()])
    return TenancyService(engine, box, {}, announce=broadcast.announce if broadcast else None)


def test_reports_other_connections_changes_by_organization_and_skips_our_own(
    engines: tuple[Engine, Engine],
) -> None:
    ours, theirs = engines
    broadcast = ChangeBroadcast(ours)
    assert broadcast.watches_sqlite and broadcast.sqlite_file is not None
    watcher = SqliteChangeWatcher(broadcast.sqlite_file, ours=broadcast.own_changes.take)
    watcher._open()
    ours_service, their_service = tenancy(ours, broadcast), tenancy(theirs)

    assert watcher.changed_organizations() == []
    ours_service.create_organization("acme", actor="test")
    ours_service.add_member("acme", "u1", "member", actor="test")
    assert watcher.changed_organizations() == []  # this process invalidated those itself

    their_service.create_organization("globex", actor="cli")
    their_service.add_member("globex", "u2", "admin", actor="cli")
    their_service.add_member("acme", "u3", "admin", actor="cli")
    assert watcher.changed_organizations() == ["globex", "acme"]
    assert watcher.changed_organizations() == []  # each change once

    their_service.rename_organization("globex", "globex-2", actor="cli")
    assert watcher.changed_organizations() == [ALL_ORGANIZATIONS]  # entries cached under the old slug go
    their_service.delete_organization("acme", actor="cli")
    assert watcher.changed_organizations() == [ALL_ORGANIZATIONS]


def test_a_redis_url_leaves_watching_to_redis(engines: tuple[Engine, Engine]) -> None:
    assert not ChangeBroadcast(engines[0], "redis://127.0.0.1:6379/6").watches_sqlite


def test_a_new_api_key_changes_nothing_cached(engines: tuple[Engine, Engine]) -> None:
    from omni_mcp.auth.api_keys import ApiKeyService

    ours, theirs = engines
    tenancy(theirs).create_organization("acme", actor="cli")
    watcher = SqliteChangeWatcher(str(ours.url.database))
    watcher._open()
    ApiKeyService(theirs).create("acme", role="member", actor="cli")
    assert watcher.changed_organizations() == []
