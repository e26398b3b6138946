"""Protections in front of every route: Origin/Host checks and request size limits."""
