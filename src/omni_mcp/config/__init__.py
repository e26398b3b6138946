"""Database-driven prompts and resources: plugin defaults, org overrides and additions, cached per org."""
