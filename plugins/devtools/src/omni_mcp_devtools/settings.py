"""Settings of the DevTools plugin.

The browser and the network policy are the operator's (`[plugins.settings.devtools]`): the browser runs
inside the operator's network, so no organization may widen what it can reach. An organization may only
narrow it further (`blocked_urls`, `allowed_urls`).
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

OPERATOR: JsonDict = {"operator_only": True}


class DevToolsSettings(BaseModel):
    executable_path: str = Field(
        "/usr/bin/chromium",
        description="The Chromium (or Chrome) binary to drive. Nothing is ever downloaded.",
        json_schema_extra=OPERATOR,
    )
    extra_browser_args: list[str] = Field(
        default_factory=list,
        description="Extra command-line flags for Chromium, after the built-in safe ones.",
        json_schema_extra=OPERATOR,
    )
    operator_allowed_urls: list[str] = Field(
        default_factory=list,
        description="URL patterns (shell-style, e.g. 'http://intranet.example/*' or 'http://127.0.0.1:*/*') "
        "the browser may reach even though they are loopback or private addresses.",
        json_schema_extra=OPERATOR,
    )
    operator_blocked_urls: list[str] = Field(
        default_factory=list,
        description="URL patterns no organization's browser may reach, whatever else allows them.",
        json_schema_extra=OPERATOR,
    )
    max_contexts_per_organization: int = Field(
        20,
        ge=1,
        le=1000,
        description="Browser contexts one organization may have open at once.",
        json_schema_extra=OPERATOR,
    )
    max_pages_per_context: int = Field(
        10,
        ge=1,
        le=200,
        description="Pages (tabs) one context may have open at once.",
        json_schema_extra=OPERATOR,
    )
    idle_timeout: float = Field(
        900.0,
        gt=0,
        le=86400,
        description="Seconds after its last call when a context is closed.",
        json_schema_extra=OPERATOR,
    )
    action_timeout: float = Field(
        10.0,
        gt=0,
        le=300,
        description="Seconds one browser action (click, navigation, ...) may take.",
        json_schema_extra=OPERATOR,
    )
    max_upload_bytes: int = Field(
        2 * 1024 * 1024,
        ge=0,
        description="Largest file the upload_file tool may write into a context.",
        json_schema_extra=OPERATOR,
    )
    blocked_urls: list[str] = Field(
        default_factory=list,
        description="This organization's extra URL patterns to block (narrows the operator's policy).",
    )
    allowed_urls: list[str] = Field(
        default_factory=list,
        description="When set, this organization's browser may reach only URLs matching one of these "
        "patterns (and still only what the operator's policy allows).",
    )
