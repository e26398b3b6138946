"""The admin: REST API under /api/v1, web UI under /admin, identity-provider webhooks under /webhooks.

Every write goes through the same services the CLI uses (TenancyService, ApiKeyService); every caller is
the Actor the gateway resolves, checked through the same `permission_allowed` hook as /mcp.
"""
