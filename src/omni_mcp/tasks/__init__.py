"""Durable MCP tasks: a task-augmented `tools/call` runs in the background; its state lives in the database."""
