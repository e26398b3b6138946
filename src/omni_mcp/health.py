"""Health of one component, as plugins report it and /health shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["healthy", "degraded", "unhealthy"]


@dataclass(frozen=True)
class Health:
    status: Status = "healthy"
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status != "unhealthy"

    @classmethod
    def from_hook(cls, value: object) -> Health:
        """Interpret a health_check answer: None/True healthy; False, or a string saying why, unhealthy."""
        if isinstance(value, Health):
            return value
        if value is None or value is True:
            return cls()
        if value is False:
            return cls("unhealthy", "health check failed")
        if isinstance(value, str):
            return cls("unhealthy", value)
        return cls("unhealthy", f"health check returned {type(value).__name__}")
