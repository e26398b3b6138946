"""Time each tool call, prompt get and resource read and queue its audit record, whatever the outcome."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
from mcp.shared.exceptions import MCPError

from omni_mcp.audit.calls import CallAuditor, audited_arguments
from omni_mcp.config.effective import OrgConfig
from omni_mcp.context import Actor
from omni_mcp.gateway.visibility import PERMISSION_DENIED
from omni_mcp.ratelimit.limiter import RATE_LIMITED

Args = Mapping[str, Any] | None


class Outcome:
    def __init__(self) -> None:
        self.value = "ok"

    def failed(self) -> None:
        self.value = "error"


class CallAudit:
    def __init__(self, auditor: CallAuditor) -> None:
        self._auditor = auditor

    @contextlib.asynccontextmanager
    async def call(
        self, kind: str, name: str, actor: Actor, org: OrgConfig, arguments: Args
    ) -> AsyncIterator[Outcome]:
        outcome = Outcome()
        started = time.perf_counter()
        try:
            yield outcome
        except MCPError as error:
            outcome.value = outcome_of(error)
            raise
        except anyio.get_cancelled_exc_class():
            outcome.value = "cancelled"
            raise
        except BaseException:
            outcome.value = "error"
            raise
        finally:
            self._record(kind, name, actor, org, arguments, outcome.value, time.perf_counter() - started)

    def refused(
        self, kind: str, name: str, actor: Actor, org: OrgConfig, arguments: Args, error: MCPError
    ) -> None:
        """A call refused before it reached its handler (by the HTTP permission gate)."""
        self._record(kind, name, actor, org, arguments, outcome_of(error), 0.0)

    def _record(
        self,
        kind: str,
        name: str,
        actor: Actor,
        org: OrgConfig,
        arguments: Args,
        outcome: str,
        seconds: float,
    ) -> None:
        self._auditor.record(
            organization_id=org.organization_id,
            actor=f"{actor.kind}:{actor.id}",
            kind=kind,
            name=name,
            outcome=outcome,
            duration_ms=seconds * 1000,
            arguments=audited_arguments(arguments, org.audit_arguments),
            organization=org.slug,
        )


def outcome_of(error: MCPError) -> str:
    return {PERMISSION_DENIED: "denied", RATE_LIMITED: "limited"}.get(error.code, "error")
