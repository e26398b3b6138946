"""Database: engine, models and migrations, on SQLite (embedded) or PostgreSQL alike."""
