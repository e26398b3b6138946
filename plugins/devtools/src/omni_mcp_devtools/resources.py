"""Resources: the caller's browser state, the organization's check results, and large artefacts."""

from __future__ import annotations

import base64
import json
import re

import mcp.types as types

from omni_mcp import CallContext, Resource, ResourceNotFound, ResourceTemplate
from omni_mcp_devtools import results
from omni_mcp_devtools.artefacts import ARTEFACT_URI
from omni_mcp_devtools.browser import browsers

_KEY = re.compile(r"^[0-9a-f]{32}$")


async def read_state(ctx: CallContext) -> str:
    """The browser, and the caller's own contexts with their pages (nobody else's)."""
    found = browsers()
    own = found.sessions_of(ctx.actor.organization, ctx.actor.id)
    return json.dumps(
        {
            # Only what is the browser's own: counts across organizations are nobody's business here.
            "browser": {key: found.state()[key] for key in ("running", "version", "launches")},
            "contexts": [session.describe() for session in own],
        },
        indent=2,
        default=str,
    )


async def read_results(ctx: CallContext) -> str:
    records = await results.recent(ctx)
    passed = sum(1 for r in records if r.get("passed"))
    return json.dumps(
        {
            "organization": ctx.actor.organization,
            "total": len(records),
            "passed": passed,
            "failed": len(records) - passed,
            "results": [r | {"uri": results.result_uri(str(r.get("id")))} for r in records],
        },
        indent=2,
    )


async def read_result(ctx: CallContext, id: str) -> str:
    record = await results.get(ctx, id) if _KEY.match(id) else None
    if record is None:
        raise ResourceNotFound(f"Resource not found: {results.result_uri(id)}")
    return json.dumps(record, indent=2)


async def read_artefact(ctx: CallContext, id: str) -> types.TextResourceContents | types.BlobResourceContents:
    artefact = browsers().artefacts.get(ctx.actor.organization, ctx.actor.id, id)
    if artefact is None:
        raise ResourceNotFound(f"Resource not found: {ARTEFACT_URI}{id}")
    if artefact.mime_type.startswith("text/") or artefact.mime_type == "application/json":
        text = artefact.data.decode("utf-8", errors="replace")
        return types.TextResourceContents(uri=artefact.uri, mime_type=artefact.mime_type, text=text)
    blob = base64.b64encode(artefact.data).decode("ascii")
    return types.BlobResourceContents(uri=artefact.uri, mime_type=artefact.mime_type, blob=blob)


RESOURCES: list[Resource | ResourceTemplate] = [
    Resource(
        "devtools://state",
        "state",
        description="Your browser contexts and their pages, and the browser's own state",
        mime_type="application/json",
        read=read_state,
        title="Browser state",
    ),
    Resource(
        "devtools://results",
        "results",
        description="This organization's check results (verify_* tools), newest first",
        mime_type="application/json",
        read=read_results,
        title="Browser test results",
    ),
    ResourceTemplate(
        "devtools://results/{id}",
        "result",
        read=read_result,
        description="One check result in full",
        mime_type="application/json",
        title="A browser test result",
    ),
    ResourceTemplate(
        "devtools://artefacts/{id}",
        "artefact",
        read=read_artefact,
        description="A screenshot, PDF, trace, storage state or full body made by one of your calls",
        mime_type="application/octet-stream",
        title="Browser artefact",
    ),
]
