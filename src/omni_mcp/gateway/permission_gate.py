"""HTTP 403 with an `insufficient_scope` challenge for a call the caller's permissions do not cover.

The MCP authorization spec answers a request its credential does not cover with 403 and
`WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`, so that a client can ask its
authorization server for more. That status must be chosen before the MCP server answers (a
handshake-era answer is an SSE stream whose 200 goes out first), so the gate reads each POSTed
request and, for tools/call, prompts/get, resources/read and completion/complete, runs the same
`Visibility` checks the MCP handlers run again later (they stay: the gate sees only what it can parse).
A refused call is audited like any other. A tool the organization does not serve goes through, and
the MCP server answers "unknown" as it would for anyone: a 403 never confirms that a name exists.
"""

from __future__ import annotations

from typing import Any

from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_REQUEST
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from omni_mcp.auth.access import AccessControl
from omni_mcp.auth.actor_scope import actor_in
from omni_mcp.auth.resource_metadata import bearer_challenge, metadata_url
from omni_mcp.config.effective import OrgConfig, UnknownOrganization
from omni_mcp.context import Actor
from omni_mcp.gateway.call_audit import CallAudit
from omni_mcp.gateway.request_ids import SessionRequestIds
from omni_mcp.gateway.visibility import Visibility
from omni_mcp.runtime import Runtime
from omni_mcp.security.errors import send_error
from omni_mcp.security.request_body import JsonRpcRequest, parse_request, read_body, replay

AUDITED_KINDS = {"tools/call": "tool", "prompts/get": "prompt", "resources/read": "resource"}
GATED_METHODS = frozenset({*AUDITED_KINDS, "completion/complete"})


class PermissionGate:
    def __init__(self, app: ASGIApp, *, runtime: Runtime, mcp_path: str) -> None:
        self.app = app
        self.runtime = runtime
        self.mcp_path = mcp_path
        self.visibility = Visibility(AccessControl(runtime.plugins), runtime.capabilities)
        self.audit = CallAudit(runtime.auditor)
        self.request_ids = SessionRequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        actor = actor_in(scope)
        if actor is None or scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)  # bounded by the body-size limit in front of us
        if body is None:  # the client went away mid-body
            return
        request = parse_request(body)
        refusal = await self._refusal(actor, request) if request is not None else None
        if refusal is None:
            with self.request_ids.claimed(scope, request) as free:
                if free:
                    await self.app(scope, replay(body, receive), send)
                else:
                    assert request is not None
                    await self._refuse_duplicate(scope, receive, send, request)
            return
        assert request is not None
        await self._refuse(scope, receive, send, request, refusal)

    async def _refusal(self, actor: Actor, request: JsonRpcRequest) -> MCPError | None:
        if request.method not in GATED_METHODS:
            return None
        try:
            org = await self.runtime.org_configs.get(actor.organization)
        except UnknownOrganization:
            return None  # the MCP server says so, in its own words
        kind = AUDITED_KINDS.get(request.method)
        name = _name(request)
        if name is None:
            return None  # malformed params: the MCP server's validation error is clearer
        try:
            if kind is None:
                await self.visibility.check_completion(actor, org, *_completion_ref(request))
            else:
                await self._check(kind, actor, name, org)
        except MCPError as error:
            if kind is not None:
                arguments = request.params.get("arguments")
                audited = arguments if isinstance(arguments, dict) else None
                self.audit.refused(kind, name, actor, org, audited, error)
            return error
        return None

    async def _check(self, kind: str, actor: Actor, name: str, org: OrgConfig) -> None:
        if kind == "tool":
            await self.visibility.check_tool(actor, name, org)
        elif kind == "prompt":
            await self.visibility.check_prompt(actor, name, org)
        else:
            await self.visibility.check_resource(actor, name, org)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, request: JsonRpcRequest, refusal: MCPError
    ) -> None:
        data: Any = refusal.data
        needed = data.get("permission") if isinstance(data, dict) else None
        challenge = bearer_challenge(
            ("error", "insufficient_scope"),
            ("scope", needed if isinstance(needed, str) else None),
            ("resource_metadata", metadata_url(self.runtime.settings, Request(scope))),
            ("error_description", refusal.message),
        )
        await send_error(
            scope,
            receive,
            send,
            403,
            refusal.message,
            self.mcp_path,
            {"www-authenticate": challenge},
            code=refusal.code,
            read_request_id=False,
            request_id=request.id,
            data=data,
        )

    async def _refuse_duplicate(
        self, scope: Scope, receive: Receive, send: Send, request: JsonRpcRequest
    ) -> None:
        message = f"Request id {request.id!r} is already used by a request in progress in this session"
        await send_error(
            scope,
            receive,
            send,
            409,
            message,
            self.mcp_path,
            code=INVALID_REQUEST,
            read_request_id=False,
            request_id=request.id,
        )


def _name(request: JsonRpcRequest) -> str | None:
    if request.method == "completion/complete":
        return ""
    value = request.params.get("uri" if request.method == "resources/read" else "name")
    return value if isinstance(value, str) else None


def _completion_ref(request: JsonRpcRequest) -> tuple[str | None, str | None]:
    """(prompt name, resource template) a completion/complete names; what is malformed the SDK refuses."""
    ref = request.params.get("ref")
    if not isinstance(ref, dict):
        return None, None
    prompt, template = ref.get("name"), ref.get("uri")
    if ref.get("type") == "ref/prompt" and isinstance(prompt, str):
        return prompt, None
    if ref.get("type") == "ref/resource" and isinstance(template, str):
        return None, template
    return None, None
