"""Tell every process that an organization's configuration changed.

In the writing process the cache entry is dropped right after commit. Other processes hear of it through
PostgreSQL LISTEN/NOTIFY (sent inside the change's transaction, so only committed changes are announced)
or Redis pub/sub when a Redis URL is set; on an SQLite file without Redis, by watching the database
(config/sqlite_watch.py), so a CLI change reaches a running server within a poll interval.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import anyio
from loguru import logger
from sqlalchemy import Engine, text
from sqlmodel import Session

from omni_mcp.config.sqlite_watch import OwnChanges, SqliteChangeWatcher

CHANNEL = "omni_mcp_config"
RECONNECT_SECONDS = 1.0
ALL_ORGANIZATIONS = "*"

OnChange = Callable[[str], Awaitable[None]]
Connected = Callable[[], Awaitable[None]]


class ChangeBroadcast:
    def __init__(self, engine: Engine, redis_url: str | None = None) -> None:
        self.engine = engine
        self.redis_url = redis_url
        self.origin = uuid.uuid4().hex[:12]  # our own announcements come back to us; we skip them
        self.on_postgres = engine.dialect.name == "postgresql"
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self.sqlite_file = database if database and database != ":memory:" else None
        self.own_changes = OwnChanges()  # what the SQLite watcher need not tell us again

    def announce(self, session: Session, slug: str) -> None:
        """Inside the change's transaction: PostgreSQL delivers the notification only if it commits."""
        if self.watches_sqlite:
            self.own_changes.remember(session)
        if self.on_postgres:
            session.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": CHANNEL, "payload": self._payload(slug)},
            )

    def published(self, slug: str) -> None:
        """After commit: publish on Redis, when configured."""
        if not self.redis_url:
            return
        import redis

        try:
            client = redis.Redis.from_url(self.redis_url, socket_timeout=2)
            try:
                client.publish(CHANNEL, self._payload(slug))
            finally:
                client.close()
        except redis.RedisError as error:  # the change is committed; other processes fall back to the TTL
            logger.warning("could not publish a configuration change on Redis: {}", error)

    async def listen(self, on_change: OnChange) -> None:
        """Run until cancelled: deliver other processes' changes to `on_change`, reconnecting on failure."""
        async with anyio.create_task_group() as group:
            if self.on_postgres:
                group.start_soon(self._forever, self._listen_postgres, on_change, "PostgreSQL")
            if self.redis_url:
                group.start_soon(self._forever, self._listen_redis, on_change, "Redis")
            elif self.watches_sqlite:
                group.start_soon(self._forever, self._watch_sqlite, on_change, "SQLite")

    async def _forever(
        self, listen: Callable[[OnChange, Connected], Awaitable[None]], on_change: OnChange, name: str
    ) -> None:
        lost = False

        async def connected() -> None:
            nonlocal lost
            if lost:  # changes announced while we were away were missed: forget everything once more
                lost = False
                logger.warning("{} change listener is back; cached configurations dropped to resync", name)
                await on_change(ALL_ORGANIZATIONS)

        while True:
            try:
                await listen(on_change, connected)
            except Exception as error:
                if not lost:
                    logger.warning(
                        "{} change listener lost its connection ({}); until it is back, cached "
                        "configurations are dropped every {:g} s",
                        name,
                        str(error).splitlines()[0] if str(error) else type(error).__name__,
                        RECONNECT_SECONDS,
                    )
                lost = True
                await on_change(ALL_ORGANIZATIONS)  # every cache entry may be stale now
            await anyio.sleep(RECONNECT_SECONDS)

    async def _listen_postgres(self, on_change: OnChange, connected: Connected) -> None:
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
            await connection.execute(f"LISTEN {CHANNEL}")
            await connected()
            async for notice in connection.notifies():
                await self._deliver(notice.payload, on_change)

    async def _listen_redis(self, on_change: OnChange, connected: Connected) -> None:
        import redis.asyncio as aioredis

        assert self.redis_url is not None
        client = aioredis.Redis.from_url(self.redis_url)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(CHANNEL)
                await connected()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        data = message["data"]
                        await self._deliver(
                            data.decode() if isinstance(data, bytes) else str(data), on_change
                        )
        finally:
            await client.aclose()

    @property
    def watches_sqlite(self) -> bool:
        """An SQLite file without Redis: other processes' changes are found by watching the database."""
        return self.sqlite_file is not None and not self.redis_url

    async def _watch_sqlite(self, on_change: OnChange, connected: Connected) -> None:
        assert self.sqlite_file is not None
        await connected()  # the file is always there: after a failed poll, resync at once
        await SqliteChangeWatcher(self.sqlite_file, ours=self.own_changes.take).watch(on_change)

    async def _deliver(self, payload: str, on_change: OnChange) -> None:
        origin, _, slug = payload.partition(":")
        if origin != self.origin and slug:
            await on_change(slug)

    def _payload(self, slug: str) -> str:
        return f"{self.origin}:{slug}"
