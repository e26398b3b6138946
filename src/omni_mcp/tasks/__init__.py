"""Durable MCP tasks: a task-augmented `tools/call` runs in the background,
its state in the database."""
