"""Record every call without a database round trip on the response path: queued, written in batches.

The queue is flushed every `interval` seconds (or sooner when `batch_size` records wait) and once more
on graceful shutdown. If the database is away, records wait (bounded) for the next flush.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from loguru import logger
from sqlalchemy import Engine, insert

from omni_mcp.audit.models import CallLog
from omni_mcp.db.models import utcnow

REDACTED = "********"


def audited_arguments(arguments: Mapping[str, Any] | None, include_values: bool) -> dict[str, Any] | None:
    """Argument names always; their values only for organizations that opted in."""
    if not arguments:
        return None
    return dict(arguments) if include_values else {name: REDACTED for name in arguments}


@dataclass(frozen=True)
class ObservedCall:
    """One call as the audit saw it, handed to observers (metrics) as it is queued."""

    kind: str
    name: str
    organization: str
    outcome: str
    seconds: float


class CallAuditor:
    def __init__(
        self, engine: Engine, *, interval: float = 0.5, batch_size: int = 500, max_pending: int = 100_000
    ) -> None:
        self._engine = engine
        self._interval = interval
        self._batch_size = batch_size
        self._pending: deque[dict[str, Any]] = deque(maxlen=max_pending)
        self._wake = anyio.Event()
        self.written = 0
        self.dropped = 0
        self._dropping = False
        self.observers: list[Callable[[ObservedCall], None]] = []
        """Called with every call recorded (metrics); they must be quick and must not raise."""

    @property
    def pending(self) -> int:
        """Records queued and not yet written."""
        return len(self._pending)

    def record(
        self,
        *,
        organization_id: int,
        actor: str,
        kind: str,
        name: str,
        outcome: str,
        duration_ms: float,
        arguments: dict[str, Any] | None = None,
        organization: str = "",
    ) -> None:
        """Queue one record (never blocks, never touches the database); `organization` is its slug."""
        if self.observers:
            observed = ObservedCall(kind, name, organization, outcome, duration_ms / 1000)
            for observer in self.observers:
                observer(observed)
        if len(self._pending) == self._pending.maxlen:
            self._drop_oldest(1)  # append() below pushes it out
        self._pending.append(
            {
                "organization_id": organization_id,
                "actor": actor[:200],
                "kind": kind,
                "name": name[:1000],
                "outcome": outcome,
                "duration_ms": round(duration_ms, 3),
                "arguments": arguments,
                "created_at": utcnow(),
            }
        )
        if len(self._pending) >= self._batch_size:
            self._wake.set()

    async def run(self) -> None:
        """Flush forever (until cancelled); the caller flushes once more on shutdown."""
        while True:
            with anyio.move_on_after(self._interval):
                await self._wake.wait()
            self._wake = anyio.Event()
            await self.flush()

    async def flush(self) -> None:
        while self._pending:
            batch = [self._pending.popleft() for _ in range(min(self._batch_size, len(self._pending)))]
            try:
                await anyio.to_thread.run_sync(self._write, batch)
            except Exception as error:  # keep them for the next attempt, in order (bounded by max_pending)
                room = (self._pending.maxlen or 0) - len(self._pending)  # calls went on while we wrote
                if room < len(batch):
                    self._drop_oldest(len(batch) - room)
                    batch = batch[len(batch) - room :]
                self._pending.extendleft(reversed(batch))
                logger.warning(
                    "call audit: {} records wait; the database refused them ({}: {})",
                    len(self._pending),
                    type(error).__name__,
                    str(error).splitlines()[0] if str(error) else "",
                )
                return
            self.written += len(batch)
            if self._dropping:
                self._dropping = False
                logger.warning("call audit: the database is back; {} records were dropped", self.dropped)

    def _drop_oldest(self, count: int) -> None:
        """Count records lost because the queue is full (the database has been away for long); say so once
        per outage."""
        self.dropped += count
        if not self._dropping:
            self._dropping = True
            logger.error(
                "call audit: {} records wait for the database; dropping the oldest ones until it is back",
                len(self._pending),
            )

    async def close(self) -> None:
        started = time.monotonic()
        await self.flush()
        if self._pending:
            logger.error("call audit: {} records could not be written before shutdown", len(self._pending))
        logger.debug("call audit flushed in {:.1f} ms", (time.monotonic() - started) * 1000)

    def _write(self, batch: list[dict[str, Any]]) -> None:
        with self._engine.begin() as connection:
            connection.execute(insert(CallLog), batch)
