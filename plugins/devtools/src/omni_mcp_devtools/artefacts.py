"""Large outputs (screenshots, PDFs, traces, full bodies) kept in memory and served as resources.

Each artefact belongs to the caller that made it: reading `devtools://artefacts/{id}` as anyone else is
"not found", exactly like an id that never existed. Memory is bounded per organization (oldest go first).
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

ARTEFACT_URI = "devtools://artefacts/"
BYTES_PER_ORGANIZATION = 64 * 1024 * 1024


@dataclass(frozen=True)
class Artefact:
    id: str
    organization: str
    caller: str
    mime_type: str
    data: bytes
    description: str
    created: float

    @property
    def uri(self) -> str:
        return ARTEFACT_URI + self.id


class Artefacts:
    def __init__(self, bytes_per_organization: int = BYTES_PER_ORGANIZATION) -> None:
        self._items: OrderedDict[str, Artefact] = OrderedDict()
        self._limit = bytes_per_organization

    def add(self, organization: str, caller: str, mime_type: str, data: bytes, description: str) -> Artefact:
        artefact = Artefact(
            secrets.token_hex(16), organization, caller, mime_type, data, description, time.time()
        )
        self._items[artefact.id] = artefact
        self._evict(organization)
        return artefact

    def get(self, organization: str, caller: str, artefact_id: str) -> Artefact | None:
        found = self._items.get(artefact_id)
        if found is None or found.organization != organization or found.caller != caller:
            return None
        return found

    def _evict(self, organization: str) -> None:
        own = [a for a in self._items.values() if a.organization == organization]
        total = sum(len(a.data) for a in own)
        for artefact in own:  # oldest first
            if total <= self._limit:
                break
            total -= len(artefact.data)
            del self._items[artefact.id]
