"""Perplexity for omni-mcp: search, ask, reason, research, compare and summarize over Perplexity's API."""

__version__ = "0.2.0"
