"""Fixtures of the Linear plugin's tests: the fake Linear API, and a clean slate for every test.

Self-contained: the repository's tests/conftest.py does not apply here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_linear import SCHEMA_MISSING_REASON, SCHEMA_PATH, FakeLinear, serve_fake_linear
from omni_mcp_linear.queries import ALL

ERAS = ["legacy", "2026-07-28"]
KNOWN_DOCUMENTS = {document.text for document in ALL}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=ERAS)
def era(request: pytest.FixtureRequest) -> str:
    """Run the test once per MCP protocol era: handshake (legacy) and 2026-07-28 (stateless)."""
    return str(request.param)


@pytest.fixture(scope="module")
def fake_linear_server() -> Iterator[FakeLinear]:
    """One fake Linear API per test module (servers pointed at it keep its URL)."""
    if not SCHEMA_PATH.is_file():
        pytest.skip(SCHEMA_MISSING_REASON)
    with serve_fake_linear() as fake:
        yield fake


@pytest.fixture
def fake_linear(fake_linear_server: FakeLinear) -> Iterator[FakeLinear]:
    """The fake with fresh data and switches; the test fails if any query it got was invalid."""
    fake = fake_linear_server
    fake.reset()
    yield fake
    rejected = list(fake.rejected)
    unlisted = {r.operation for r in fake.received if r.query and r.query not in KNOWN_DOCUMENTS}
    fake.reset()
    assert not rejected, f"the fake Linear API rejected queries the real API would reject: {rejected}"
    assert not unlisted, f"documents sent that are not in omni_mcp_linear.queries.ALL: {unlisted}"
