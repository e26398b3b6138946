"""API keys for services: made once and shown once, stored as a hash, found by their visible prefix.

A key looks like `omk_k3x9a2bq_<43 letters and digits>`: `omk_` marks it as ours (secret scanners can
match it), the next 8 characters are its public id (the prefix, stored in clear, unique), the rest is
256 bits of randomness. Only SHA-256 of the whole key is stored: a slow password hash buys nothing for
a secret this long, and verification stays cheap.

`ApiKeyService` makes, lists and revokes keys (each change with its audit row, in one transaction).
`ApiKeyVerifier` turns a presented key into an Actor: verified records are cached for
`auth.api_key_cache_seconds` (concurrent requests for a key not in the cache share one database read),
dropped at once when the key's organization changes (a revocation announces one), and `last_used_at` is
collected in memory and written in batches. Prefixes no key has are remembered for a few seconds in a
cache of their own, so repeating a bad key costs no query and made-up keys cannot evict real ones
(floods of bad credentials are limited per address in omni_mcp.ratelimit.failed_auth).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
from cachetools import TTLCache
from loguru import logger
from sqlalchemy import Engine, or_, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from omni_mcp.audit.record import record_change
from omni_mcp.auth.errors import InvalidCredential, VerifierUnavailable
from omni_mcp.auth.models import ApiKey
from omni_mcp.auth.permissions import ALL_PERMISSIONS
from omni_mcp.context import Actor
from omni_mcp.db.models import utcnow
from omni_mcp.db.scoping import org_session
from omni_mcp.tenancy.models import ROLES, Organization
from omni_mcp.tenancy.service import ConfigError, organization_id

KEY_MARK = "omk_"
ID_LENGTH = 8
SECRET_LENGTH = 43  # 43 characters of 62 possible: 256 bits
_ID_ALPHABET = string.ascii_lowercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits
KEY_PATTERN = re.compile(rf"^({KEY_MARK}[a-z0-9]{{{ID_LENGTH}}})_[A-Za-z0-9]{{{SECRET_LENGTH}}}$")
PREFIX_PATTERN = re.compile(rf"^{KEY_MARK}[a-z0-9]{{{ID_LENGTH}}}$")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_CACHED_KEYS = 10_000
MAX_UNKNOWN_KEYS = 10_000
UNKNOWN_KEY_SECONDS = 10.0
"""How long a prefix no key has is remembered (so a repeated bad key costs no query); kept short."""

Announce = Callable[[Session, str], None]
AfterCommit = Callable[[str], None]


def generate_key() -> tuple[str, str]:
    """A new (prefix, key) pair."""
    prefix = KEY_MARK + "".join(secrets.choice(_ID_ALPHABET) for _ in range(ID_LENGTH))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    return prefix, f"{prefix}_{secret}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def looks_like_api_key(value: str) -> bool:
    """Whether a presented credential claims to be one of our keys (it may still be malformed)."""
    return value.startswith(KEY_MARK)


def prefix_of(key: str) -> str | None:
    match = KEY_PATTERN.match(key)
    return match.group(1) if match else None


def parse_duration(text: str) -> timedelta:
    """`90d`, `12h`, `30m`, `3600s` or `2w`."""
    match = _DURATION.match(text)
    if not match or int(match.group(1)) <= 0:
        raise ConfigError(f"invalid duration {text!r}: use a positive number and s, m, h, d or w, e.g. 90d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class KeyRecord:
    """What verification needs to know of a key, cached in memory (the hash, never the key)."""

    id: int
    prefix: str
    key_hash: str
    organization: str
    role: str
    permissions: frozenset[str]
    allowed_tools: frozenset[str] | None
    allowed_prompts: frozenset[str] | None
    allowed_resources: frozenset[str] | None
    allowed_servers: frozenset[str] | None
    expires_at: datetime | None
    revoked: bool

    def actor(self) -> Actor:
        return Actor(
            id=f"apikey:{self.prefix}",
            organization=self.organization,
            role=self.role,
            permissions=self.permissions,
            kind="api_key",
            allowed_tools=self.allowed_tools,
            allowed_prompts=self.allowed_prompts,
            allowed_resources=self.allowed_resources,
            allowed_servers=self.allowed_servers,
        )


@dataclass(frozen=True)
class CreatedKey:
    key: str
    """The key itself: shown to its creator once, never stored."""
    view: dict[str, Any]
    warnings: list[str]
    """Names in the allow-list that nothing installed serves (yet): worth a warning, not an error."""


class ApiKeyService:
    def __init__(
        self,
        engine: Engine,
        *,
        announce: Announce | None = None,
        after_commit: AfterCommit | None = None,
        known_names: Callable[[], Mapping[str, Iterable[str]]] | None = None,
    ) -> None:
        """`announce` runs inside a revocation's transaction, `after_commit` once it committed."""
        self.engine = engine
        self._announce = announce or (lambda _session, _slug: None)
        self._after_commit = after_commit or (lambda _slug: None)
        self._known_names = known_names
        """Kind ('tool', 'prompt', 'resource', 'server') -> names installed plugins serve, for warnings."""

    def create(
        self,
        slug: str,
        *,
        role: str,
        actor: str,
        permissions: Iterable[str] = (),
        tools: Iterable[str] | None = None,
        prompts: Iterable[str] | None = None,
        resources: Iterable[str] | None = None,
        servers: Iterable[str] | None = None,
        expires_in: timedelta | None = None,
        name: str = "",
    ) -> CreatedKey:
        if role not in ROLES:
            raise ConfigError(f"invalid role {role!r}: use one of {', '.join(ROLES)}")
        extra = sorted(set(permissions))
        unknown = [p for p in extra if p not in ALL_PERMISSIONS]
        if unknown:
            raise ConfigError(
                f"unknown permission {unknown[0]!r}; permissions are: {', '.join(sorted(ALL_PERMISSIONS))}"
            )
        given = {"tool": tools, "prompt": prompts, "resource": resources, "server": servers}
        allow = _allow_list(given)
        warnings = self._unknown_names(allow or {})
        if len(name) > 200:
            raise ConfigError("a key's name is at most 200 characters")
        org_id = organization_id(self.engine, slug)
        expires_at = utcnow() + expires_in if expires_in is not None else None
        for _attempt in range(5):  # a clash of random 8-character prefixes is rare; try another one
            prefix, key = generate_key()
            try:
                with org_session(self.engine, org_id) as session:
                    row = ApiKey(
                        organization_id=org_id,
                        prefix=prefix,
                        key_hash=hash_key(key),
                        name=name,
                        role=role,
                        permissions=extra,
                        allowed_tools=allow["tool"] if allow else None,
                        allowed_prompts=allow["prompt"] if allow else None,
                        allowed_resources=allow["resource"] if allow else None,
                        allowed_servers=allow["server"] if allow else None,
                        created_by=actor[:200],
                        expires_at=expires_at,
                    )
                    session.add(row)
                    session.flush()
                    view = _view(row, slug)
                    record_change(
                        session,
                        actor=actor,
                        organization_id=org_id,
                        entity_type="api_key",
                        entity_id=prefix,
                        action="create",
                        after=view,
                    )
                    session.commit()
            except IntegrityError:
                continue
            return CreatedKey(key, view, warnings)
        raise ConfigError("could not find an unused key id; try again")

    def _unknown_names(self, allow: Mapping[str, list[str]]) -> list[str]:
        if self._known_names is None:
            return []
        known = self._known_names()
        warnings = []
        for kind, names in allow.items():
            served = set(known.get(kind, ()))
            for name in names:
                if name in served:
                    continue
                if kind == "server":
                    warnings.append(f"no installed plugin named {name!r}")
                else:
                    warnings.append(f"no installed plugin serves a {kind} named {name!r}")
        return warnings

    def list_keys(self, slug: str) -> list[dict[str, Any]]:
        org_id = organization_id(self.engine, slug)
        with org_session(self.engine, org_id) as session:
            rows = session.exec(select(ApiKey).order_by(col(ApiKey.created_at), col(ApiKey.id))).all()
            return [_view(row, slug) for row in rows]

    def revoke(self, key_id: str, *, actor: str) -> dict[str, Any]:
        """Revoke by the key's id (its prefix). Revoking a revoked key changes nothing."""
        if not PREFIX_PATTERN.match(key_id):
            raise ConfigError(f"invalid key id {key_id!r}: ids look like {KEY_MARK}k3x9a2bq")
        with Session(self.engine) as session:
            found = session.exec(
                select(ApiKey.organization_id, Organization.slug)
                .join(Organization, col(Organization.id) == col(ApiKey.organization_id))
                .where(ApiKey.prefix == key_id)
            ).first()
        if found is None:
            raise ConfigError(f"no API key {key_id}")
        org_id, slug = found
        with org_session(self.engine, org_id) as session:
            row = session.exec(select(ApiKey).where(ApiKey.prefix == key_id)).one()
            if row.revoked_at is not None:
                return _view(row, slug)
            before = _view(row, slug)
            row.revoked_at = utcnow()
            session.add(row)
            after = _view(row, slug)
            record_change(
                session,
                actor=actor,
                organization_id=org_id,
                entity_type="api_key",
                entity_id=key_id,
                action="revoke",
                before=before,
                after=after,
            )
            self._announce(session, slug)  # every process drops its cached copy of this org's keys
            session.commit()
        self._after_commit(slug)
        return after

    def lookup(self, prefix: str) -> KeyRecord | None:
        with Session(self.engine) as session:
            found = session.exec(
                select(ApiKey, Organization.slug)
                .join(Organization, col(Organization.id) == col(ApiKey.organization_id))
                .where(ApiKey.prefix == prefix)
            ).first()
        if found is None:
            return None
        row, slug = found
        assert row.id is not None
        return KeyRecord(
            id=row.id,
            prefix=row.prefix,
            key_hash=row.key_hash,
            organization=slug,
            role=row.role,
            permissions=frozenset(row.permissions),
            allowed_tools=_names(row.allowed_tools),
            allowed_prompts=_names(row.allowed_prompts),
            allowed_resources=_names(row.allowed_resources),
            allowed_servers=_names(row.allowed_servers),
            expires_at=aware(row.expires_at),
            revoked=row.revoked_at is not None,
        )

    def any_exist(self) -> bool:
        with Session(self.engine) as session:
            return session.exec(select(ApiKey.id).limit(1)).first() is not None

    def record_use(self, used: Mapping[int, datetime]) -> None:
        """Write last_used_at for many keys in one transaction (never moving it backwards)."""
        if not used:
            return
        with Session(self.engine) as session:
            for key_id, moment in used.items():
                session.execute(
                    update(ApiKey)
                    .where(col(ApiKey.id) == key_id)
                    .where(or_(col(ApiKey.last_used_at).is_(None), col(ApiKey.last_used_at) < moment))
                    .values(last_used_at=moment)
                )
            session.commit()


def _view(row: ApiKey, slug: str) -> dict[str, Any]:
    """A key as shown in lists, JSON output and audit rows: never the key, never its hash."""
    now = utcnow()
    expires_at = aware(row.expires_at)
    if row.revoked_at is not None:
        status = "revoked"
    elif expires_at is not None and expires_at <= now:
        status = "expired"
    else:
        status = "active"
    return {
        "id": row.prefix,
        "organization": slug,
        "name": row.name,
        "role": row.role,
        "permissions": list(row.permissions),
        **_reach(row),
        "status": status,
        "created_by": row.created_by,
        "created_at": _iso(row.created_at),
        "expires_at": _iso(row.expires_at),
        "revoked_at": _iso(row.revoked_at),
        "last_used_at": _iso(row.last_used_at),
    }


def _allow_list(given: Mapping[str, Iterable[str] | None]) -> dict[str, list[str]] | None:
    """The names of each kind, cleaned and sorted; None when no kind was given (no allow-list at all).
    Once any kind is given, the ones not given are empty: a key limited to tools reaches no prompt."""
    if all(names is None for names in given.values()):
        return None
    allow: dict[str, list[str]] = {}
    for kind, names in given.items():
        cleaned = sorted({name.strip() for name in names or () if name.strip()})
        if names is not None and not cleaned:
            raise ConfigError(f"--{kind}s needs at least one name")
        if any(len(name) > 1000 for name in cleaned):
            raise ConfigError(f"a {kind} name in the allow-list is longer than 1000 characters")
        allow[kind] = cleaned
    return allow


def _names(stored: list[str] | None) -> frozenset[str] | None:
    return None if stored is None else frozenset(stored)


def _reach(row: ApiKey) -> dict[str, list[str] | None]:
    """What the key may reach: each kind's names, or None for all of them when the key has no allow-list."""
    lists = (row.allowed_tools, row.allowed_prompts, row.allowed_resources, row.allowed_servers)
    limited = any(names is not None for names in lists)
    return {
        kind: (list(names or []) if limited else None)
        for kind, names in zip(("tools", "prompts", "resources", "servers"), lists, strict=True)
    }


def _iso(moment: datetime | None) -> str | None:
    value = aware(moment)
    return value.isoformat() if value is not None else None


_MISSING = object()


def _keys_unavailable() -> VerifierUnavailable:
    return VerifierUnavailable("API keys cannot be checked right now")


class _Reading:
    """One database read of a key that concurrent requests for the same key wait on."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.failed = False


class ApiKeyVerifier:
    """Presented key -> Actor, with a short-lived cache of verified records and batched last_used_at."""

    def __init__(
        self,
        lookup: Callable[[str], KeyRecord | None],
        *,
        ttl_seconds: float,
        clock: Callable[[], datetime] = utcnow,
        max_cached_keys: int = MAX_CACHED_KEYS,
        max_unknown_keys: int = MAX_UNKNOWN_KEYS,
    ) -> None:
        self._lookup = lookup
        self._clock = clock
        self._cache: TTLCache[str, KeyRecord] | None = (
            TTLCache(maxsize=max_cached_keys, ttl=ttl_seconds) if ttl_seconds > 0 else None
        )
        # Unknown prefixes are remembered briefly, apart: a flood of made-up keys cannot push real ones out.
        self._unknown: TTLCache[str, bool] | None = (
            TTLCache(maxsize=max_unknown_keys, ttl=min(ttl_seconds, UNKNOWN_KEY_SECONDS))
            if ttl_seconds > 0
            else None
        )
        self._generation = 0
        self._reading: dict[str, _Reading] = {}  # prefixes being read from the database right now
        self._used: dict[int, datetime] = {}
        self.lookups = 0

    async def actor_for(self, key: str) -> Actor:
        prefix = prefix_of(key)
        if prefix is None:
            raise InvalidCredential("malformed API key")
        record = await self._record(prefix)
        if record is None or not hmac.compare_digest(record.key_hash, hash_key(key)):
            raise InvalidCredential("unknown API key")
        if record.revoked:
            raise InvalidCredential("API key revoked")
        now = self._clock()
        if record.expires_at is not None and record.expires_at <= now:
            raise InvalidCredential("API key expired")
        self._used[record.id] = now
        return record.actor()

    async def _record(self, prefix: str) -> KeyRecord | None:
        if self._cache is None or self._unknown is None:
            return await self._read(prefix)
        while True:
            if prefix in self._unknown:
                return None
            cached: Any = self._cache.get(prefix, _MISSING)
            if cached is not _MISSING:
                return cached  # type: ignore[no-any-return]
            pending = self._reading.get(prefix)
            if pending is None:
                break
            # Another request is reading this key: wait for it rather than ask the database too (when a
            # busy key's entry expires, every request in flight would otherwise query at once).
            await pending.done.wait()
            if pending.failed:
                raise _keys_unavailable()
            # Read and cached; or cancelled, or invalidated meanwhile: then the loop reads it here.
        pending = self._reading[prefix] = _Reading()
        try:
            generation = self._generation
            record = await self._read(prefix)
            # An invalidation while we were reading may mean we read the row before the change: keep it out.
            if generation == self._generation:
                if record is None:
                    self._unknown[prefix] = True
                else:
                    self._cache[prefix] = record
            return record
        except VerifierUnavailable:
            pending.failed = True
            raise
        finally:
            del self._reading[prefix]
            pending.done.set()

    async def _read(self, prefix: str) -> KeyRecord | None:
        self.lookups += 1
        try:
            return await anyio.to_thread.run_sync(self._lookup, prefix)
        except SQLAlchemyError as error:  # the database went away: "try again", not "invalid key"
            logger.warning("API key {} could not be looked up: {}", prefix, type(error).__name__)
            raise _keys_unavailable() from None

    def invalidate(self, slug: str | None = None) -> None:
        """Forget the keys of one organization (all of them with None or '*'), and every unknown prefix."""
        self._generation += 1
        if self._cache is None or self._unknown is None:
            return
        self._unknown.clear()
        if slug is None or slug == "*":
            self._cache.clear()
            return
        for prefix, record in list(self._cache.items()):
            if record.organization == slug:
                self._cache.pop(prefix, None)

    def take_used(self) -> dict[int, datetime]:
        """The keys used since the last call, with when (to write them in one batch)."""
        used, self._used = self._used, {}
        return used
