"""create_app(settings) -> the one Starlette application: gateway, health and plugin routes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Iterable

import anyio
import anyio.to_thread
from loguru import logger
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from omni_mcp.auth.actor_scope import ActorMiddleware
from omni_mcp.auth.mode import local_mode_enabled
from omni_mcp.db import migrate
from omni_mcp.db.engine import create_db_engine, describe_url
from omni_mcp.errors import StartupError
from omni_mcp.gateway.outage import DatabaseOutageGuard
from omni_mcp.gateway.permission_gate import PermissionGate
from omni_mcp.gateway.server import build_mcp_server
from omni_mcp.gateway.session_events import make_session_manager
from omni_mcp.gateway.sessions import SessionGuard, SessionLimits
from omni_mcp.observability.health import health_response
from omni_mcp.observability.request_id import RequestIdMiddleware
from omni_mcp.observability.startup_errors import StartupErrorMessages
from omni_mcp.observability.wiring import Observability
from omni_mcp.plugins import PluginHost, get_plugin_manager
from omni_mcp.ratelimit.limiter import RateLimitMiddleware
from omni_mcp.runtime import Runtime
from omni_mcp.security.body_limit import BodyLimitMiddleware
from omni_mcp.security.headers import SecurityHeadersMiddleware
from omni_mcp.security.key_check import check_stored_secrets
from omni_mcp.security.origin import LOOPBACK_HOST_PATTERNS, OriginMiddleware
from omni_mcp.settings import Settings


class DatabaseNotReady(StartupError):
    """The schema is missing or older than this version of omni-mcp needs."""


class GatewayEndpoint:
    """ASGI endpoint for /mcp; the permission gate and the SDK session manager behind it exist only
    while the app runs."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            response = JSONResponse({"error": "the gateway is starting or stopping"}, status_code=503)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(
    settings: Settings,
    *,
    plugins: PluginHost | None = None,
    extra_plugins: Iterable[tuple[str, object]] = (),
) -> Starlette:
    """Build the application. Plugins load now; they start (and the database is checked) in the lifespan."""
    host = plugins or get_plugin_manager(settings.plugins, extra_plugins=extra_plugins)
    runtime = Runtime(settings, host, create_db_engine(settings.database))
    endpoint = GatewayEndpoint()
    observability = Observability(settings, runtime)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        logger.info("database: {}", describe_url(runtime.engine))
        # Everything, start-up included, inside try: a failed start must still close its connections.
        try:
            await anyio.to_thread.run_sync(prepare_database, runtime)
            # Keys that cannot read the stored secrets (another process made its own key file): refuse.
            await anyio.to_thread.run_sync(
                check_stored_secrets, runtime.engine, runtime.secrets, runtime.secrets.source
            )
            await runtime.start()
            app.router.routes.extend(await _plugin_routes(runtime))
            server = build_mcp_server(runtime)
            manager = make_session_manager(
                settings.sessions,
                app=server,
                json_response=False,
                stateless=False,
                max_request_body_size=settings.gateway.max_body_bytes,
                session_idle_timeout=settings.gateway.session_idle_timeout,
                max_sessions=settings.gateway.max_sessions,
            )
            app.state.loop = asyncio.get_running_loop()
            observability.start(server)
            async with manager.run(), anyio.create_task_group() as background:
                # Other processes' configuration changes (PostgreSQL NOTIFY / Redis) invalidate our cache.
                background.start_soon(runtime.broadcast.listen, runtime.organization_changed)
                background.start_soon(runtime.auditor.run)
                background.start_soon(runtime.federation.run)  # organizations' upstream sessions
                # Plugin code that holds the event loop is logged by name (see omni_mcp.isolation).
                background.start_soon(runtime.plugins.runner.watchdog.watch)
                background.start_soon(observability.run)
                endpoint.app = sessions = SessionGuard(
                    DatabaseOutageGuard(
                        PermissionGate(
                            manager.handle_request, runtime=runtime, mcp_path=settings.gateway.path
                        ),
                        mcp_path=settings.gateway.path,
                    ),
                    limits=SessionLimits.from_settings(settings),
                    mcp_path=settings.gateway.path,
                    on_end=runtime.events.forget,
                )
                observability.open_sessions = lambda: len(sessions.sessions)
                background.start_soon(sessions.close_idle_sessions)
                _log_ready(runtime)
                if settings.server.freeze_gc:
                    # What start-up built lives as long as the process: keep the collector off it.
                    gc.collect()
                    gc.freeze()
                yield
                background.cancel_scope.cancel()
        finally:
            endpoint.app = None
            observability.close()
            await runtime.auditor.close()  # calls served so far are written before we go
            if runtime.rate_limiter is not None:
                await runtime.rate_limiter.close()
            await runtime.stop()
            runtime.engine.dispose()

    async def health(request: Request) -> JSONResponse:
        return await health_response(runtime, request)

    routes: list[BaseRoute] = [
        Route("/health", health, methods=["GET"]),
        Route(settings.gateway.path, endpoint, methods=["GET", "POST", "DELETE"]),
    ]
    middleware = _middleware(settings, runtime, observability)
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.observability = observability
    return app


MCP_HEADERS = ["mcp-session-id", "mcp-protocol-version", "mcp-method", "mcp-name", "last-event-id"]


def _middleware(settings: Settings, runtime: Runtime, observability: Observability) -> list[Middleware]:
    gateway = settings.gateway
    hosts = gateway.allowed_hosts or (list(LOOPBACK_HOST_PATTERNS) if settings.binds_loopback else [])
    middleware = [
        Middleware(StartupErrorMessages),
        Middleware(SecurityHeadersMiddleware),
        Middleware(RequestIdMiddleware),
        Middleware(
            OriginMiddleware,
            allowed_origins=gateway.allowed_origins,
            allowed_hosts=hosts,
            mcp_path=gateway.path,
        ),
        Middleware(BodyLimitMiddleware, max_bytes=gateway.max_body_bytes, mcp_path=gateway.path),
        *observability.middleware(),  # /metrics and HTTP statuses, before authentication
    ]
    if settings.cors.allow_origins:  # before authentication: preflight requests carry no credentials
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors.allow_origins,
                allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                allow_headers=["authorization", "content-type", "x-api-key", *MCP_HEADERS],
                expose_headers=["mcp-session-id", "www-authenticate", "retry-after", "x-request-id"],
                max_age=settings.cors.max_age,
            )
        )
    middleware.append(
        Middleware(
            ActorMiddleware,
            runtime=runtime,
            mcp_path=gateway.path,
            local_mode=local_mode_enabled(settings),  # a StartupError now if local mode is unsafe
        )
    )
    if runtime.rate_limiter is not None:
        middleware.append(
            Middleware(
                RateLimitMiddleware,
                limiter=runtime.rate_limiter,
                mcp_path=gateway.path,
                exempt=frozenset({"/health"}),
            )
        )
    return middleware


def prepare_database(runtime: Runtime) -> None:
    """Create the schema in an empty database (when allowed); refuse to serve on an outdated one."""
    engine = runtime.engine
    with migrate.migration_lock(engine):
        if migrate.is_empty(engine) and runtime.settings.database.auto_migrate:
            logger.info("empty database: creating the schema")
            migrate.upgrade(engine)
            return
    current, head = migrate.current_revision(engine), migrate.head_revision(engine)
    if current != head:
        raise DatabaseNotReady(
            f"the database schema is at revision {current or 'none'} but this omni-mcp needs {head}; "
            "run `omni-mcp db upgrade` first"
        )


async def _plugin_routes(runtime: Runtime) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    async for name, result, error in runtime.plugins.call_each("register_routes", runtime=runtime):
        if error is not None:
            logger.opt(exception=error).error("plugin {} could not register its routes", name)
            continue
        routes.extend(result or [])
    return routes


def _log_ready(runtime: Runtime) -> None:
    capabilities = runtime.capabilities
    logger.info(
        "serving {} tools, {} prompts, {} resources from {} plugins",
        len(capabilities.tools),
        len(capabilities.prompts),
        len(capabilities.resources) + len(capabilities.templates),
        sum(1 for state in runtime.states.values() if state.info.source != "core" and not state.withheld),
    )
    for name, state in runtime.states.items():
        if state.withheld:
            logger.error("plugin {} is not served: {}", name, state.health.detail)
