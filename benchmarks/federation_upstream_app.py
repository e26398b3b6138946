"""The upstream of federation_latency.py: an official-SDK MCPServer with one echo tool, as an ASGI app.

uvicorn --factory federation_upstream_app:create_app --port PORT
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer


def create_app() -> Any:
    server = MCPServer("bench-upstream")

    @server.tool()
    def echo(text: str) -> str:
        """Say the text back."""
        return text

    return server.streamable_http_app(host="127.0.0.1")
