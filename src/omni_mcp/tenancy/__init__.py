"""Organizations, their members, and which MCP servers each has enabled with what settings."""
