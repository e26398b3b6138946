"""Behaviour of the core written as ordinary plugins."""
