"""Every core table, imported so that SQLModel.metadata knows them all (for migrations and tests)."""

from __future__ import annotations

from sqlmodel import SQLModel

from omni_mcp.audit import models as _audit  # noqa: F401
from omni_mcp.auth import models as _auth  # noqa: F401
from omni_mcp.config import models as _config  # noqa: F401
from omni_mcp.db import models as _core  # noqa: F401
from omni_mcp.federation import models as _federation  # noqa: F401
from omni_mcp.storage import models as _storage  # noqa: F401
from omni_mcp.tasks import models as _tasks  # noqa: F401
from omni_mcp.tenancy import models as _tenancy  # noqa: F401

target_metadata = SQLModel.metadata
