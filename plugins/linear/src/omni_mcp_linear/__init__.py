"""Linear issue tracking as an omni-mcp plugin (entry point `linear`)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("omni-mcp-linear")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
