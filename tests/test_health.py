"""/health: version, uptime, and each plugin's health, with unhealthy plugins isolated."""

from __future__ import annotations

import httpx

from omni_mcp.testing import RunningGateway


def test_health_reports_each_plugin(gateway: RunningGateway) -> None:
    response = httpx.get(gateway.base_url + "/health")
    body = response.json()
    # A failing plugin degrades the gateway but the core still serves: 200, not 503.
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["version"]
    assert body["uptime_seconds"] >= 0
    plugins = body["plugins"]
    assert plugins["demo"]["status"] == "healthy" and plugins["demo"]["serving"] is True
    assert plugins["broken"]["status"] == "unhealthy" and plugins["broken"]["serving"] is False
    assert plugins["broken"]["detail"] == "startup failed: ConnectionError: upstream unreachable"
    assert plugins["sick"] == {
        "status": "unhealthy",
        "version": "0",
        "detail": "token expired",
        "serving": True,
    }
    assert plugins["omni_mcp.default_plugins.database"]["status"] == "healthy"


def test_the_server_registry_records_versions_and_health_changes(gateway: RunningGateway) -> None:
    from sqlmodel import Session, select

    from omni_mcp.db.models import McpServer

    httpx.get(gateway.base_url + "/health")  # the sick plugin's health is learned on the first check
    with Session(gateway.app.state.runtime.engine) as session:
        rows = {row.name: row for row in session.exec(select(McpServer)).all()}
    assert set(rows) == {"demo", "broken", "sick"}  # core plugins are not MCP servers
    assert (rows["demo"].health, rows["demo"].version) == ("healthy", "0")
    assert rows["broken"].health == "unhealthy"
    assert rows["broken"].health_detail == "startup failed: ConnectionError: upstream unreachable"
    assert (rows["sick"].health, rows["sick"].health_detail) == ("unhealthy", "token expired")


def test_health_is_503_when_the_database_is_gone(serve_gateway, omni_settings) -> None:  # type: ignore[no-untyped-def]
    running = serve_gateway()
    healthy = httpx.get(running.base_url + "/health")
    assert healthy.status_code == 200 and healthy.json()["status"] == "healthy"
    # Pull the database out from under the running server.
    running.app.state.runtime.engine.dispose()
    url = omni_settings.database.url
    if url.startswith("sqlite"):
        import pathlib

        folder = pathlib.Path(url.removeprefix("sqlite:///")).parent
        hidden = folder.with_name(folder.name + "-moved")
        folder.rename(hidden)  # the file cannot be opened (nor silently re-created) any more
        try:
            response = httpx.get(running.base_url + "/health")
        finally:
            hidden.rename(folder)
    else:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        target = make_url(url)
        admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{target.database}" WITH ALLOW_CONNECTIONS false'))
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": target.database},
            )
        try:
            response = httpx.get(running.base_url + "/health")
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'ALTER DATABASE "{target.database}" WITH ALLOW_CONNECTIONS true'))
            admin.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["plugins"]["omni_mcp.default_plugins.database"]["detail"].startswith("database unreachable")
