"""Refuse to serve with encryption keys that cannot read the secrets already stored.

Several processes on one PostgreSQL database that each made their own key file would each encrypt with
a key the others lack; starting anyway would tell organizations to re-enter secrets, breaking the other
processes. The fix is one shared `security.encryption_keys`, which the error says.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from omni_mcp.db.models import McpServer
from omni_mcp.errors import StartupError
from omni_mcp.security.secrets import SecretBox, SecretDecryptionError
from omni_mcp.tenancy.models import Organization, OrganizationService
from omni_mcp.tenancy.plugin_settings import ENCRYPTED

SHOWN = 5


class UndecryptableSecrets(StartupError):
    """Stored secrets were encrypted with keys this process does not have."""


def undecryptable_secrets(engine: Engine, box: SecretBox) -> list[str]:
    """`org/server.field` of every stored secret none of our keys decrypts."""
    failed: list[str] = []
    with Session(engine) as session:
        rows = session.exec(
            select(Organization.slug, McpServer.name, OrganizationService.settings)
            .join(Organization, Organization.id == OrganizationService.organization_id)  # type: ignore[arg-type]
            .join(McpServer, McpServer.id == OrganizationService.server_id)  # type: ignore[arg-type]
        ).all()
    for slug, server, stored in rows:
        for field, value in sorted(stored.items()):
            if not (isinstance(value, dict) and ENCRYPTED in value):
                continue
            try:
                box.decrypt(str(value[ENCRYPTED]))
            except SecretDecryptionError:
                failed.append(f"{slug}/{server}.{field}")
    return failed


def check_stored_secrets(engine: Engine, box: SecretBox, key_source: str) -> None:
    """Raise UndecryptableSecrets, naming the setting to share, when a stored secret is unreadable."""
    failed = undecryptable_secrets(engine, box)
    if not failed:
        return
    shown = ", ".join(failed[:SHOWN]) + (f" and {len(failed) - SHOWN} more" if len(failed) > SHOWN else "")
    raise UndecryptableSecrets(
        f"{len(failed)} stored secret(s) cannot be decrypted with this process's encryption keys "
        f"({key_source}): {shown}. Every process using this database needs the same keys: set "
        "security.encryption_keys (env OMNI_MCP_SECURITY__ENCRYPTION_KEYS) on each to the key(s) the "
        "secrets were written with (a first process's generated key file holds one); "
        "`omni-mcp keys generate` prints a new key"
    )
