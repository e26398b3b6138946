"""Reports whether the database answers, as part of /health."""

from __future__ import annotations

import anyio.to_thread
from sqlalchemy import text

from omni_mcp.health import Health
from omni_mcp.hookspecs import hookimpl
from omni_mcp.runtime import Runtime


@hookimpl
async def health_check(runtime: Runtime) -> Health:
    def ping() -> None:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        # Abandon on cancel: the runtime's health timeout must not wait for a hung connect.
        await anyio.to_thread.run_sync(ping, abandon_on_cancel=True)
    except Exception as error:  # reported, not raised: /health must answer even when the database does not
        return Health("unhealthy", f"database unreachable: {type(error).__name__}")
    return Health()
