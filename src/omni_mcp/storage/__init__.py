"""Small per-organization storage for plugins (e.g. recent search results), isolated by organization."""
