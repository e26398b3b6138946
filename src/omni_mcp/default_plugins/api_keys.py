"""API keys as a core plugin: resolves `Authorization: Bearer omk_...` and `X-API-Key` to the key's Actor.

Per application it keeps a verifier (cache of verified keys, last-use times) whose cache drops an
organization's keys whenever that organization changes anywhere (a revocation announces one), and
writes `last_used_at` in a batch every `auth.last_used_flush_seconds` and at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from dataclasses import dataclass, field

import anyio.to_thread
from loguru import logger
from starlette.requests import Request

from omni_mcp.auth.api_keys import ApiKeyService, ApiKeyVerifier, looks_like_api_key
from omni_mcp.auth.credentials import credential_of
from omni_mcp.auth.mode import local_mode_enabled
from omni_mcp.context import Actor
from omni_mcp.gateway.capabilities import CapabilityMap
from omni_mcp.hookspecs import hookimpl
from omni_mcp.runtime import Runtime


def api_key_service(runtime: Runtime) -> ApiKeyService:
    """The service that makes and revokes keys, announcing revocations like any configuration change."""
    weak = weakref.proxy(runtime)  # the per-runtime state below must not keep its runtime alive
    return ApiKeyService(
        runtime.engine,
        announce=runtime.broadcast.announce,
        after_commit=lambda slug: weak.configuration_committed(slug),
        known_names=lambda: served_names(weak.capabilities),
    )


def served_names(capabilities: CapabilityMap) -> dict[str, set[str]]:
    """What the installed plugins serve, by kind, to warn about allow-list names nothing serves."""
    resources = set(capabilities.resources) | set(capabilities.templates)
    servers = {owned.plugin for kind in (capabilities.tools, capabilities.prompts) for owned in kind.values()}
    servers |= {
        owned.plugin for kind in (capabilities.resources, capabilities.templates) for owned in kind.values()
    }
    return {
        "tool": set(capabilities.tools),
        "prompt": set(capabilities.prompts),
        "resource": resources,
        "server": servers,
    }


@dataclass
class KeyState:
    service: ApiKeyService
    verifier: ApiKeyVerifier
    flusher: asyncio.Task[None] | None = field(default=None, repr=False)


_states: weakref.WeakKeyDictionary[Runtime, KeyState] = weakref.WeakKeyDictionary()


def key_state(runtime: Runtime) -> KeyState:
    state = _states.get(runtime)
    if state is None:
        service = api_key_service(runtime)
        verifier = ApiKeyVerifier(service.lookup, ttl_seconds=runtime.settings.auth.api_key_cache_seconds)
        runtime.organization_listeners.append(verifier.invalidate)
        state = _states[runtime] = KeyState(service, verifier)
    return state


@hookimpl
async def actor_from_request(request: Request, runtime: Runtime) -> Actor | None:
    credential = credential_of(request.headers.raw)
    if credential is None:
        return None
    if credential.header == "authorization" and not looks_like_api_key(credential.value):
        return None  # a bearer token of another kind: the OIDC plugin's (or another plugin's)
    return await key_state(runtime).verifier.actor_for(credential.value)


@hookimpl
async def startup(runtime: Runtime) -> None:
    state = key_state(runtime)
    state.flusher = asyncio.get_running_loop().create_task(_flush_periodically(runtime, state))
    if not await anyio.to_thread.run_sync(state.service.any_exist):
        organization = runtime.settings.tenancy.default_organization
        how = (
            "clients on this machine need none (local mode); " if local_mode_enabled(runtime.settings) else ""
        )
        logger.info(
            "no API keys yet; {}to create one: omni-mcp apikey create {} --role admin",
            how,
            organization,
        )


@hookimpl
async def shutdown(runtime: Runtime) -> None:
    state = _states.get(runtime)
    if state is None:
        return
    if state.flusher is not None:
        state.flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await state.flusher
        state.flusher = None
    await _flush(state)


async def _flush_periodically(runtime: Runtime, state: KeyState) -> None:
    while True:
        await asyncio.sleep(runtime.settings.auth.last_used_flush_seconds)
        await _flush(state)


async def _flush(state: KeyState) -> None:
    used = state.verifier.take_used()
    if not used:
        return
    try:
        await anyio.to_thread.run_sync(state.service.record_use, used)
    except Exception as error:  # last-use times are a courtesy; never let them break serving
        logger.warning("could not record when API keys were last used: {}", type(error).__name__)
