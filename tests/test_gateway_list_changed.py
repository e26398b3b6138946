"""Both eras advertise `listChanged` for tools, prompts and resources: the server does send the changes."""

from __future__ import annotations

import mcp
import pytest

from omni_mcp.testing import RunningGateway

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(("mode", "version"), [("legacy", "2025-11-25"), ("auto", "2026-07-28")])
async def test_list_changed_is_advertised(gateway: RunningGateway, mode: str, version: str) -> None:
    # "auto" asks server/discover, so the 2026-07-28 capabilities are the server's, not synthesized.
    async with mcp.Client(gateway.mcp_url, mode=mode) as client:
        assert client.protocol_version == version
        capabilities = client.server_capabilities
    assert capabilities.tools is not None and capabilities.tools.list_changed is True
    assert capabilities.prompts is not None and capabilities.prompts.list_changed is True
    assert capabilities.resources is not None and capabilities.resources.list_changed is True
