"""Local mode: whether requests without credentials are the local owner of the default organization."""

from __future__ import annotations

from omni_mcp.errors import StartupError
from omni_mcp.settings import Settings


class LocalModeNotOnLoopback(StartupError):
    """auth.local_mode is on while the server binds an interface other machines can reach."""


def local_mode_enabled(settings: Settings) -> bool:
    """`auth.local_mode`, or when unset: on exactly when the server binds a loopback interface."""
    configured = settings.auth.local_mode
    if configured is None:
        return settings.binds_loopback
    if configured and not settings.binds_loopback:
        raise LocalModeNotOnLoopback(
            f"auth.local_mode lets anyone call without credentials, so it needs a loopback host "
            f"(127.0.0.1, localhost or ::1), not {settings.server.host}; drop --local / auth.local_mode"
        )
    return configured
