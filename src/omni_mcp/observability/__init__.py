"""Logging with request ids, and health."""
