"""Audit records: every configuration change, and (later) every call."""
