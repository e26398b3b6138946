"""The MCP conformance suite's server fixture as an omni-mcp plugin (entry point `conformance`)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("omni-mcp-conformance-fixture")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
