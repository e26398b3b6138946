"""A Linear client for the organization a call comes from, built from that organization's settings
only, and Linear's failures turned into tool errors that say what to do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from omni_mcp import CallContext, ToolError
from omni_mcp_linear.client import (
    Credential,
    LinearAuthError,
    LinearClient,
    LinearError,
    LinearForbiddenError,
    RetryPolicy,
)
from omni_mcp_linear.settings import LinearSettings


def settings_of(ctx: CallContext) -> LinearSettings:
    """This organization's settings, or a tool error telling an admin what to set."""
    org = ctx.actor.organization
    fix = f"An admin can set it with: omni-mcp service set {org} linear api_key=<Linear personal API key>"
    if ctx.settings is None:
        reason = ctx.settings_error or "no settings are stored"
        raise ToolError(f"Linear is not configured for organization '{org}' ({reason}). {fix}")
    if not isinstance(ctx.settings, LinearSettings):  # the core validated them with our own model
        raise ToolError(f"Linear settings of organization '{org}' are not the Linear plugin's settings")
    if ctx.settings.api_key is None and ctx.settings.oauth_token is None:
        raise ToolError(
            f"Linear is not configured for organization '{org}': no API key is set. {fix} "
            "(create one in Linear under Settings > Security & access), or oauth_token=<OAuth access token>."
        )
    return ctx.settings


def client_for(settings: LinearSettings, ctx: CallContext) -> LinearClient:
    if settings.oauth_token is not None:
        credential = Credential(settings.oauth_token, bearer=True)
    else:
        assert settings.api_key is not None
        credential = Credential(settings.api_key)

    def on_retry(number: int, delay: float, reason: str) -> None:
        ctx.logger.warning("linear: {}; retry {} in {:.2f} s", reason, number, delay)

    return LinearClient(
        credential,
        base_url=settings.base_url,
        timeout=settings.timeout_seconds,
        retry=RetryPolicy(
            max_retries=settings.max_retries,
            backoff=settings.retry_backoff_seconds,
            max_wait=settings.max_retry_wait_seconds,
        ),
        on_retry=on_retry,
    )


@asynccontextmanager
async def linear(ctx: CallContext) -> AsyncIterator[tuple[LinearClient, LinearSettings]]:
    """`async with linear(ctx) as (client, settings)`: Linear errors leave as ToolError."""
    settings = settings_of(ctx)
    org = ctx.actor.organization
    client = client_for(settings, ctx)
    try:
        yield client, settings
    except LinearAuthError as error:
        raise ToolError(
            f"{error}. The Linear credential of organization '{org}' is invalid, expired or revoked; "
            f"an admin should set a valid one: omni-mcp service set {org} linear api_key=<personal API key>"
        ) from None
    except LinearForbiddenError as error:
        raise ToolError(
            f"{error}. The Linear credential of organization '{org}' lacks this permission."
        ) from None
    except LinearError as error:
        raise ToolError(str(error)) from None
    finally:
        await client.aclose()
