"""The devtools_* tools, one module per group; importing this package registers them all."""

from omni_mcp_devtools.tools import inspect, input, logs, pages
from omni_mcp_devtools.tools.common import devtools

__all__ = ["devtools", "input", "inspect", "logs", "pages"]
