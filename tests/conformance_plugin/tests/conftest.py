"""Fixtures for the conformance fixture's own tests (self-contained: the repository's tests/conftest.py
is not assumed to apply here)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
