"""POST /webhooks/clerk: verify the Svix signature on the raw body, record the delivery once, apply it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from loguru import logger
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from omni_mcp.admin import clerk, svix
from omni_mcp.admin.problems import ApiProblem
from omni_mcp.tenancy.service import ConfigError

if TYPE_CHECKING:
    from omni_mcp.runtime import Runtime

CLERK_PATH = "/webhooks/clerk"


def clerk_endpoint(runtime: Runtime) -> Any:
    async def receive(request: Request) -> Response:
        try:
            return await _receive(runtime, request)
        except ApiProblem as problem:
            return problem.response(request.url.path)

    return receive


async def _receive(runtime: Runtime, request: Request) -> Response:
    secret = runtime.settings.admin.clerk_webhook_secret
    if secret is None:
        raise ApiProblem(503, "Clerk webhooks are not configured here (admin.clerk_webhook_secret)")
    body = await request.body()
    headers = request.headers
    message_id = headers.get("svix-id")
    try:
        svix.verify(
            secret.get_secret_value(),
            message_id,
            headers.get("svix-timestamp"),
            headers.get("svix-signature"),
            body,
        )
    except svix.BadSignature as error:
        logger.warning("Clerk webhook refused: {}", error)
        raise ApiProblem(400, f"signature refused: {error}", field="svix-signature") from None
    assert message_id is not None
    try:
        event = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise ApiProblem(400, "the body is not JSON", field="body") from None
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("type"), str)
        or not isinstance(event.get("data"), dict)
    ):
        raise ApiProblem(400, "a Clerk event has a string 'type' and an object 'data'", field="body")
    event_type: str = event["type"]
    engine = runtime.engine
    if not await anyio.to_thread.run_sync(clerk.claim, engine, message_id, event_type, event):
        return JSONResponse({"status": "duplicate", "id": message_id})
    events = clerk.ClerkEvents(runtime.tenancy, runtime.settings.auth)
    try:
        outcome = await anyio.to_thread.run_sync(events.apply, event_type, event["data"])
    except (clerk.MalformedEvent, ConfigError) as error:
        await anyio.to_thread.run_sync(clerk.mark_processed, engine, message_id)  # retrying cannot help
        logger.warning("Clerk event {} ({}) not applied: {}", message_id, event_type, error)
        raise ApiProblem(422, f"event not applied: {error}", field="data") from None
    except Exception:
        await anyio.to_thread.run_sync(clerk.release, engine, message_id)  # let Svix's retry apply it
        raise
    await anyio.to_thread.run_sync(clerk.mark_processed, engine, message_id)
    logger.info("Clerk event {} ({}): {}", message_id, event_type, outcome)
    return JSONResponse({"status": "applied", "id": message_id, "outcome": outcome})
