"""Who is calling: resolves every request to an Actor (organization, role, permissions)."""
