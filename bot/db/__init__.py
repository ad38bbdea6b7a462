"""Database access: engine creation (SQLite by default, PostgreSQL via DATABASE_URL) and models."""
