"""omni-mcp: many MCP servers behind one gateway. This module is the public API for plugin authors."""

from typing import TYPE_CHECKING, Any

from omni_mcp.__about__ import __version__

if TYPE_CHECKING:
    from omni_mcp.app import create_app
    from omni_mcp.auth.errors import (
        AuthenticationError,
        InvalidCredential,
        OrganizationRefused,
        VerifierUnavailable,
    )
    from omni_mcp.auth.permissions import (
        ALL_PERMISSIONS,
        APIKEYS_MANAGE,
        AUDIT_READ,
        MEMBERS_MANAGE,
        ORGANIZATIONS_MANAGE,
        PROMPTS_READ,
        PROMPTS_WRITE,
        RESOURCES_READ,
        RESOURCES_WRITE,
        SERVICES_MANAGE,
        TOOLS_CALL,
    )
    from omni_mcp.capabilities.declare import prompt, resource, resource_template
    from omni_mcp.capabilities.prompts import Prompt, PromptArgument
    from omni_mcp.capabilities.resources import Resource, ResourceNotFound, ResourceTemplate
    from omni_mcp.capabilities.tools import ToolError, ToolGroup, ToolResult
    from omni_mcp.context import Actor, CallContext
    from omni_mcp.health import Health
    from omni_mcp.hookspecs import hookimpl
    from omni_mcp.redaction import redact_secrets
    from omni_mcp.runtime import Runtime
    from omni_mcp.settings import Settings, load_settings
    from omni_mcp.storage.store import PluginStore
    from omni_mcp.upstream import retry_after_seconds
    from omni_mcp.upstream_http import (
        ApiAuthError,
        ApiError,
        ApiNotFound,
        ApiRateLimited,
        ApiRejected,
        ApiUnavailable,
        RetryPolicy,
        attempts_of,
        error_detail,
        raise_for_status,
        send_with_retries,
        upstream_client,
    )

# Each name is imported on first use: the application alone pulls in the SDK's server, alembic and the
# database layer, and `omni-mcp --version` (or a CLI command that needs none of it) should not wait.
_WHERE = {
    "create_app": "omni_mcp.app",
    "Prompt": "omni_mcp.capabilities.prompts",
    "PromptArgument": "omni_mcp.capabilities.prompts",
    "Resource": "omni_mcp.capabilities.resources",
    "ResourceNotFound": "omni_mcp.capabilities.resources",
    "ResourceTemplate": "omni_mcp.capabilities.resources",
    "ToolError": "omni_mcp.capabilities.tools",
    "ToolGroup": "omni_mcp.capabilities.tools",
    "ToolResult": "omni_mcp.capabilities.tools",
    "Actor": "omni_mcp.context",
    "CallContext": "omni_mcp.context",
    "Health": "omni_mcp.health",
    "hookimpl": "omni_mcp.hookspecs",
    "redact_secrets": "omni_mcp.redaction",
    "Runtime": "omni_mcp.runtime",
    "Settings": "omni_mcp.settings",
    "load_settings": "omni_mcp.settings",
    "PluginStore": "omni_mcp.storage.store",
    "retry_after_seconds": "omni_mcp.upstream",
    **dict.fromkeys(
        ["AuthenticationError", "InvalidCredential", "OrganizationRefused", "VerifierUnavailable"],
        "omni_mcp.auth.errors",
    ),
    **dict.fromkeys(
        [
            "ALL_PERMISSIONS",
            "APIKEYS_MANAGE",
            "AUDIT_READ",
            "MEMBERS_MANAGE",
            "ORGANIZATIONS_MANAGE",
            "PROMPTS_READ",
            "PROMPTS_WRITE",
            "RESOURCES_READ",
            "RESOURCES_WRITE",
            "SERVICES_MANAGE",
            "TOOLS_CALL",
        ],
        "omni_mcp.auth.permissions",
    ),
    **dict.fromkeys(["prompt", "resource", "resource_template"], "omni_mcp.capabilities.declare"),
    **dict.fromkeys(
        [
            "ApiAuthError",
            "ApiError",
            "ApiNotFound",
            "ApiRateLimited",
            "ApiRejected",
            "ApiUnavailable",
            "RetryPolicy",
            "attempts_of",
            "error_detail",
            "raise_for_status",
            "send_with_retries",
            "upstream_client",
        ],
        "omni_mcp.upstream_http",
    ),
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value  # once found, a plain module attribute
        return value
    raise AttributeError(f"module 'omni_mcp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


PLUGIN_API = [
    # declaring capabilities
    "hookimpl",
    "ToolGroup",
    "ToolResult",
    "ToolError",
    "Prompt",
    "PromptArgument",
    "prompt",
    "Resource",
    "ResourceTemplate",
    "ResourceNotFound",
    "resource",
    "resource_template",
    "Health",
    # what a handler is given
    "CallContext",
    "Actor",
    "PluginStore",
    # authentication hooks' errors, and the permission names a tool may require
    "AuthenticationError",
    "InvalidCredential",
    "OrganizationRefused",
    "VerifierUnavailable",
    "ALL_PERMISSIONS",
    "APIKEYS_MANAGE",
    "AUDIT_READ",
    "MEMBERS_MANAGE",
    "ORGANIZATIONS_MANAGE",
    "PROMPTS_READ",
    "PROMPTS_WRITE",
    "RESOURCES_READ",
    "RESOURCES_WRITE",
    "SERVICES_MANAGE",
    "TOOLS_CALL",
    # calling an upstream HTTP API
    "RetryPolicy",
    "send_with_retries",
    "raise_for_status",
    "attempts_of",
    "upstream_client",
    "error_detail",
    "ApiError",
    "ApiAuthError",
    "ApiNotFound",
    "ApiRateLimited",
    "ApiRejected",
    "ApiUnavailable",
    "retry_after_seconds",
    "redact_secrets",
]
"""What a plugin uses. Its tests use `omni_mcp.testing` (pytest fixtures; needs pytest, so not here)."""

EMBEDDING_API = [
    "Runtime",
    "Settings",
    "create_app",
    "load_settings",
    "__version__",
]
"""What a program that embeds the gateway uses."""

# Both lists above, literally: type checkers and linters read only a literal __all__ (a test keeps it so).
__all__ = [
    "ALL_PERMISSIONS",
    "APIKEYS_MANAGE",
    "AUDIT_READ",
    "MEMBERS_MANAGE",
    "ORGANIZATIONS_MANAGE",
    "PROMPTS_READ",
    "PROMPTS_WRITE",
    "RESOURCES_READ",
    "RESOURCES_WRITE",
    "SERVICES_MANAGE",
    "TOOLS_CALL",
    "Actor",
    "ApiAuthError",
    "ApiError",
    "ApiNotFound",
    "ApiRateLimited",
    "ApiRejected",
    "ApiUnavailable",
    "AuthenticationError",
    "CallContext",
    "Health",
    "InvalidCredential",
    "OrganizationRefused",
    "PluginStore",
    "Prompt",
    "PromptArgument",
    "Resource",
    "ResourceNotFound",
    "ResourceTemplate",
    "RetryPolicy",
    "Runtime",
    "Settings",
    "ToolError",
    "ToolGroup",
    "ToolResult",
    "VerifierUnavailable",
    "__version__",
    "attempts_of",
    "create_app",
    "error_detail",
    "hookimpl",
    "load_settings",
    "prompt",
    "raise_for_status",
    "redact_secrets",
    "resource",
    "resource_template",
    "retry_after_seconds",
    "send_with_retries",
    "upstream_client",
]
