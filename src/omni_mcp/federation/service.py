"""Add, list and remove an organization's upstreams: checked against the operator's policy, header and
environment values encrypted, every change audited and announced like any configuration change."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from omni_mcp.audit.record import record_change
from omni_mcp.db.models import utcnow
from omni_mcp.db.scoping import org_session
from omni_mcp.federation.connection import UpstreamSpec
from omni_mcp.federation.models import Upstream
from omni_mcp.federation.naming import check_upstream_name
from omni_mcp.federation.policy import PolicyError, UpstreamPolicy
from omni_mcp.security.secrets import SecretBox
from omni_mcp.tenancy.plugin_settings import ENCRYPTED, REDACTED
from omni_mcp.tenancy.service import ConfigError, organization_id


class UpstreamService:
    def __init__(
        self,
        engine: Engine,
        box: SecretBox,
        policy: UpstreamPolicy,
        *,
        announce: Callable[[Session, str], None] | None = None,
        after_commit: Callable[[str], None] | None = None,
    ) -> None:
        self.engine = engine
        self.box = box
        self.policy = policy
        self._announce = announce or (lambda _session, _slug: None)
        self._after_commit = after_commit or (lambda _slug: None)

    def add(
        self,
        slug: str,
        name: str,
        *,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        command: str | None = None,
        args: list[str] | None = None,
        env: Mapping[str, str] | None = None,
        actor: str,
        replace: bool = False,
    ) -> dict[str, Any]:
        try:
            check_upstream_name(name)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        if (url is None) == (command is None):
            raise ConfigError("an upstream needs exactly one of a URL (http) or a command (stdio)")
        try:
            if url is not None:
                self.policy.check_url(url)
            else:
                assert command is not None
                self.policy.check_command(command)
        except PolicyError as error:
            raise ConfigError(str(error)) from None
        if url is None and headers:
            raise ConfigError("headers apply to http upstreams only")
        if command is None and (env or args):
            raise ConfigError("arguments and environment apply to stdio upstreams only")
        org_id = organization_id(self.engine, slug)
        with org_session(self.engine, org_id) as session:
            row = session.exec(select(Upstream).where(Upstream.name == name)).first()
            if row is not None and not replace:
                raise ConfigError(f"{slug} already has an upstream named {name!r} (remove it first)")
            before = _view(row) if row is not None else None
            row = row or Upstream(organization_id=org_id, name=name, kind="http")
            row.kind = "http" if url is not None else "stdio"
            row.url, row.command, row.args = url, command, list(args or [])
            row.headers = self._encrypt(headers or {})
            row.env = self._encrypt(env or {})
            row.updated_at = utcnow()
            session.add(row)
            after = _view(row)
            record_change(
                session,
                actor=actor,
                organization_id=org_id,
                entity_type="upstream",
                entity_id=name,
                action="update" if before else "create",
                before=before,
                after=after,
            )
            self._commit(session, slug)
        return after

    def remove(self, slug: str, name: str, *, actor: str) -> dict[str, Any]:
        org_id = organization_id(self.engine, slug)
        with org_session(self.engine, org_id) as session:
            row = session.exec(select(Upstream).where(Upstream.name == name)).first()
            if row is None:
                raise ConfigError(f"{slug} has no upstream named {name!r}")
            before = _view(row)
            session.delete(row)
            record_change(
                session,
                actor=actor,
                organization_id=org_id,
                entity_type="upstream",
                entity_id=name,
                action="delete",
                before=before,
                after=None,
            )
            self._commit(session, slug)
        return before

    def list_upstreams(self, slug: str) -> list[dict[str, Any]]:
        org_id = organization_id(self.engine, slug)
        with org_session(self.engine, org_id) as session:
            rows = session.exec(select(Upstream).order_by(Upstream.name)).all()
            return [_view(row) for row in rows]

    def specs(self, organization_id: int, slug: str) -> list[UpstreamSpec]:
        """The organization's upstreams with their secrets decrypted, for connecting (never for showing)."""
        with org_session(self.engine, organization_id) as session:
            rows = session.exec(select(Upstream)).all()
            return [
                UpstreamSpec(
                    organization_id=organization_id,
                    slug=slug,
                    name=row.name,
                    kind=row.kind,
                    url=row.url,
                    command=row.command,
                    args=tuple(row.args),
                    headers=tuple(sorted(self._decrypt(row.headers).items())),
                    env=tuple(sorted(self._decrypt(row.env).items())),
                )
                for row in rows
            ]

    def _encrypt(self, values: Mapping[str, str]) -> dict[str, Any]:
        return {key: {ENCRYPTED: self.box.encrypt(str(value))} for key, value in values.items()}

    def _decrypt(self, stored: Mapping[str, Any]) -> dict[str, str]:
        return {
            key: self.box.decrypt(value[ENCRYPTED]) if isinstance(value, dict) else str(value)
            for key, value in stored.items()
        }

    def _commit(self, session: Session, slug: str) -> None:
        self._announce(session, slug)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise ConfigError("the upstream changed concurrently; try again") from None
        self._after_commit(slug)


def _view(row: Upstream) -> dict[str, Any]:
    """What may be shown or audited: names of headers and variables, never their values."""
    return {
        "name": row.name,
        "kind": row.kind,
        "url": row.url,
        "command": row.command,
        "args": list(row.args),
        "headers": {key: REDACTED for key in row.headers},
        "env": {key: REDACTED for key in row.env},
    }
