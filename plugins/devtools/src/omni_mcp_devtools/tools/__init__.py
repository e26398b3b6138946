"""The devtools_* tools, one module per group; importing this package registers them all."""

from omni_mcp_devtools.tools import checks, emulation, input, inspect, logs, pages, performance, storage
from omni_mcp_devtools.tools.common import devtools

__all__ = ["checks", "devtools", "emulation", "input", "inspect", "logs", "pages", "performance", "storage"]
