"""What a plugin handler is given about the call it serves: who asks, for which org, and a way back."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import mcp.types as types
from loguru import logger as _root_logger
from pydantic import BaseModel

if TYPE_CHECKING:
    from loguru import Logger
    from mcp.server.context import ServerRequestContext

    from omni_mcp.gateway.events import ChangeEvents
    from omni_mcp.storage.store import PluginStore

SettingsModel = TypeVar("SettingsModel", bound=BaseModel)

LOG_LEVELS: tuple[types.LoggingLevel, ...] = (
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
)


@dataclass(frozen=True)
class Actor:
    """The caller, as authentication resolved it. Never carries the caller's credential.

    `permissions` are the extra ones granted beyond the role's (see omni_mcp.auth.permissions).
    The `allowed_*` sets are an allow-list (API keys): once any is set, the caller reaches only the tools,
    prompts, resources (URIs or URI templates) and servers (plugins) they name; an unset one is empty then
    (see omni_mcp.auth.allow_list). All None: whatever the role allows.
    """

    id: str
    organization: str
    role: str = "member"
    permissions: frozenset[str] = frozenset()
    kind: str = "user"
    allowed_tools: frozenset[str] | None = None
    allowed_prompts: frozenset[str] | None = None
    allowed_resources: frozenset[str] | None = None
    allowed_servers: frozenset[str] | None = None

    @classmethod
    def local(cls, organization: str = "default") -> Actor:
        """The single user of an unauthenticated loopback install."""
        return cls(id="local", organization=organization, role="owner", kind="local")


@dataclass
class CallContext:
    """Passed to tool, prompt and resource handlers that ask for it (a parameter typed CallContext)."""

    plugin: str
    name: str
    actor: Actor
    request_id: str
    settings: BaseModel | None = None
    """This organization's validated settings of the plugin (None when they are missing or invalid)."""
    settings_error: str | None = None
    """Why `settings` is None, e.g. a required API key not set yet."""
    logger: Logger = field(default=_root_logger)
    sdk: ServerRequestContext[Any, Any] | None = field(default=None, repr=False)
    events: ChangeEvents | None = field(default=None, repr=False)
    store: PluginStore = field(kw_only=True, repr=False)
    """Records this plugin keeps for the calling organization (isolated from every other organization)."""
    input_responses: dict[str, Any] | None = None
    """2026-07-28 multi-round tools: the client's answers to the input requests of the previous round."""
    request_state: str | None = None
    """2026-07-28 multi-round tools: the state this tool returned last round (verified by the gateway)."""
    deadline: float | None = None
    """When the gateway stops this call (time.monotonic() clock); see time_remaining()."""

    def settings_as(self, model: type[SettingsModel]) -> SettingsModel:
        """This organization's settings of the plugin as `model` (the plugin's `settings_model`), or a
        ToolError telling the caller what is missing, e.g. a required API key not set yet."""
        if isinstance(self.settings, model):
            return self.settings
        from omni_mcp.capabilities.tools import ToolError  # that module imports this one

        if self.settings is not None:  # the plugin asked for a model other than the one it declared
            raise TypeError(
                f"{self.plugin}'s settings are a {type(self.settings).__name__}, not a {model.__name__}"
            )
        reason = self.settings_error or "none are stored"
        raise ToolError(
            f"The {self.plugin} settings of organization {self.actor.organization!r} are not usable: "
            f"{reason}. An organization admin sets them (omni-mcp service set, or the admin UI)."
        )

    def time_remaining(self) -> float | None:
        """Seconds left before the gateway's timeout stops this call, so upstream calls can stop first."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    async def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        """Send notifications/progress to the client, if it asked for progress on this request."""
        if self.sdk is not None:
            await self.sdk.session.report_progress(progress, total, message)

    async def log(self, level: types.LoggingLevel, data: Any, logger_name: str | None = None) -> None:
        """Send a log message to the client (notifications/message), scoped to this request."""
        if level not in LOG_LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}")
        if self.sdk is not None:
            await self.sdk.session.send_log_message(
                level, data, logger_name or self.plugin, related_request_id=self.sdk.request_id
            )

    async def sample(
        self, messages: list[types.SamplingMessage], max_tokens: int, **options: Any
    ) -> types.CreateMessageResult | types.CreateMessageResultWithTools:
        """Ask the client's model for a completion (handshake era; 2026-07-28 uses input_required results)."""
        sdk = self._require_sdk()
        result: (
            types.CreateMessageResult | types.CreateMessageResultWithTools
        ) = await sdk.session.create_message(
            messages, max_tokens=max_tokens, related_request_id=sdk.request_id, **options
        )
        return result

    async def elicit(self, message: str, requested_schema: types.ElicitRequestedSchema) -> types.ElicitResult:
        """Ask the user for structured input (handshake era; 2026-07-28 uses input_required results)."""
        sdk = self._require_sdk()
        return await sdk.session.elicit_form(message, requested_schema, related_request_id=sdk.request_id)

    def _require_sdk(self) -> ServerRequestContext[Any, Any]:
        if self.sdk is None:
            raise RuntimeError("this call has no client connection to ask")
        return self.sdk

    @property
    def protocol_version(self) -> str | None:
        return self.sdk.protocol_version if self.sdk is not None else None

    @property
    def client_capabilities(self) -> types.ClientCapabilities | None:
        """What the client declared it supports (sampling, elicitation, roots), when known."""
        return self.sdk.session.client_capabilities if self.sdk is not None else None
