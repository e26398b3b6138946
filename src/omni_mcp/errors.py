"""Errors the core raises on purpose, with messages meant for the person running omni-mcp."""

from __future__ import annotations


class StartupError(Exception):
    """The server cannot start; the message says why and what to do (no traceback is shown)."""
