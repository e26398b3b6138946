"""Say clearly when the port to serve on is taken, before anything starts (uvicorn would only log it)."""

from __future__ import annotations

import errno
import socket

from omni_mcp.errors import StartupError


class PortInUse(StartupError):
    """Another program already listens on the port."""


def check_port_free(host: str, port: int) -> None:
    """Raise PortInUse (suggesting --port) when `host:port` cannot be bound because it is taken."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is fine
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(
                    f"port {port} on {host} is already in use (another omni-mcp?); "
                    f"choose another with --port, e.g. --port {port + 1}"
                ) from None
            raise StartupError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
