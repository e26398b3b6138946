"""The MCP endpoint: capability map, router and the SDK server that serves both protocol eras."""
