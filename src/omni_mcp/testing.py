"""Helpers and pytest fixtures for testing omni-mcp and its plugins against a real server.

Installed as a pytest plugin (entry point pytest11), so plugin authors get the fixtures without setup:
`omni_settings` (a fresh database per test) and `serve_gateway` (start a real uvicorn server).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
import pytest
import uvicorn
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from omni_mcp.app import create_app
from omni_mcp.runtime import Runtime
from omni_mcp.settings import Settings
from omni_mcp.tenancy.service import TenancyService

T = TypeVar("T")
TEST_DATABASE_ENV = "OMNI_MCP_TEST_DATABASE_URL"
TEST_ENCRYPTION_KEY = Fernet.generate_key().decode()


@dataclass(frozen=True)
class RunningGateway:
    base_url: str
    settings: Settings
    app: Any

    @property
    def mcp_url(self) -> str:
        return self.base_url + self.settings.gateway.path

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    def configure(self, change: Callable[[TenancyService], T]) -> T:
        """Run a configuration change as the server would: in a worker thread of its event loop, so the
        cache is invalidated and connected clients are notified before this returns."""
        loop: asyncio.AbstractEventLoop = self.app.state.loop
        tenancy = self.runtime.tenancy
        future = asyncio.run_coroutine_threadsafe(anyio.to_thread.run_sync(change, tenancy), loop)
        return future.result(timeout=30)

    def set_plugin_settings(self, organization: str, plugin: str, values: dict[str, Any]) -> dict[str, Any]:
        """Give `organization` (created if new) these settings of `plugin`, merged into what it has and
        validated against the plugin's settings model, as an organization admin would; effective at once."""

        def change(tenancy: TenancyService) -> dict[str, Any]:
            tenancy.ensure_organization(organization, actor="test")
            return tenancy.set_service_settings(organization, plugin, values, actor="test")

        return self.configure(change)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serve_in_thread(
    settings: Settings, extra_plugins: Iterable[tuple[str, object]] = (), startup_timeout: float = 30.0
) -> Iterator[RunningGateway]:
    """Run the real application under uvicorn on loopback in a background thread."""
    port = free_port()
    settings = settings.model_copy(update={"server": settings.server.model_copy(update={"port": port})})
    app = create_app(settings, extra_plugins=extra_plugins)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"omni-mcp-test-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server failed to start (see the log above)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError("the test server did not start in time")
        time.sleep(0.02)
    try:
        yield RunningGateway(f"http://127.0.0.1:{port}", settings, app)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextlib.contextmanager
def fresh_database_url() -> Iterator[str]:
    """A database nobody else uses: a new SQLite file, or a new PostgreSQL database when
    $OMNI_MCP_TEST_DATABASE_URL names a server (it is dropped afterwards)."""
    server_url = os.environ.get(TEST_DATABASE_ENV)
    if not server_url:
        with tempfile.TemporaryDirectory(prefix="omni-mcp-test-") as folder:
            yield f"sqlite:///{Path(folder) / 'test.db'}"
        return
    url = make_url(server_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    name = f"omni_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_test_settings(database_url: str, **sections: dict[str, Any]) -> Settings:
    """Settings for tests: the given database, loopback, and no entry-point plugins unless allowed."""
    data: dict[str, Any] = {
        "database": {"url": database_url},
        "plugins": {"allow": []},
        # A key per test run: tests never touch the user's key file.
        "security": {"encryption_keys": [TEST_ENCRYPTION_KEY]},
        # Tests hammer one server from one caller; rate-limit tests turn this back on.
        "rate_limit": {"enabled": False},
        # Many servers share one test process: freezing its objects would keep every test's garbage.
        "server": {"freeze_gc": False},
    }
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return Settings.model_validate(data)


@pytest.fixture
def omni_database_url() -> Iterator[str]:
    """A fresh, empty database for one test (SQLite, or PostgreSQL via $OMNI_MCP_TEST_DATABASE_URL)."""
    with fresh_database_url() as url:
        yield url


@pytest.fixture
def omni_settings(omni_database_url: str) -> Settings:
    return make_test_settings(omni_database_url)


@pytest.fixture
def serve_gateway(omni_settings: Settings) -> Iterator[Callable[..., RunningGateway]]:
    """`serve_gateway(plugins=[("name", plugin)], settings=...)` starts a real server for this test."""
    with contextlib.ExitStack() as stack:

        def start(
            plugins: Iterable[tuple[str, object]] = (), settings: Settings | None = None
        ) -> RunningGateway:
            return stack.enter_context(serve_in_thread(settings or omni_settings, plugins))

        yield start
